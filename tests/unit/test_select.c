/* Unit tests of init/common/select.c: which of the PC initrd's drivers stage 1 loads, in which order, for four
 * machines given as fixture sysfs trees (the modaliases qemu's devices and a Xen domU show).  The module tables
 * are the PC initrd's own (INITRD_MODDIR: build/pc/initrd.img unpacked), so mkinitrd's trimmed modules.alias is
 * tested too.  The loader records instead of calling finit_module, and makes the devices appear that the real
 * driver would find (a controller's disks, a USB host's stick), as the kernel does after a load.
 * The real thing (these drivers loading in a guest) is tested in tests/test_iso.py and tests/test_xen.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/coldplug.h"
#include "common/moddep.h"
#include "common/select.h"
#include "common/uevent.h"

#ifndef INITRD_MODDIR
#error "build with -DINITRD_MODDIR=\"build/pc/initrd-tree/lib/modules/<release>\""
#endif

/* qemu's pc (i440fx) machine: host bridge, ISA bridge, PIIX3 IDE, ACPI, VGA, an e1000 NIC. */
#define HOST_BRIDGE "pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00"
#define ISA_BRIDGE "pci:v00008086d00007000sv00001AF4sd00001100bc06sc01i00"
#define PIIX3_IDE "pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80"
#define PIIX4_ACPI "pci:v00008086d00007113sv00001AF4sd00001100bc06sc80i00"
#define VGA "pci:v00001234d00001111sv00001AF4sd00001100bc03sc00i00"
#define E1000 "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00"
/* virtio: a block device (legacy PCI id 1001) and a network device (1000) */
#define VIRTIO_BLK_PCI "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"
#define VIRTIO_NET_PCI "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00"
#define VIRTIO_BLK "virtio:d00000002v00001AF4"
#define VIRTIO_NET "virtio:d00000001v00001AF4"
/* q35: ICH9 AHCI, ICH9 SMBus (a serial bus controller, class 0C05: not storage), e1000e */
#define ICH9_AHCI "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01"
#define ICH9_SMBUS "pci:v00008086d00002930sv00001AF4sd00001100bc0Csc05i00"
#define E1000E "pci:v00008086d000010D3sv00001AF4sd00001100bc02sc00i00"
/* SCSI devices behind a controller */
#define SCSI_DISK "scsi:t-0x00"
#define SCSI_CDROM "scsi:t-0x05"
/* USB: qemu-xhci, its root hubs, a usb-storage stick (bulk-only), a tablet (HID) */
#define QEMU_XHCI "pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30"
#define USB_HUB "usb:v1D6Bp0003d0601dc09dsc00dp03ic09isc00ip00in00"
#define USB_STICK "usb:v46F4p0001d0000dc00dsc00dp00ic08isc06ip50in00"
#define USB_TABLET "usb:v0627p0001d0000dc00dsc00dp00ic03isc00ip00in00"
/* Xen domU */
#define XEN_VBD "xen:vbd"
#define XEN_VIF "xen:vif"
#define XEN_CONSOLE "xen:console"

static char root[64];

static void put(const char *rel, const char *alias)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/modalias", root, rel);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", root, rel);
	assert_int_equal(system(cmd), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", alias);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/test_select.XXXXXX");
	assert_non_null(mkdtemp(root));
	char path[128];
	snprintf(path, sizeof path, "%s/sys/devices", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/sys/module", root);
	mkdir(path, 0755);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd);
}

/* ---- a recording loader that behaves like the kernel: loading a bus driver makes its devices appear ---- */

struct appear {
	const char *module;  /* when this module file is inserted ... */
	const char *rel;     /* ... a device appears here ... */
	const char *alias;   /* ... with this modalias */
};

struct rec {
	const struct appear *appear;
	char names[32][64];
	int n;
};

static int record(void *ctx, const char *path)
{
	struct rec *r = ctx;
	char name[64];
	const char *base = strrchr(path, '/');
	snprintf(name, sizeof name, "%s", base ? base + 1 : path);
	name[strcspn(name, ".")] = '\0';
	for (char *c = name; *c; c++)
		*c = *c == '-' ? '_' : *c;  /* as modules.alias and /sys/module name them */
	assert_true(r->n < 32);
	snprintf(r->names[r->n++], sizeof r->names[0], "%s", name);
	for (const struct appear *a = r->appear; a && a->module; a++)
		if (!strcmp(a->module, name))
			put(a->rel, a->alias);
	return 0;
}

/* Walk the way stage 1 does: a first walk, then more while new devices appear (here: until one loads nothing). */
static void run(struct rec *r, enum platform p, unsigned classes)
{
	struct select s;
	struct select_opts o = {.classes = classes, .platform = p, .sysroot = root, .moddir = INITRD_MODDIR,
				.load = record, .ctx = r};
	char failed[600];
	int rc = select_start(&s, &o, failed, sizeof failed);
	assert_true(rc >= 0);
	while (rc > 0)
		rc = select_more(&s, failed, sizeof failed);
	assert_int_equal(rc, 0);
	assert_int_equal(s.result.failed, 0);
	select_end(&s);
}

/* crc_t10dif's softdep ("pre: crct10dif") brings the algorithm's modules before it, as kmod's modprobe does. */
static void expect_modules(const struct rec *r, const char *const *want)
{
	int n = 0;
	while (want[n])
		n++;
	bool same = r->n == n;
	for (int i = 0; same && i < n; i++)
		same = !strcmp(r->names[i], want[i]);
	if (!same)
		for (int i = 0; i < r->n; i++)
			fprintf(stderr, "  loaded %d: %s\n", i, r->names[i]);
	for (int i = 0; i < n && i < r->n; i++)
		assert_string_equal(r->names[i], want[i]);
	assert_int_equal(r->n, n);
}

static void pc_base(void)
{
	put("sys/devices/pci0000:00/0000:00:00.0", HOST_BRIDGE);
	put("sys/devices/pci0000:00/0000:00:01.0", ISA_BRIDGE);
	put("sys/devices/pci0000:00/0000:00:01.1", PIIX3_IDE);
	put("sys/devices/pci0000:00/0000:00:01.3", PIIX4_ACPI);
	put("sys/devices/pci0000:00/0000:00:02.0", VGA);
	put("sys/devices/platform/serial8250", "platform:serial8250");
	put("sys/devices/platform/i8042", "platform:i8042");
	put("sys/devices/LNXSYSTM:00/LNXPWRBN:00", "acpi:LNXPWRBN:");
}

/* The PIIX3 IDE controller's CD drive (qemu -cdrom) */
static const struct appear piix_cd[] = {
	{"ata_piix", "sys/devices/pci0000:00/0000:00:01.1/ata2/host1/target1:0:0/1:0:0:0", SCSI_CDROM},
	{0},
};

/* The way stage 1 waits now: one walk, then the kernel's uevents, each parsed as it arrives from the socket.
 * A message as the kernel sends it: "ACTION@DEVPATH", then KEY=VALUE strings, each NUL-terminated. */
static int event(struct select *s, const char *const *lines)
{
	char msg[1024];
	size_t len = 0;
	for (; *lines; lines++) {
		size_t n = strlen(*lines) + 1;
		assert_true(len + n <= sizeof msg);
		memcpy(msg + len, *lines, n);
		len += n;
	}
	struct uevent ev;
	assert_int_equal(uevent_parse(msg, len, &ev), 0);
	assert_string_equal(ev.action, "add");
	return select_device(s, ev.modalias);
}

static void test_uevents_after_one_walk(void **state)
{
	(void)state;
	pc_base();
	struct rec r = {0}; /* nothing appears by itself: the events below are the kernel's news */
	struct select s;
	struct select_opts o = {.classes = SELECT_STORAGE, .platform = PLATFORM_PC, .sysroot = root,
				.moddir = INITRD_MODDIR, .load = record, .ctx = &r};
	char failed[600];
	assert_true(select_start(&s, &o, failed, sizeof failed) > 0);
	static const char *const cd[] = {
		"add@/devices/pci0000:00/0000:00:01.1/ata2/host1/target1:0:0/1:0:0:0", "ACTION=add",
		"DEVPATH=/devices/pci0000:00/0000:00:01.1/ata2/host1/target1:0:0/1:0:0:0", "SUBSYSTEM=scsi",
		"DEVTYPE=scsi_device", "MODALIAS=" SCSI_CDROM, "SEQNUM=1234", NULL};
	static const char *const tablet[] = {
		"add@/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0", "ACTION=add",
		"DEVPATH=/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0", "SUBSYSTEM=usb",
		"DEVTYPE=usb_interface", "MODALIAS=" USB_TABLET, "SEQNUM=1235", NULL};
	assert_int_equal(event(&s, cd), 2);     /* cdrom, then sr_mod (scsi_mod is in already) */
	assert_int_equal(event(&s, tablet), 0); /* not storage */
	assert_int_equal(event(&s, cd), 0);     /* a module is tried once */
	assert_int_equal(s.result.failed, 0);
	select_end(&s);
	static const char *const want[] = {"scsi_common", "scsi_mod", "libata", "ata_piix", "ata_generic", "cdrom",
					   "sr_mod", NULL};
	expect_modules(&r, want);
}

static void test_uevent_parse(void **state)
{
	(void)state;
	struct uevent ev;
	static const char block[] = "add@/devices/vbd-51712/block/xvda\0ACTION=add\0DEVPATH=/devices/vbd-51712/"
				    "block/xvda\0SUBSYSTEM=block\0DEVNAME=xvda\0DEVTYPE=disk\0SEQNUM=7";
	assert_int_equal(uevent_parse(block, sizeof block, &ev), 0);
	assert_string_equal(ev.subsystem, "block");
	assert_string_equal(ev.devname, "xvda");
	assert_string_equal(ev.devtype, "disk");
	assert_string_equal(ev.devpath, "/devices/vbd-51712/block/xvda");
	assert_string_equal(ev.modalias, "");
	/* udev's own messages (group 2) and truncated ones are not kernel uevents */
	static const char udev[] = "libudev\0\xfe\xed\xca\xfe";
	assert_int_equal(uevent_parse(udev, sizeof udev, &ev), -EINVAL);
	static const char cut[] = "add@/devices/x\0ACTION=add";
	assert_int_equal(uevent_parse(cut, sizeof cut, &ev), -EINVAL);
	/* a message without its last NUL, or longer than the buffer, stays a C string */
	char big[UEVENT_MAX + 100];
	memset(big, 'A', sizeof big);
	memcpy(big, "add@/x", 6);
	big[6] = '\0';
	assert_int_equal(uevent_parse(big, sizeof big, &ev), -EINVAL);
}

/* qemu PC with the live medium on a virtio disk: PIIX3 IDE (empty), virtio-blk, virtio-net. */
static void test_qemu_pc_virtio(void **state)
{
	(void)state;
	pc_base();
	put("sys/devices/pci0000:00/0000:00:04.0", VIRTIO_BLK_PCI);
	put("sys/devices/pci0000:00/0000:00:05.0", VIRTIO_NET_PCI);
	static const struct appear appear[] = {
		/* virtio_pci finds both functions; only the block one's driver is wanted */
		{"virtio_pci", "sys/devices/pci0000:00/0000:00:04.0/virtio0", VIRTIO_BLK},
		{"virtio_pci", "sys/devices/pci0000:00/0000:00:05.0/virtio1", VIRTIO_NET},
		{0},
	};
	struct rec r = {.appear = appear};
	run(&r, PLATFORM_PC, SELECT_STORAGE);
	/* Walk order (sorted): 00:01.1 IDE (ata_piix by its id, ata_generic by the IDE class: both match, as with
	 * modprobe; libata needs scsi_mod), then 00:04.0 virtio; virtio_blk on the next walk; no virtio_net. */
	static const char *const want[] = {"scsi_common", "scsi_mod", "libata", "ata_piix", "ata_generic",
					   "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring", "virtio",
					   "virtio_pci", "virtio_blk", NULL};
	expect_modules(&r, want);
}

/* qemu q35 with an AHCI disk and CD: the controller module is chosen by class, its disks then by SCSI type. */
static void test_qemu_ahci(void **state)
{
	(void)state;
	put("sys/devices/pci0000:00/0000:00:00.0", "pci:v00008086d000029C0sv00001AF4sd00001100bc06sc00i00");
	put("sys/devices/pci0000:00/0000:00:01.0", VGA);
	put("sys/devices/pci0000:00/0000:00:02.0", E1000E);
	put("sys/devices/pci0000:00/0000:00:1f.0", "pci:v00008086d00002918sv00001AF4sd00001100bc06sc01i00");
	put("sys/devices/pci0000:00/0000:00:1f.2", ICH9_AHCI);
	put("sys/devices/pci0000:00/0000:00:1f.3", ICH9_SMBUS);
	static const struct appear appear[] = {
		{"ahci", "sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0", SCSI_DISK},
		{"ahci", "sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0", SCSI_CDROM},
		{0},
	};
	struct rec r = {.appear = appear};
	run(&r, PLATFORM_PC, SELECT_STORAGE);
	/* No e1000e, no i2c_i801 for the SMBus (not in the initrd anyway, and not storage). */
	static const char *const want[] = {"scsi_common", "scsi_mod", "libata", "libahci", "ahci", "crc64",
					   "crc64_rocksoft", "crct10dif_common", "crct10dif_pclmul", "crct10dif_generic",
					   "crc_t10dif", "t10_pi", "sd_mod", "cdrom", "sr_mod", NULL};
	expect_modules(&r, want);
}

/* A Xen domU: its vbd and vif, plus (as in an HVM guest) the emulated IDE controller: no PC drivers. */
static void test_xen_domu(void **state)
{
	(void)state;
	put("sys/devices/vbd-51712", XEN_VBD);
	put("sys/devices/vif-0", XEN_VIF);
	put("sys/devices/console-0", XEN_CONSOLE);
	put("sys/devices/pci0000:00/0000:00:01.1", PIIX3_IDE);
	put("sys/devices/pci0000:00/0000:00:03.0", QEMU_XHCI);
	struct rec r = {.appear = piix_cd};
	run(&r, PLATFORM_XEN, SELECT_STORAGE);
	static const char *const want[] = {"xen_blkfront", NULL};
	expect_modules(&r, want);

	/* netboot's question on the same machine: the vif only */
	struct rec n = {0};
	run(&n, PLATFORM_XEN, SELECT_NETWORK);
	static const char *const want_net[] = {"xen_netfront", NULL};
	expect_modules(&n, want_net);
}

/* The live medium on a USB stick only: qemu PC with qemu-xhci and usb-storage, no CD; a USB tablet is ignored. */
static void test_usb_stick_only(void **state)
{
	(void)state;
	put("sys/devices/pci0000:00/0000:00:00.0", HOST_BRIDGE);
	put("sys/devices/pci0000:00/0000:00:02.0", VGA);
	put("sys/devices/pci0000:00/0000:00:04.0", QEMU_XHCI);
	static const struct appear appear[] = {
		{"xhci_pci", "sys/devices/pci0000:00/0000:00:04.0/usb1/1-0:1.0", USB_HUB},
		{"xhci_pci", "sys/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0", USB_STICK},
		{"xhci_pci", "sys/devices/pci0000:00/0000:00:04.0/usb1/1-2/1-2:1.0", USB_TABLET},
		{"usb_storage", "sys/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0/host0/target0:0:0/0:0:0:0",
		 SCSI_DISK},
		{0},
	};
	struct rec r = {.appear = appear};
	run(&r, PLATFORM_PC, SELECT_STORAGE);
	/* The hub is usbcore's (already in), the tablet is HID: not storage.  uas matches bulk-only sticks too
	 * (it declines them at probe time), as with modprobe. */
	static const char *const want[] = {"usb_common", "usbcore", "xhci_hcd", "xhci_pci", "scsi_common", "scsi_mod",
					   "usb_storage", "uas", "crc64", "crc64_rocksoft", "crct10dif_common",
					   "crct10dif_pclmul", "crct10dif_generic", "crc_t10dif", "t10_pi", "sd_mod", NULL};
	expect_modules(&r, want);
}

/* UML has no buses: nothing, whatever sysfs shows. */
static void test_uml_selects_nothing(void **state)
{
	(void)state;
	pc_base();
	struct rec r = {.appear = piix_cd};
	run(&r, PLATFORM_UML, SELECT_STORAGE | SELECT_NETWORK);
	assert_int_equal(r.n, 0);
}

static void test_classes(void **state)
{
	(void)state;
	assert_true(select_wants(SELECT_STORAGE, PLATFORM_PC, PIIX3_IDE));
	assert_true(select_wants(SELECT_STORAGE, PLATFORM_PC, ICH9_AHCI));
	assert_true(select_wants(SELECT_STORAGE, PLATFORM_PC, QEMU_XHCI));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, ICH9_SMBUS));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, E1000));
	assert_true(select_wants(SELECT_NETWORK, PLATFORM_PC, E1000));
	assert_true(select_wants(SELECT_NETWORK, PLATFORM_PC, VIRTIO_NET));
	assert_false(select_wants(SELECT_NETWORK, PLATFORM_PC, VIRTIO_BLK));
	assert_true(select_wants(SELECT_STORAGE, PLATFORM_PC, USB_STICK));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, USB_TABLET));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, USB_HUB));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_XEN, PIIX3_IDE));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_XEN, SCSI_DISK));
	assert_true(select_wants(SELECT_STORAGE, PLATFORM_XEN, XEN_VBD));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_XEN, XEN_VIF));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, XEN_VBD));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, "pci:v00008086"));  /* truncated: no class */
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, "pci:v00008086d00007010sv00001AF4sd00001100bc"));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, "pci:v00008086d00007010sv00001AF4sd00001100bc0"));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, "usb:v46F4p0001d0000dc00dsc00dp00ic"));
	assert_false(select_wants(SELECT_STORAGE, PLATFORM_PC, "pci:v00008086d00007010sv00001AF4sd00001100bcZZ"));
}

/* The glob that replaced fnmatch in stage 1 agrees with fnmatch on every pattern of the initrd's modules.alias
 * against the modaliases above, and on the awkward cases. */
static void test_glob_agrees_with_fnmatch(void **state)
{
	(void)state;
	static const char *const aliases[] = {
		HOST_BRIDGE, ISA_BRIDGE, PIIX3_IDE, PIIX4_ACPI, VGA, E1000, VIRTIO_BLK_PCI, VIRTIO_NET_PCI, VIRTIO_BLK,
		VIRTIO_NET, ICH9_AHCI, ICH9_SMBUS, E1000E, SCSI_DISK, SCSI_CDROM, QEMU_XHCI, USB_HUB, USB_STICK,
		USB_TABLET, XEN_VBD, XEN_VIF, "fs-iso9660", "devname:loop-control", "block-major-7-3",
		"usb:v0419p0AAFd0100dc00dsc00dp00ic08isc06ip50in00", "acpi*:PNP0B03:", "a[b", "x]y", "a\\*b",
	};
	struct alias_table t;
	assert_int_equal(alias_load(&t, INITRD_MODDIR "/modules.alias"), 0);
	assert_true(t.n > 100);
	size_t matches = 0;
	for (size_t i = 0; i < t.n; i++)
		for (size_t j = 0; j < sizeof aliases / sizeof aliases[0]; j++) {
			bool want = fnmatch(t.entries[i].pattern, aliases[j], 0) == 0;
			if (alias_glob(t.entries[i].pattern, aliases[j]) != want)
				fail_msg("pattern %s vs %s: fnmatch says %d", t.entries[i].pattern, aliases[j], want);
			matches += want;
		}
	assert_true(matches > 10);
	alias_free(&t);
	static const char *const pairs[][2] = {
		{"*", ""}, {"*", "abc"}, {"a*", "a"}, {"a*c", "abxc"}, {"a*c", "abxd"}, {"a?c", "abc"}, {"a?c", "ac"},
		{"[ab]x", "bx"}, {"[!ab]x", "bx"}, {"[^ab]x", "cx"}, {"[a-c]*", "b1"}, {"[]a]", "]"}, {"a[b", "a[b"},
		{"a\\*b", "a*b"}, {"a\\*b", "axb"}, {"*x*y*", "axbyc"}, {"*x*y", "axbyc"}, {"**a", "ba"},
		{"pci:v*d*sv*sd*bc01sc06i01*", ICH9_AHCI}, {"pci:v*d*sv*sd*bc01sc06i01*", PIIX3_IDE},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if (alias_glob(pairs[i][0], pairs[i][1]) != (fnmatch(pairs[i][0], pairs[i][1], 0) == 0))
			fail_msg("pattern %s vs %s", pairs[i][0], pairs[i][1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qemu_pc_virtio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qemu_ahci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xen_domu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usb_stick_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uml_selects_nothing, setup, teardown),
		cmocka_unit_test(test_classes),
		cmocka_unit_test_setup_teardown(test_uevents_after_one_walk, setup, teardown),
		cmocka_unit_test(test_uevent_parse),
		cmocka_unit_test_setup_teardown(test_glob_agrees_with_fnmatch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
