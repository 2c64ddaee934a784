/* Files: the one whole-file reader (fileread.c), the one small-attribute reader, the one atomic writer, mkdir -p.
 * Library style: every function returns 0 (or a length) or -errno; the caller prints, naming the path. */
#ifndef LIVEINIT_COMMON_FILEIO_H
#define LIVEINIT_COMMON_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Read all of path into a NUL-terminated malloc'd buffer (*len, if not NULL, gets its length without the NUL).
 * Returns 0, or -errno (-ENOENT when it does not exist; *text is then NULL). */
int file_read(const char *path, char **text, size_t *len);

/* Read at most size-1 bytes of path into buf and NUL-terminate it: sysfs/proc attributes, pid files.
 * No malloc (dhcpc is built without it).  Returns the length, or -errno. */
ssize_t file_read_small(const char *path, char *buf, size_t size);

/* Replace path with data so that a reader sees the old or the new text, never half of it:
 *  - a symlink at path is followed (up to 8 links) and its target is written, the link stays;
 *  - the new text goes to TARGET.new, created with O_EXCL|O_NOFOLLOW (a stale one from a crash is removed
 *    first, never followed), written, fsync'd, then renamed over TARGET and the directory fsync'd;
 *  - when the rename gives EBUSY (TARGET is a mount point: `ip netns exec` and containers bind-mount
 *    /etc/resolv.conf) the text is written in place instead (truncate, write, fsync).
 * Returns 0, or -errno with *step (if step is not NULL) naming what failed: "resolve", "create", "write",
 * "fsync", "rename", "write in place". */
int file_write_atomic(const char *path, const char *data, size_t len, const char **step);

/* mkdir -p: create path and its missing parents with mode.  Returns 0 (also when it exists) or -errno. */
int mkdir_p(const char *path, mode_t mode);

#endif
