/* Which of the initrd's drivers this machine needs: the coldplug match (common/coldplug.h) restricted to the
 * devices of a class, by modalias.  Stage 1 asks for SELECT_STORAGE (the buses that can hold the live medium);
 * netboot asks for SELECT_NETWORK.  A session walks /sys/devices again on each select_more(), because loading a
 * bus driver makes its devices appear later (virtio_pci -> virtio disks, a USB host -> the stick, a disk
 * controller -> SCSI disks and CD drives).
 *
 *   struct select s;
 *   struct select_opts o = {.classes = SELECT_NETWORK, .platform = cfg.platform, .load = my_loader};
 *   if (select_start(&s, &o, failed, sizeof failed) < 0) ...report failed...;
 *   while (waiting) select_more(&s, ...);      // or select_device(&s, modalias) for each uevent
 *   select_end(&s);
 */
#ifndef LIVEINIT_COMMON_SELECT_H
#define LIVEINIT_COMMON_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cmdline.h"
#include "common/coldplug.h"

enum select_class {
	SELECT_STORAGE = 1u << 0, /* PCI mass storage and USB controllers, virtio block/SCSI, SCSI disks/CDs, USB
				   * mass storage, Xen vbd */
	SELECT_NETWORK = 1u << 1, /* PCI network controllers, virtio net, USB communication, Xen vif */
};

/* Does a device with this modalias belong to one of classes on platform p?  A Xen domU takes only Xen's own
 * devices (vbd, vif): no PC controller drivers at all.  UML has no buses: always false. */
bool select_wants(unsigned classes, enum platform p, const char *modalias);

struct select_opts {
	unsigned classes;         /* SELECT_* bits */
	enum platform platform;
	const char *sysroot;      /* "" or NULL: the real /sys; a fixture tree in tests */
	const char *moddir;       /* NULL: /lib/modules/<uname -r> (the initrd's own modules.alias/modules.dep) */
	coldplug_load_fn *load;   /* NULL: finit_module with async_probe */
	coldplug_warn_fn *warn;   /* NULL: silent */
	void *ctx;                /* passed to load and warn */
};

struct select {
	struct select_opts opts;
	struct coldplug_opts cp_opts;
	struct coldplug_result result;   /* loaded/declined/failed add up over the session */
	struct coldplug *cp;
};

/* Read the module tables and walk once.  Returns the number of module files inserted, or -errno with failed
 * naming the file (modules.dep, modules.alias or /sys/devices). */
int select_start(struct select *s, const struct select_opts *opts, char *failed, size_t size);
/* Walk again; the same return values.  Modules already tried are not tried again. */
int select_more(struct select *s, char *failed, size_t size);
/* One device that just appeared, by the modalias of its uevent (common/uevent.h): load its driver if it is of
 * the session's classes and platform.  Returns the number of module files inserted.  A walk after
 * select_start and uevents for what appears later cover every device without walking again. */
int select_device(struct select *s, const char *modalias);
void select_end(struct select *s);

#endif
