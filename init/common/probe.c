/* Superblock prober.  Each on-disk format has one small function that reads the few bytes it needs with
 * pread and decides "mine" or "not mine"; probe_fd tries them in a fixed order.
 *
 * Nothing read from the disk is trusted as a length or an offset: every read has a fixed size and a fixed
 * place, text fields are copied with their on-disk size as the bound, and labels are reduced to printable
 * ASCII.  A file too short to hold a format's superblock simply is not that format.
 *
 * Order: formats whose magic sits at offset 0 (squashfs, XFS) first, since their mkfs overwrites the start;
 * then ext (mke2fs zeroes the first 4 KiB, so no older swap or boot sector survives, but an old ISO 9660
 * descriptor at 32 KiB may), then ISO 9660 (before vfat: an isohybrid image starts with an MBR that ends in
 * 0x55AA), btrfs, swap, exFAT and NTFS (their boot sectors look like FAT's), and vfat last because its
 * signature is the weakest. */
#include "common/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* A prober returns MATCH after filling *out, NO_MATCH, or -errno when a read failed. */
enum { NO_MATCH = 0, MATCH = 1 };

/* Read exactly len bytes at off.  1: done; 0: the file or device ended first; -errno: read error. */
static int read_at(int fd, off_t off, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		done += (size_t)n;
	}
	return 1;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)be16(p) << 16 | (uint32_t)be16(p + 2); }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4); }

static bool is_pow2_between(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

/* Copy an on-disk label of at most len bytes: stop at the first NUL, replace anything that is not printable
 * ASCII with '_', drop trailing spaces (as blkid does), truncate to what fits. */
static void set_label(struct probe_result *out, const uint8_t *raw, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && raw[i] != '\0' && n < sizeof(out->label) - 1; i++)
		out->label[n++] = (raw[i] >= 0x20 && raw[i] < 0x7f) ? (char)raw[i] : '_';
	while (n > 0 && out->label[n - 1] == ' ')
		n--;
	out->label[n] = '\0';
}

/* A 16-byte binary UUID in the usual 8-4-4-4-12 form; left empty when all zero (blkid does the same). */
static void set_uuid16(struct probe_result *out, const uint8_t u[16])
{
	static const uint8_t zero[16];

	if (memcmp(u, zero, sizeof(zero)) == 0)
		return;
	snprintf(out->uuid, sizeof(out->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* ---- squashfs: little-endian superblock at 0; the kernel only mounts version 4. ---- */
static int probe_squashfs(int fd, struct probe_result *out)
{
	uint8_t sb[96];
	int rc = read_at(fd, 0, sb, sizeof(sb));

	if (rc <= 0)
		return rc;
	if (memcmp(sb, "hsqs", 4) != 0 || le16(sb + 28) != 4)
		return NO_MATCH;
	uint32_t block_size = le32(sb + 12);
	uint16_t block_log = le16(sb + 22);
	if (!is_pow2_between(block_size, 4096, 1 << 20) || block_log > 20 || (1u << block_log) != block_size)
		return NO_MATCH;
	out->type = FS_SQUASHFS;
	return MATCH;
}

/* ---- XFS: big-endian superblock at 0. ---- */
static bool xfs_sane(const uint8_t *sb)
{
	uint32_t blocksize = be32(sb + 4), agcount = be32(sb + 88), agblocks = be32(sb + 84);
	uint16_t sectsize = be16(sb + 102);
	uint8_t blocklog = sb[120], sectlog = sb[121], inprogress = sb[126];

	return is_pow2_between(blocksize, 512, 65536) && blocklog < 32 && (1u << blocklog) == blocksize &&
	       is_pow2_between(sectsize, 512, 32768) && sectlog < 32 && (1u << sectlog) == sectsize &&
	       agcount > 0 && agblocks > 0 && be64(sb + 8) > 0 && inprogress == 0;
}

static int probe_xfs(int fd, struct probe_result *out)
{
	uint8_t sb[128];
	int rc = read_at(fd, 0, sb, sizeof(sb));

	if (rc <= 0)
		return rc;
	if (memcmp(sb, "XFSB", 4) != 0 || !xfs_sane(sb))
		return NO_MATCH;
	out->type = FS_XFS;
	set_label(out, sb + 108, 12);
	set_uuid16(out, sb + 32);
	return MATCH;
}

/* ---- ext2/3/4: superblock at 1024, magic 0xEF53 at +56. ---- */
#define EXT_COMPAT_HAS_JOURNAL   0x0004u
#define EXT_INCOMPAT_JOURNAL_DEV 0x0008u
/* What an ext3 driver understands; any other feature means ext4 (blkid's rule). */
#define EXT3_INCOMPAT_KNOWN      0x0016u /* filetype, recover, meta_bg */
#define EXT3_RO_COMPAT_KNOWN     0x0007u /* sparse_super, large_file, btree_dir */

static enum fs_type ext_kind(const uint8_t *sb)
{
	uint32_t compat = le32(sb + 92), incompat = le32(sb + 96), ro_compat = le32(sb + 100);

	if (incompat & EXT_INCOMPAT_JOURNAL_DEV)
		return FS_UNKNOWN; /* an external journal, not a filesystem */
	if ((incompat & ~EXT3_INCOMPAT_KNOWN) || (ro_compat & ~EXT3_RO_COMPAT_KNOWN))
		return FS_EXT4;
	return (compat & EXT_COMPAT_HAS_JOURNAL) ? FS_EXT3 : FS_EXT2;
}

static int probe_ext(int fd, struct probe_result *out)
{
	uint8_t sb[136];
	int rc = read_at(fd, 1024, sb, sizeof(sb));

	if (rc <= 0)
		return rc;
	if (le16(sb + 56) != 0xEF53)
		return NO_MATCH;
	/* s_log_block_size: 1 KiB << n, at most 64 KiB; s_rev_level 0 or 1; groups must be non-empty. */
	if (le32(sb + 24) > 6 || le32(sb + 76) > 1 || le32(sb + 32) == 0 || le32(sb + 40) == 0)
		return NO_MATCH;
	enum fs_type kind = ext_kind(sb);
	if (kind == FS_UNKNOWN)
		return NO_MATCH;
	out->type = kind;
	set_label(out, sb + 120, 16);
	set_uuid16(out, sb + 104);
	return MATCH;
}

/* ---- ISO 9660: volume descriptors from sector 16 (32 KiB), 2048 bytes each. ---- */
#define ISO_SECTOR   2048
#define ISO_VD_FIRST 16
#define ISO_VD_MAX   16 /* how many descriptors we look at before giving up */

/* blkid's UUID for an ISO: the 16 digits of a volume date as YYYY-MM-DD-HH-MM-SS-cc.  A date of all '0'
 * with a zero time zone means "not set".  Non-digits: no UUID. */
static bool iso_date_uuid(struct probe_result *out, const uint8_t *date)
{
	bool all_zero = true;

	for (int i = 0; i < 16; i++) {
		if (date[i] < '0' || date[i] > '9')
			return false;
		all_zero &= date[i] == '0';
	}
	if (all_zero && date[16] == 0)
		return false;
	snprintf(out->uuid, sizeof(out->uuid), "%.4s-%.2s-%.2s-%.2s-%.2s-%.2s-%.2s", (const char *)date,
		 (const char *)date + 4, (const char *)date + 6, (const char *)date + 8,
		 (const char *)date + 10, (const char *)date + 12, (const char *)date + 14);
	return true;
}

static void iso_fill(struct probe_result *out, const uint8_t *pvd)
{
	out->type = FS_ISO9660;
	set_label(out, pvd + 40, 32);
	/* modification date first, then creation date, like blkid */
	if (!iso_date_uuid(out, pvd + 830))
		iso_date_uuid(out, pvd + 813);
}

static int probe_iso9660(int fd, struct probe_result *out)
{
	uint8_t vd[ISO_SECTOR];

	for (int i = 0; i < ISO_VD_MAX; i++) {
		int rc = read_at(fd, (off_t)(ISO_VD_FIRST + i) * ISO_SECTOR, vd, sizeof(vd));
		if (rc <= 0)
			return rc;
		if (memcmp(vd + 1, "CD001", 5) != 0 || vd[0] == 0xff)
			return NO_MATCH; /* not a descriptor, or the set terminator before any primary one */
		if (vd[0] == 1 && vd[6] == 1) {
			iso_fill(out, vd);
			return MATCH;
		}
	}
	return NO_MATCH;
}

/* ---- btrfs: superblock at 64 KiB, magic at +0x40. ---- */
#define BTRFS_SB_OFFSET 65536

static int probe_btrfs(int fd, struct probe_result *out)
{
	uint8_t sb[0x12b + 256];
	int rc = read_at(fd, BTRFS_SB_OFFSET, sb, sizeof(sb));

	if (rc <= 0)
		return rc;
	if (memcmp(sb + 0x40, "_BHRfS_M", 8) != 0)
		return NO_MATCH;
	/* the superblock records its own position; sectorsize and nodesize are powers of two */
	if (le64(sb + 0x30) != BTRFS_SB_OFFSET || !is_pow2_between(le32(sb + 0x90), 4096, 65536) ||
	    !is_pow2_between(le32(sb + 0x94), 4096, 65536))
		return NO_MATCH;
	out->type = FS_BTRFS;
	set_label(out, sb + 0x12b, 256);
	set_uuid16(out, sb + 0x20);
	return MATCH;
}

/* ---- Linux swap, version 1: "SWAPSPACE2" ends the first page; the header follows the 1 KiB boot area. ---- */
static int swap_page_size(int fd)
{
	for (uint32_t page = 4096; page <= 65536; page <<= 1) {
		char sig[10];
		int rc = read_at(fd, (off_t)page - (off_t)sizeof(sig), sig, sizeof(sig));
		if (rc < 0)
			return rc;
		if (rc == 0)
			return 0;
		if (memcmp(sig, "SWAPSPACE2", sizeof(sig)) == 0)
			return (int)page;
	}
	return 0;
}

static int probe_swap(int fd, struct probe_result *out)
{
	uint8_t hdr[44]; /* version, last_page, nr_badpages, uuid[16], volume_name[16] */
	int page = swap_page_size(fd);

	if (page <= 0)
		return page;
	int rc = read_at(fd, 1024, hdr, sizeof(hdr));
	if (rc <= 0)
		return rc;
	/* written in the host's byte order: accept 1 either way */
	if (le32(hdr) != 1 && be32(hdr) != 1)
		return NO_MATCH;
	out->type = FS_SWAP;
	set_uuid16(out, hdr + 12);
	set_label(out, hdr + 28, 16);
	return MATCH;
}

/* ---- vfat: FAT12/16/32 boot sector. ---- */
static bool fat_bpb_sane(const uint8_t *bs)
{
	uint8_t media = bs[21];

	return (bs[0] == 0xEB || bs[0] == 0xE9) && is_pow2_between(le16(bs + 11), 512, 4096) &&
	       is_pow2_between(bs[13], 1, 128) && le16(bs + 14) > 0 && bs[16] > 0 &&
	       (media == 0xF0 || media >= 0xF8) && bs[510] == 0x55 && bs[511] == 0xAA;
}

/* The extended BPB (boot signature, serial, label, type string) sits at 36 for FAT12/16 and at 64 for
 * FAT32; FAT32 is the layout whose 16-bit FAT size is 0.  Returns the offset, or 0 when the type string
 * does not fit the layout. */
static size_t fat_ebpb_offset(const uint8_t *bs)
{
	if (le16(bs + 22) == 0)
		return memcmp(bs + 82, "FAT32   ", 8) == 0 ? 64 : 0;
	if (memcmp(bs + 54, "FAT12   ", 8) == 0 || memcmp(bs + 54, "FAT16   ", 8) == 0 ||
	    memcmp(bs + 54, "FAT     ", 8) == 0)
		return 36;
	return 0;
}

static int probe_vfat(int fd, struct probe_result *out)
{
	uint8_t bs[512];
	int rc = read_at(fd, 0, bs, sizeof(bs));

	if (rc <= 0)
		return rc;
	size_t e = fat_bpb_sane(bs) ? fat_ebpb_offset(bs) : 0;
	if (e == 0)
		return NO_MATCH;
	out->type = FS_VFAT;
	uint8_t sig = bs[e + 2];
	const uint8_t *serial = bs + e + 3, *label = bs + e + 7;
	if (sig == 0x28 || sig == 0x29)
		snprintf(out->uuid, sizeof(out->uuid), "%02X%02X-%02X%02X", serial[3], serial[2], serial[1],
			 serial[0]);
	if (sig == 0x29 && memcmp(label, "NO NAME    ", 11) != 0)
		set_label(out, label, 11);
	return MATCH;
}

/* exFAT and NTFS boot sectors name themselves at offset 3 ("EXFAT   ", "NTFS    ") where FAT has its OEM name;
 * both are checked before vfat.  Their labels live in the root directory / the $Volume record, which this
 * prober does not walk: they are listed without a label.  UUIDs as blkid prints them. */
static int probe_exfat(int fd, struct probe_result *out)
{
	uint8_t bs[512];
	int rc = read_at(fd, 0, bs, sizeof(bs));

	if (rc <= 0)
		return rc;
	if (memcmp(bs + 3, "EXFAT   ", 8) != 0 || bs[510] != 0x55 || bs[511] != 0xAA)
		return NO_MATCH;
	for (size_t i = 11; i < 64; i++) /* MustBeZero: where FAT's BPB would be */
		if (bs[i])
			return NO_MATCH;
	uint8_t sector_shift = bs[108], cluster_shift = bs[109];
	if (sector_shift < 9 || sector_shift > 12 || cluster_shift > 25 - sector_shift)
		return NO_MATCH;
	out->type = FS_EXFAT;
	const uint8_t *serial = bs + 100;
	snprintf(out->uuid, sizeof(out->uuid), "%02X%02X-%02X%02X", serial[3], serial[2], serial[1], serial[0]);
	return MATCH;
}

static int probe_ntfs(int fd, struct probe_result *out)
{
	uint8_t bs[512];
	int rc = read_at(fd, 0, bs, sizeof(bs));

	if (rc <= 0)
		return rc;
	if (memcmp(bs + 3, "NTFS    ", 8) != 0 || bs[510] != 0x55 || bs[511] != 0xAA)
		return NO_MATCH;
	if (!is_pow2_between(le16(bs + 11), 256, 4096) || bs[13] == 0)
		return NO_MATCH;
	out->type = FS_NTFS;
	snprintf(out->uuid, sizeof(out->uuid), "%016llX", (unsigned long long)le64(bs + 0x48));
	return MATCH;
}

static int (*const probers[])(int fd, struct probe_result *out) = {
	probe_squashfs, probe_xfs, probe_ext, probe_iso9660, probe_btrfs, probe_swap, probe_exfat, probe_ntfs,
	probe_vfat,
};

int probe_fd(int fd, struct probe_result *out)
{
	for (size_t i = 0; i < sizeof(probers) / sizeof(probers[0]); i++) {
		memset(out, 0, sizeof(*out));
		int rc = probers[i](fd, out);
		if (rc == MATCH)
			return 0;
		if (rc < 0) {
			memset(out, 0, sizeof(*out));
			return rc;
		}
	}
	memset(out, 0, sizeof(*out));
	return 0;
}

int probe_path(const char *path, struct probe_result *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	int rc = probe_fd(fd, out);
	close(fd);
	return rc;
}

/* A dying disk can block a read for minutes, inside the kernel where no signal reaches the reader, and the
 * kernel's own partition scan of such a disk holds its open lock just as long: the probe runs in a child, and
 * the caller stops waiting for it.  The child gets SIGKILL, which takes effect when the read returns; whoever
 * reaps children (PID 1's loop) collects it then. */
int probe_path_bounded(const char *path, struct probe_result *out, int timeout_ms)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	struct probe_reply {
		int rc;
		struct probe_result result;
	} reply;
	if (pid == 0) {
		close(fds[0]);
		memset(&reply, 0, sizeof(reply));
		reply.rc = probe_path(path, &reply.result);
		_exit(write(fds[1], &reply, sizeof(reply)) == (ssize_t)sizeof(reply) ? 0 : 1);
	}
	close(fds[1]);
	struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
	int ready;
	do
		ready = poll(&pfd, 1, timeout_ms);
	while (ready < 0 && errno == EINTR);
	if (ready <= 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, WNOHANG);
		close(fds[0]);
		return -ETIMEDOUT;
	}
	ssize_t n = read(fds[0], &reply, sizeof(reply));
	close(fds[0]);
	waitpid(pid, NULL, 0); /* it has answered (or died): it exits now */
	if (n != (ssize_t)sizeof(reply))
		return -EIO;
	*out = reply.result;
	return reply.rc;
}

void probe_disk_of(const char *sysblock, const char *name, char *disk, size_t n)
{
	char link[PATH_MAX], target[PATH_MAX];
	snprintf(disk, n, "%s", name);
	if (snprintf(link, sizeof(link), "%s/%s", sysblock, name) >= (int)sizeof(link))
		return;
	ssize_t len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0)
		return;
	target[len] = '\0';
	/* .../block/sda/sda1: a partition sits in its disk's directory; .../block/sda: a whole disk. */
	char *last = strrchr(target, '/');
	if (!last || last == target)
		return;
	*last = '\0';
	char *parent = strrchr(target, '/');
	parent = parent ? parent + 1 : target;
	if (strcmp(parent, "block") != 0)
		snprintf(disk, n, "%s", parent);
}

const char *fs_type_name(enum fs_type type)
{
	static const char *const names[] = {
		[FS_UNKNOWN] = "unknown", [FS_ISO9660] = "iso9660", [FS_SQUASHFS] = "squashfs",
		[FS_EXT2] = "ext2",       [FS_EXT3] = "ext3",       [FS_EXT4] = "ext4",
		[FS_XFS] = "xfs",         [FS_BTRFS] = "btrfs",     [FS_VFAT] = "vfat",
		[FS_SWAP] = "swap",       [FS_EXFAT] = "exfat",     [FS_NTFS] = "ntfs",
	};

	if ((unsigned)type >= sizeof(names) / sizeof(names[0]) || names[type] == NULL)
		return "unknown";
	return names[type];
}
