/* The API filesystems stage 1 may not have mounted (and nothing has, when the kernel runs /sbin/init from a
 * disk root with no initrd), and the root's read-write remount in that case. */
#ifndef LIVEINIT_STAGE2_MOUNTS_H
#define LIVEINIT_STAGE2_MOUNTS_H

#include <stdbool.h>

/* /proc, /sys, /dev: enough to read the command line and open the console. */
void mounts_early(void);

/* /dev/pts, /dev/shm, /run, /tmp. */
void mounts_rest(void);

/* Remount / read-write if the kernel mounted it read-only (its default without `rw`). */
void mounts_root_rw(void);

/* fds 0-2 on /dev/console when the kernel could not give us one (no /dev/console in a bare root). */
void console_fds_fix(void);

#endif
