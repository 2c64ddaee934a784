/* Unit tests of init/common/coldplug.c: fixture sysfs trees in a temporary directory, the PC kernel's real
 * modules.alias/modules.dep (PC_MODDIR, the live root's module tree) and a recording loader instead of
 * finit_module.  The real thing (modules actually loading in a qemu guest) is tested in tests/test_iso.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/coldplug.h"
#include "common/moddep.h"

#ifndef PC_MODDIR
#error "build with -DPC_MODDIR=\"build/rootmods/pc/lib/modules/<release>\""
#endif

/* Devices as qemu's pc machine shows them: an e1000 NIC and a virtio-net PCI function. */
#define E1000_ALIAS "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00"
#define VIRTIO_PCI_ALIAS "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00"
#define VIRTIO_NET_ALIAS "virtio:d00000001v00001AF4"
#define NOBODY_ALIAS "pci:v0000FFFEd0000FFFEsv00000000sd00000000bc0Fsc00i00"
/* The CPU (/sys/devices/system/cpu/modalias) with SSE 4.2 (feature 0094): crc32c-intel's alias matches it. */
#define CPU_ALIAS "cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0001,0094,00E8"

/* ---- fixture tree ---- */

static char root[64];

static void mkdirs(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void put(const char *rel, const char *text)
{
	char path[512], dir[512];
	snprintf(dir, sizeof dir, "%s", rel);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(dir);
	}
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/test_coldplug.XXXXXX");
	assert_non_null(mkdtemp(root));
	mkdirs("sys/devices");
	mkdirs("sys/module");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd);
}

/* ---- recording loader ---- */

struct rec {
	char paths[64][256];
	int n;
	const char *fail_suffix;  /* a module whose load fails ... */
	int fail_errno;           /* ... with this */
	const char *spawn_after;  /* inserting this module makes spawn_rel appear (a bus probing its devices) */
	const char *spawn_rel, *spawn_alias;
	char warnings[8][768];
	int nwarn;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int record(void *ctx, const char *path)
{
	struct rec *r = ctx;
	if (r->fail_suffix && ends_with(path, r->fail_suffix))
		return -r->fail_errno;
	assert_true(r->n < 64);
	snprintf(r->paths[r->n++], sizeof r->paths[0], "%s", path);
	if (r->spawn_after && ends_with(path, r->spawn_after))
		put(r->spawn_rel, r->spawn_alias);
	return 0;
}

static void collect_warning(void *ctx, const char *msg)
{
	struct rec *r = ctx;
	if (r->nwarn < 8)
		snprintf(r->warnings[r->nwarn++], sizeof r->warnings[0], "%s", msg);
}

static int position(const struct rec *r, const char *suffix)
{
	for (int i = 0; i < r->n; i++)
		if (ends_with(r->paths[i], suffix))
			return i;
	return -1;
}

static int count(const struct rec *r, const char *suffix)
{
	int c = 0;
	for (int i = 0; i < r->n; i++)
		c += ends_with(r->paths[i], suffix);
	return c;
}

static int scan(struct rec *r, struct coldplug_result *res)
{
	struct coldplug_opts o = {.sysroot = root, .moddir = PC_MODDIR, .load = record, .warn = collect_warning,
				  .ctx = r};
	char failed[600];
	return coldplug_scan(&o, res, failed, sizeof failed);
}

/* ---- modules.alias matching ---- */

struct hits {
	char names[8][64];
	int n;
};

static int hit(void *ctx, const char *module)
{
	struct hits *h = ctx;
	if (h->n < 8)
		snprintf(h->names[h->n++], sizeof h->names[0], "%s", module);
	return 0;
}

static bool has_hit(const struct hits *h, const char *name)
{
	for (int i = 0; i < h->n; i++)
		if (!strcmp(h->names[i], name))
			return true;
	return false;
}

static void test_real_alias_table(void **state)
{
	(void)state;
	struct alias_table t;
	assert_int_equal(alias_load(&t, PC_MODDIR "/modules.alias"), 0);
	assert_true(t.n > 1000);

	struct hits h = {0};
	alias_match(&t, E1000_ALIAS, hit, &h);
	assert_true(has_hit(&h, "e1000"));
	assert_false(has_hit(&h, "e1000e"));

	memset(&h, 0, sizeof h);
	alias_match(&t, VIRTIO_NET_ALIAS, hit, &h);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.names[0], "virtio_net");

	memset(&h, 0, sizeof h);
	alias_match(&t, NOBODY_ALIAS, hit, &h);
	assert_int_equal(h.n, 0);
	alias_free(&t);
}

/* Wildcards at the start (no literal prefix), character classes, comments and junk lines. */
static void test_synthetic_alias_patterns(void **state)
{
	(void)state;
	put("aliases", "# comment\nalias *:foo* foomod\nalias acpi*:PNP0[AB]0?:* pnpmod\nnot an alias line\n"
		       "alias\nalias lonely\nalias usb:v1234p*d* usbmod\n");
	char path[512];
	snprintf(path, sizeof path, "%s/aliases", root);
	struct alias_table t;
	assert_int_equal(alias_load(&t, path), 0);
	assert_int_equal(t.n, 3);

	struct hits h = {0};
	alias_match(&t, "bus:foobar", hit, &h);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.names[0], "foomod");
	memset(&h, 0, sizeof h);
	alias_match(&t, "acpi:PNP0B03:", hit, &h);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.names[0], "pnpmod");
	memset(&h, 0, sizeof h);
	alias_match(&t, "acpi:PNP0C03:", hit, &h);
	assert_int_equal(h.n, 0);
	memset(&h, 0, sizeof h);
	alias_match(&t, "usb:v1234p0001d0100", hit, &h);
	assert_int_equal(h.n, 1);
	alias_free(&t);
}

/* ---- scanning ---- */

static void test_scan_loads_matching_modules_deps_first(void **state)
{
	(void)state;
	put("sys/devices/pci0000:00/0000:00:03.0/modalias", E1000_ALIAS "\n");
	put("sys/devices/pci0000:00/0000:00:05.0/modalias", NOBODY_ALIAS "\n");
	put("sys/devices/pci0000:00/0000:00:04.0/virtio0/modalias", VIRTIO_NET_ALIAS "\n");
	mkdirs("sys/devices/pci0000:00/0000:00:04.0/power");      /* no modalias: nothing to do */
	put("sys/devices/system/cpu/cpu0/online", "1\n");
	put("sys/devices/system/cpu/modalias", CPU_ALIAS "\n");
	/* sysfs links point back up the tree; following them would loop. */
	char target[512], link[512];
	snprintf(target, sizeof target, "%s/sys/devices", root);
	snprintf(link, sizeof link, "%s/sys/devices/pci0000:00/0000:00:03.0/subsystem", root);
	assert_int_equal(symlink(target, link), 0);

	struct rec r = {0};
	struct coldplug_result res;
	assert_int_equal(scan(&r, &res), 0);
	assert_int_equal(count(&r, "/e1000.ko"), 1);
	assert_int_equal(count(&r, "/virtio_net.ko"), 1);
	/* Dependencies first, each once. */
	assert_true(position(&r, "/virtio.ko") >= 0);
	assert_true(position(&r, "/virtio_ring.ko") >= 0);
	assert_true(position(&r, "/virtio.ko") < position(&r, "/virtio_net.ko"));
	assert_true(position(&r, "/virtio_ring.ko") < position(&r, "/virtio_net.ko"));
	assert_true(position(&r, "/net_failover.ko") < position(&r, "/virtio_net.ko"));
	assert_int_equal(count(&r, "/virtio.ko"), 1);
	/* The CPU's accelerated crypto matches but is left to modprobe (loaded when a filesystem asks). */
	struct alias_table t;
	assert_int_equal(alias_load(&t, PC_MODDIR "/modules.alias"), 0);
	struct hits h = {0};
	alias_match(&t, CPU_ALIAS, hit, &h);
	assert_true(has_hit(&h, "crc32c_intel"));
	alias_free(&t);
	assert_int_equal(count(&r, "/crc32c-intel.ko"), 0);
	/* Paths are the module directory's files. */
	assert_true(!strncmp(r.paths[0], PC_MODDIR "/kernel/", strlen(PC_MODDIR "/kernel/")));
	assert_int_equal(res.devices, 3);
	assert_int_equal(res.matched, 2);
	assert_int_equal(res.loaded, (unsigned)r.n);
	assert_int_equal(res.failed, 0);
	assert_int_equal(r.nwarn, 0);
	/* Something was loaded, so it walked again; that walk loaded nothing and ended it. */
	assert_int_equal(res.passes, 2);
}

static void test_scan_skips_loaded_modules(void **state)
{
	(void)state;
	put("sys/devices/pci0000:00/0000:00:03.0/modalias", E1000_ALIAS "\n");
	mkdirs("sys/module/e1000");
	struct rec r = {0};
	struct coldplug_result res;
	assert_int_equal(scan(&r, &res), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(res.matched, 1);
	assert_int_equal(res.passes, 1);
}

/* Loading the virtio PCI driver makes a virtio device appear.  When it appears below the directory being
 * walked, the same walk finds it; when it appears where the walk has already been (here: a modalias in the
 * bus directory, read before its children), the next walk must load its driver. */
static void test_scan_repeats_for_new_devices(void **state)
{
	(void)state;
	put("sys/devices/pci0000:00/0000:00:04.0/modalias", VIRTIO_PCI_ALIAS "\n");
	struct rec r = {.spawn_after = "/virtio_pci.ko", .spawn_rel = "sys/devices/pci0000:00/0000:00:04.0/virtio0/modalias",
			.spawn_alias = VIRTIO_NET_ALIAS "\n"};
	struct coldplug_result res;
	assert_int_equal(scan(&r, &res), 0);
	assert_true(position(&r, "/virtio_net.ko") > position(&r, "/virtio_pci.ko"));
	assert_int_equal(res.passes, 2);

	teardown(state);
	setup(state);
	put("sys/devices/pci0000:00/0000:00:04.0/modalias", VIRTIO_PCI_ALIAS "\n");
	struct rec r2 = {.spawn_after = "/virtio_pci.ko", .spawn_rel = "sys/devices/pci0000:00/modalias",
			 .spawn_alias = VIRTIO_NET_ALIAS "\n"};
	assert_int_equal(scan(&r2, &res), 0);
	assert_true(position(&r2, "/virtio_pci.ko") >= 0);
	assert_true(position(&r2, "/virtio_net.ko") > position(&r2, "/virtio_pci.ko"));
	assert_int_equal(res.passes, 3);
	assert_int_equal(res.devices, 2);

	/* max_passes bounds it: one walk only, the late device's driver is not loaded. */
	teardown(state);
	setup(state);
	put("sys/devices/pci0000:00/0000:00:04.0/modalias", VIRTIO_PCI_ALIAS "\n");
	struct rec r3 = {.spawn_after = "/virtio_pci.ko", .spawn_rel = "sys/devices/pci0000:00/modalias",
			 .spawn_alias = VIRTIO_NET_ALIAS "\n"};
	struct coldplug_opts o = {.sysroot = root, .moddir = PC_MODDIR, .max_passes = 1, .load = record, .ctx = &r3};
	char failed[600];
	assert_int_equal(coldplug_scan(&o, &res, failed, sizeof failed), 0);
	assert_int_equal(res.passes, 1);
	assert_int_equal(count(&r3, "/virtio_net.ko"), 0);
}

static void test_scan_reports_failures(void **state)
{
	(void)state;
	put("sys/devices/pci0000:00/0000:00:03.0/modalias", E1000_ALIAS "\n");
	put("sys/devices/pci0000:00/0000:00:04.0/virtio0/modalias", VIRTIO_NET_ALIAS "\n");
	struct rec r = {.fail_suffix = "/e1000.ko", .fail_errno = EINVAL};
	struct coldplug_result res;
	assert_int_equal(scan(&r, &res), 0);
	assert_int_equal(res.failed, 1);
	assert_int_equal(r.nwarn, 1);
	assert_non_null(strstr(r.warnings[0], "e1000.ko"));
	assert_non_null(strstr(r.warnings[0], strerror(EINVAL)));
	assert_int_equal(count(&r, "/virtio_net.ko"), 1); /* one failure does not stop the rest */
}

/* A dependency failing stops the module needing it; "no such device" is not a failure. */
static void test_scan_dependency_failure_and_enodev(void **state)
{
	(void)state;
	put("sys/devices/pci0000:00/0000:00:04.0/virtio0/modalias", VIRTIO_NET_ALIAS "\n");
	struct rec r = {.fail_suffix = "/virtio_ring.ko", .fail_errno = ENOEXEC};
	struct coldplug_result res;
	assert_int_equal(scan(&r, &res), 0);
	assert_int_equal(count(&r, "/virtio_net.ko"), 0);
	assert_int_equal(res.failed, 1);

	struct rec r2 = {.fail_suffix = "/virtio_net.ko", .fail_errno = ENODEV};
	assert_int_equal(scan(&r2, &res), 0);
	assert_int_equal(res.failed, 0);
	assert_int_equal(res.declined, 1);
	assert_int_equal(r2.nwarn, 0);
}

/* A softdep that declines (crct10dif-pclmul on a CPU without PCLMULQDQ, as qemu's TCG CPU) does not stop the
 * module asking for it: a SCSI disk still gets sd_mod. */
static void test_scan_declining_softdep_goes_on(void **state)
{
	(void)state;
	put("sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/modalias", "scsi:t-0x00\n");
	struct rec r = {.fail_suffix = "/crct10dif-pclmul.ko", .fail_errno = ENODEV};
	struct coldplug_result res;
	assert_int_equal(scan(&r, &res), 0);
	assert_int_equal(res.declined, 1); /* the recorder keeps only the loads that worked */
	assert_int_equal(count(&r, "/crc-t10dif.ko"), 1);
	assert_int_equal(count(&r, "/sd_mod.ko"), 1);
	assert_true(position(&r, "/sd_mod.ko") > position(&r, "/crc-t10dif.ko"));
	assert_int_equal(res.failed, 0);
	assert_int_equal(r.nwarn, 0);
}

static void test_scan_errors(void **state)
{
	(void)state;
	struct coldplug_result res;
	char failed[600];
	struct coldplug_opts o = {.sysroot = root, .moddir = "/nonexistent/modules", .load = record};
	assert_int_equal(coldplug_scan(&o, &res, failed, sizeof failed), -ENOENT);
	assert_string_equal(failed, "/nonexistent/modules/modules.dep");

	char noroot[128];
	snprintf(noroot, sizeof noroot, "%s/missing", root);
	struct rec r = {0};
	o = (struct coldplug_opts){.sysroot = noroot, .moddir = PC_MODDIR, .load = record, .ctx = &r};
	assert_int_equal(coldplug_scan(&o, &res, failed, sizeof failed), -ENOENT);
	assert_non_null(strstr(failed, "/missing/sys/devices"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_real_alias_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_synthetic_alias_patterns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_loads_matching_modules_deps_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_skips_loaded_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_repeats_for_new_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_reports_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_dependency_failure_and_enodev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_declining_softdep_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
