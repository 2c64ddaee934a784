#include "common/select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/modload.h"

/* Two hex digits after tag in a modalias ("bc01", "ic08"), or -1.  Tags are lowercase, values uppercase hex,
 * so the first occurrence of a tag is the field. */
static int field(const char *modalias, const char *tag)
{
	const char *p = strstr(modalias, tag);
	if (!p)
		return -1;
	p += strlen(tag);
	if (!p[0] || !p[1])
		return -1; /* cut short */
	char hex[3] = {p[0], p[1], '\0'};
	char *end;
	long v = strtol(hex, &end, 16);
	return end == hex + 2 ? (int)v : -1;
}

static bool prefixed(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* PCI: "pci:v...d...sv...sd...bcXXscXXiXX" (base class, subclass). */
static bool pci_wants(unsigned classes, const char *a)
{
	int bc = field(a, "bc"), sc = field(a, "sc");
	if ((classes & SELECT_STORAGE) && (bc == 0x01 || (bc == 0x0C && sc == 0x03)))
		return true; /* mass storage (IDE, SATA, SCSI, NVMe, virtio-blk/-scsi); USB host controllers */
	return (classes & SELECT_NETWORK) && bc == 0x02;
}

/* virtio: "virtio:dXXXXXXXXvXXXXXXXX" (device id: 1 net, 2 block, 8 SCSI). */
static bool virtio_wants(unsigned classes, const char *a)
{
	long id = strtol(a + strlen("virtio:d"), NULL, 16);
	if ((classes & SELECT_STORAGE) && (id == 2 || id == 8))
		return true;
	return (classes & SELECT_NETWORK) && id == 1;
}

/* USB interfaces: "usb:v...p...d...dcXXdscXXdpXXicXXiscXXipXXinXX" (interface class 8: mass storage;
 * 2 and 10: communication, as in USB Ethernet adapters). */
static bool usb_wants(unsigned classes, const char *a)
{
	int ic = field(a, "ic");
	if ((classes & SELECT_STORAGE) && ic == 0x08)
		return true;
	return (classes & SELECT_NETWORK) && (ic == 0x02 || ic == 0x0A);
}

bool select_wants(unsigned classes, enum platform p, const char *a)
{
	switch (p) {
	case PLATFORM_UML:
		return false;
	case PLATFORM_XEN:
		/* A domU's disks and NICs are Xen's paravirtual devices; the emulated PC hardware of an HVM guest
		 * is not needed (and its drivers cost a second in a domU). */
		return ((classes & SELECT_STORAGE) && !strcmp(a, "xen:vbd")) ||
		       ((classes & SELECT_NETWORK) && !strcmp(a, "xen:vif"));
	default:
		break;
	}
	if (prefixed(a, "pci:"))
		return pci_wants(classes, a);
	if (prefixed(a, "virtio:d"))
		return virtio_wants(classes, a);
	if (prefixed(a, "usb:"))
		return usb_wants(classes, a);
	/* SCSI devices behind a storage controller: disks, CD drives ("scsi:t-0x05"). */
	return (classes & SELECT_STORAGE) && prefixed(a, "scsi:");
}

static bool wants_device(void *ctx, const char *modalias)
{
	const struct select *s = ctx;
	return select_wants(s->opts.classes, s->opts.platform, modalias);
}

static int default_load(void *ctx, const char *path)
{
	(void)ctx;
	return modload_file(path, MODLOAD_ASYNC_PROBE);
}

/* coldplug calls back with the select session as ctx; pass the caller's own ctx on. */
static int load_cb(void *ctx, const char *path)
{
	const struct select *s = ctx;
	return s->opts.load ? s->opts.load(s->opts.ctx, path) : default_load(NULL, path);
}

static void warn_cb(void *ctx, const char *msg)
{
	const struct select *s = ctx;
	if (s->opts.warn)
		s->opts.warn(s->opts.ctx, msg);
}

/* The trees under /sys/devices that hold no bus a medium or NIC can sit on (virtual devices, CPUs and memory,
 * the ACPI namespace, PnP, perf event sources): most of sysfs, not walked. */
static const char *const not_buses[] = {"virtual", "system", "LNXSYSTM:00", "pnp0", "software", "tracepoint",
					"breakpoint", "kprobe", "uprobe", "msr", "power", NULL};

int select_start(struct select *s, const struct select_opts *opts, char *failed, size_t size)
{
	memset(s, 0, sizeof *s);
	s->opts = *opts;
	s->cp_opts = (struct coldplug_opts){.sysroot = opts->sysroot, .moddir = opts->moddir, .load = load_cb,
					    .accept = wants_device, .skip_top = not_buses, .warn = warn_cb,
					    .ctx = s};
	int rc = coldplug_open(&s->cp, &s->cp_opts, &s->result, failed, size);
	return rc < 0 ? rc : select_more(s, failed, size);
}

int select_more(struct select *s, char *failed, size_t size)
{
	return coldplug_pass(s->cp, failed, size);
}

int select_device(struct select *s, const char *modalias)
{
	return coldplug_device(s->cp, modalias);
}

void select_end(struct select *s)
{
	coldplug_close(s->cp);
	s->cp = NULL;
}
