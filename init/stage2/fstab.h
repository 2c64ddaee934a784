/* Partition scan -> /etc/fstab.  Every function takes a root prefix ("" for the running system) so the
 * unit tests feed it fixture trees; `mkfstab --root DIR` runs the same code standalone. */
#ifndef LIVEINIT_STAGE2_FSTAB_H
#define LIVEINIT_STAGE2_FSTAB_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cmdline.h"
#include "common/probe.h"

#define FSTAB_BEGIN "# BEGIN liveinit"
#define FSTAB_END "# END liveinit"
#define FSTAB_NAME_MAX 32

enum fstab_use {
	USE_FREE = 0,    /* not mounted: a `noauto` line */
	USE_MOUNTED_RO,  /* mounted read-only somewhere (the live medium): listed with `ro` */
	USE_BUSY,        /* mounted read-write, or held by another device: left out */
};

struct fstab_dev {
	char name[FSTAB_NAME_MAX]; /* kernel name, [a-z0-9] only */
	struct probe_result probe;
	enum fstab_use use;
	bool ro;                   /* the block device itself is read-only (sysfs `ro`, e.g. ubdar) */
	bool swap_active;          /* already in /proc/swaps */
};

struct fstab_scan {
	struct fstab_dev *devs;
	size_t count;
	char **notes;              /* one line each: devices skipped and why (the caller prints them) */
	size_t nnotes;
};

/* Does this kernel block device name belong to the platform (ubd* for UML, xvd* for Xen,
 * sd/vd/hd/nvme/mmcblk otherwise)? */
bool fstab_name_wanted(enum platform p, const char *name);

/* Only [a-z0-9], 1..FSTAB_NAME_MAX-1 characters: anything else did not come from the kernel. */
bool fstab_name_safe(const char *name);

/* Scan ROOT/sys/class/block, probe ROOT/dev/NAME, note what ROOT/proc/self/mountinfo and ROOT/proc/swaps
 * say is in use.  Devices come out sorted by name.  Returns 0 or -errno (sysfs unreadable). */
int fstab_scan(const char *root, enum platform p, struct fstab_scan *out);
void fstab_scan_free(struct fstab_scan *s);

/* The text between (and including) the markers, for the devices in s.  Devices whose /dev/NAME,
 * /mnt/NAME, UUID= or LABEL= already appear in a line of user_text are left to the user's line.
 * Returns a malloc'd string, or NULL on out of memory. */
char *fstab_render_section(const struct fstab_scan *s, const char *user_text);

/* old_text with every marked section removed; *had_section tells whether there was one and
 * *insert_at where the first one started (byte offset in the returned text). */
char *fstab_strip_section(const char *old_text, size_t *insert_at, bool *had_section);

/* Full new file text: old_text (may be NULL) with its section replaced by one for s. */
char *fstab_merge(const char *old_text, const struct fstab_scan *s);

/* Create ROOT/mnt/NAME for every mountable device.  Returns 0 or the first -errno (others still tried);
 * *failed_path names the path that failed. */
int fstab_make_mountpoints(const char *root, const struct fstab_scan *s, char *failed_path, size_t n);

/* The whole job, for PID 1 and for mkfstab: scan, create the mount points (when mkdirs), merge with the
 * existing file and write it atomically (common/fileio.h).  output NULL prints the new text on stdout instead, merged with
 * ROOT/etc/fstab.  On failure returns -errno and names the failed step and path in what.  The caller frees scan
 * (also on failure) and prints scan->notes. */
int fstab_generate(const char *root, enum platform p, const char *output, bool mkdirs, struct fstab_scan *scan,
		   char *what, size_t n);

#endif
