/* Superblock prober: what does a block device or image file hold?
 * Shared by stage 1 (find and mount the medium) and stage 2 (fstab and swap). */
#ifndef LIVEINIT_PROBE_H
#define LIVEINIT_PROBE_H

#include <stddef.h>
#include <stdint.h>

enum fs_type {
	FS_UNKNOWN = 0,
	FS_ISO9660,
	FS_SQUASHFS,
	FS_EXT2,
	FS_EXT3,
	FS_EXT4,
	FS_XFS,
	FS_BTRFS,
	FS_VFAT,
	FS_SWAP,
	FS_EXFAT,
	FS_NTFS,
};

struct probe_result {
	enum fs_type type;
	char label[64];  /* volume label, "" when none; NUL-terminated, printable */
	char uuid[40];   /* canonical text form ("xxxxxxxx-xxxx-..." or vfat "XXXX-XXXX"), "" when none */
};

/* Probe an open file descriptor (reads with pread only).
 * Returns 0 and fills *out (type FS_UNKNOWN when nothing was recognised), or -errno on an I/O error. */
int probe_fd(int fd, struct probe_result *out);

/* Open path read-only and probe it.  Returns 0 or -errno. */
int probe_path(const char *path, struct probe_result *out);

/* probe_path() in a child process, waiting at most timeout_ms for it: -ETIMEDOUT when the device did not
 * answer (a dying disk), else as probe_path().  A timed-out child is killed and left for the caller's
 * reaper (it is stuck in the kernel until the read returns). */
int probe_path_bounded(const char *path, struct probe_result *out, int timeout_ms);

/* The whole disk block device NAME belongs to ("sda" for sda1 and for sda), from the link
 * SYSBLOCK/NAME (SYSBLOCK is /sys/class/block under some root); NAME itself when that cannot be read. */
void probe_disk_of(const char *sysblock, const char *name, char *disk, size_t n);

/* Name for mount(2)/fstab: "iso9660", "squashfs", "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "swap", "exfat",
 * "ntfs";
 * "unknown" for FS_UNKNOWN. */
const char *fs_type_name(enum fs_type type);

#endif
