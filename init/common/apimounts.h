/* The kernel's API filesystems, mounted by stage 1 in the initramfs and by stage 2 when it is started
 * without stage 1 (a root booted straight into liveinit): one table, one mount function. */
#ifndef LIVEINIT_COMMON_APIMOUNTS_H
#define LIVEINIT_COMMON_APIMOUNTS_H

#include <stddef.h>

struct api_mount {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
};

enum { API_PROC, API_SYS, API_DEV, API_RUN, API_COUNT };

/* /proc, /sys, /dev (devtmpfs), /run (tmpfs), in that order (index with API_*). */
extern const struct api_mount api_mounts[API_COUNT];

/* Create ROOT/TARGET (and its parents) and mount m there; root "" for the real one.  Returns 0, or -errno with
 * a line in msg: "unable to mount devtmpfs on /dev: No such device". */
int api_mount(const char *root, const struct api_mount *m, char *msg, size_t n);

#endif
