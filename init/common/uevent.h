/* Kernel uevents without udev: the kernel multicasts one message per device change (add, remove, bind, change,
 * ...) on NETLINK_KOBJECT_UEVENT, group 1, whether or not anything listens.  Stage 1 listens instead of walking
 * /sys again and again while it waits: its driver loader for the modalias of each new device (a controller's
 * disks, a USB host's stick, Xen's vbd), its medium scan for each new block device.
 *
 *   int fd = uevent_open();                  // before the walk that covers what already exists
 *   struct uevent ev;
 *   while (uevent_read(fd, &ev) > 0) ...ev.action, ev.subsystem, ev.modalias...
 *
 * A message is "ACTION@DEVPATH\0KEY=VALUE\0KEY=VALUE\0...". */
#ifndef LIVEINIT_COMMON_UEVENT_H
#define LIVEINIT_COMMON_UEVENT_H

#include <stddef.h>

#define UEVENT_MAX 8192 /* the kernel's own limit on one message (UEVENT_BUFFER_SIZE 2048) fits */

struct uevent {
	const char *action;    /* "add", "remove", "change", "bind", ... */
	const char *devpath;   /* "/devices/pci0000:00/0000:00:01.1/ata2/host1/target1:0:0/1:0:0:0/block/sr0" */
	const char *subsystem; /* "block", "scsi", "pci", "usb", "xen", ... ("" when absent) */
	const char *devtype;   /* "disk", "partition", "usb_interface", ... ("" when absent) */
	const char *devname;   /* "sr0" (the /dev node, "" when none) */
	const char *modalias;  /* "scsi:t-0x05" ("" when the device has none) */
	char buf[UEVENT_MAX + 1];
};

/* A socket for the kernel's uevents (non-blocking, close-on-exec, a 1 MiB receive buffer so a burst of
 * devices is not lost).  Returns the descriptor or -errno. */
int uevent_open(void);
/* Read one message.  Returns 1 (ev filled), 0 (none waiting), or -errno (-ENOBUFS: messages were lost: walk
 * /sys to catch up).  Messages not from the kernel are skipped. */
int uevent_read(int fd, struct uevent *ev);
/* Parse a message of len bytes (copied into ev->buf).  Returns 0, or -EINVAL for something that is not a
 * kernel uevent (no "@", no ACTION or DEVPATH). */
int uevent_parse(const char *msg, size_t len, struct uevent *ev);

#endif
