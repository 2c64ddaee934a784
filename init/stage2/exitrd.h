/* Leaving the root at shutdown (the "exitrd" of systemd and Finnix).  While PID 1 runs from the root, the root
 * cannot be unmounted: nor can the overlay's upper, the loop device of the squashfs, the squashfs or the medium
 * under it.  So, once everything else is done (shutdown_run), PID 1 makes a small tmpfs holding a static copy
 * of itself (kept under /run since the boot: the medium may be gone by now), pivot_root(2)s into it with the old
 * root under /oldroot, and re-executes the copy as `exitrd`; that unmounts the whole old root, detaches the loop
 * devices, ejects the CD it booted from, and reboots. */
#ifndef LIVEINIT_STAGE2_EXITRD_H
#define LIVEINIT_STAGE2_EXITRD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cmdline.h"
#include "stage2/shutdown.h"

#define EXITRD_COPY "/run/liveinit/liveinit" /* the copy, made at boot */
#define EXITRD_DIR "/run/liveinit/exitrd"    /* the tmpfs, made at shutdown */
#define EXITRD_OLDROOT "/oldroot"            /* the old root, seen from the tmpfs */
#define LIVE_MEDIUM_DIR "/run/live/medium"   /* where stage 1 mounted the medium */

/* At boot: copy our executable to EXITRD_COPY.  Prints the error, the boot goes on. */
void exitrd_keep_copy(void);

/* At shutdown: pivot into the tmpfs and exec `exitrd`.  Returns only when that could not be done (the error
 * printed, nothing changed); the caller then unmounts in place. */
void exitrd_enter(enum shutdown_kind kind, const struct live_config *cfg);

/* Is block device NAME ("sr0") an optical drive, by SYSROOT/sys/class/block/NAME/device/type (5: a CD-ROM,
 * the SCSI peripheral type)?  Hard disks and USB sticks are 0. */
bool block_is_cdrom(const char *sysroot, const char *name);

/* Backing files of the loop devices under SYSROOT/sys/block: for each attached loopN, names[i] = "loopN".
 * Returns the count. */
size_t loops_attached(const char *sysroot, char (*names)[32], size_t max);

#endif
