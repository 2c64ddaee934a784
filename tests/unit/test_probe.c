/* Unit tests of init/common/probe.c with crafted superblocks written to temporary files: type rules,
 * label sanitising, short files, read errors, check order, and a mutation loop (built with ASan/UBSan).
 * Real images made by mkfs.* are checked against blkid in tests/test_probe.py, which also runs this binary
 * with PROBE_IMAGES=path:path:... so the mutation loop covers them too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/probe.h"

#define IMG_SIZE (128 * 1024)

/* ---- helpers ---- */

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v) { put_le16(p, (uint16_t)v); put_le16(p + 2, (uint16_t)(v >> 16)); }
static void put_le64(uint8_t *p, uint64_t v) { put_le32(p, (uint32_t)v); put_le32(p + 4, (uint32_t)(v >> 32)); }
static void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v) { put_be16(p, (uint16_t)(v >> 16)); put_be16(p + 2, (uint16_t)v); }
static void put_be64(uint8_t *p, uint64_t v) { put_be32(p, (uint32_t)(v >> 32)); put_be32(p + 4, (uint32_t)v); }

static const uint8_t test_uuid[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				      0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
#define TEST_UUID_TEXT "01234567-89ab-cdef-fedc-ba9876543210"

/* An unlinked temporary file holding buf[0..len). */
static int temp_fd_with(const uint8_t *buf, size_t len)
{
	char path[] = "/tmp/test_probe.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		assert_true(n > 0);
		done += (size_t)n;
	}
	return fd;
}

static int probe_buf(const uint8_t *buf, size_t len, struct probe_result *r)
{
	int fd = temp_fd_with(buf, len);
	memset(r, 0x5a, sizeof(*r)); /* probe_fd must overwrite everything */
	int rc = probe_fd(fd, r);
	close(fd);
	return rc;
}

static enum fs_type probe_type(const uint8_t *buf, size_t len)
{
	struct probe_result r;
	assert_int_equal(probe_buf(buf, len, &r), 0);
	return r.type;
}

static uint8_t *new_image(void)
{
	uint8_t *img = calloc(1, IMG_SIZE);
	assert_non_null(img);
	return img;
}

/* ---- crafted superblocks ---- */

#define EXT_SB 1024
static void make_ext(uint8_t *img, uint32_t compat, uint32_t incompat, uint32_t ro_compat, const char *label)
{
	uint8_t *sb = img + EXT_SB;
	put_le32(sb + 0, 2048);    /* s_inodes_count */
	put_le32(sb + 4, 8192);    /* s_blocks_count */
	put_le32(sb + 24, 0);      /* s_log_block_size: 1 KiB */
	put_le32(sb + 32, 8192);   /* s_blocks_per_group */
	put_le32(sb + 40, 2048);   /* s_inodes_per_group */
	put_le16(sb + 56, 0xEF53); /* s_magic */
	put_le32(sb + 76, 1);      /* s_rev_level */
	put_le32(sb + 92, compat);
	put_le32(sb + 96, incompat);
	put_le32(sb + 100, ro_compat);
	memcpy(sb + 104, test_uuid, 16);
	memcpy(sb + 120, label, strnlen(label, 16));
}

static void make_iso_vd(uint8_t *img, int sector, uint8_t type, const char *label)
{
	uint8_t *vd = img + sector * 2048;
	vd[0] = type;
	memcpy(vd + 1, "CD001", 5);
	vd[6] = 1;
	if (type == 1) {
		memset(vd + 40, ' ', 32);
		memcpy(vd + 40, label, strnlen(label, 32));
		memcpy(vd + 813, "2024010203040506", 16); /* creation */
		memcpy(vd + 830, "2025111213141516", 16); /* modification */
	}
}

static void make_squashfs(uint8_t *img)
{
	memcpy(img, "hsqs", 4);
	put_le32(img + 12, 131072); /* block_size */
	put_le16(img + 22, 17);     /* block_log */
	put_le16(img + 28, 4);      /* s_major */
}

static void make_xfs(uint8_t *img, const char *label)
{
	memcpy(img, "XFSB", 4);
	put_be32(img + 4, 4096);   /* blocksize */
	put_be64(img + 8, 76800);  /* dblocks */
	memcpy(img + 32, test_uuid, 16);
	put_be32(img + 84, 19200); /* agblocks */
	put_be32(img + 88, 4);     /* agcount */
	put_be16(img + 102, 512);  /* sectsize */
	memcpy(img + 108, label, strnlen(label, 12));
	img[120] = 12;             /* blocklog */
	img[121] = 9;              /* sectlog */
}

#define BTRFS_SB 65536
static void make_btrfs(uint8_t *img, const char *label)
{
	uint8_t *sb = img + BTRFS_SB;
	memcpy(sb + 0x20, test_uuid, 16);
	put_le64(sb + 0x30, BTRFS_SB);
	memcpy(sb + 0x40, "_BHRfS_M", 8);
	put_le32(sb + 0x90, 4096);  /* sectorsize */
	put_le32(sb + 0x94, 16384); /* nodesize */
	memcpy(sb + 0x12b, label, strnlen(label, 256));
}

static void make_swap(uint8_t *img, uint32_t page, const char *label)
{
	put_le32(img + 1024, 1);    /* version */
	put_le32(img + 1028, 1000); /* last_page */
	memcpy(img + 1036, test_uuid, 16);
	memcpy(img + 1052, label, strnlen(label, 16));
	memcpy(img + page - 10, "SWAPSPACE2", 10);
}

static void make_fat_common(uint8_t *bs)
{
	bs[0] = 0xEB; bs[1] = 0x3C; bs[2] = 0x90;
	memcpy(bs + 3, "mkfs.fat", 8);
	put_le16(bs + 11, 512); /* bytes per sector */
	bs[13] = 4;             /* sectors per cluster */
	put_le16(bs + 14, 1);   /* reserved sectors */
	bs[16] = 2;             /* FATs */
	bs[21] = 0xF8;          /* media */
	bs[510] = 0x55; bs[511] = 0xAA;
}

/* FAT12/16 layout: extended BPB at 36. */
static void make_fat16(uint8_t *bs, const char *label11)
{
	make_fat_common(bs);
	put_le16(bs + 17, 512);  /* root entries */
	put_le16(bs + 19, 16384);
	put_le16(bs + 22, 16);   /* sectors per FAT */
	bs[38] = 0x29;
	put_le32(bs + 39, 0x1234ABCD);
	memcpy(bs + 43, label11, 11);
	memcpy(bs + 54, "FAT16   ", 8);
}

/* FAT32 layout: 16-bit FAT size 0, extended BPB at 64. */
static void make_fat32(uint8_t *bs, const char *label11)
{
	make_fat_common(bs);
	put_le32(bs + 32, 1 << 20);
	put_le32(bs + 36, 1024); /* sectors per FAT */
	bs[66] = 0x29;
	put_le32(bs + 67, 0xDEADBEEF);
	memcpy(bs + 71, label11, 11);
	memcpy(bs + 82, "FAT32   ", 8);
}

/* ---- per-type tests ---- */

static void test_ext_kinds(void **state)
{
	(void)state;
	struct { uint32_t compat, incompat, ro_compat; enum fs_type want; } cases[] = {
		{0, 0x0002, 0x0003, FS_EXT2},          /* filetype; sparse_super, large_file */
		{0x0004, 0x0002, 0x0003, FS_EXT3},     /* + has_journal */
		{0x0004, 0x0006, 0x0003, FS_EXT3},     /* + needs_recovery: still ext3 */
		{0x0004, 0x02c2, 0x046b, FS_EXT4},     /* extents, 64bit, flex_bg; huge_file, metadata_csum */
		{0, 0x0040, 0, FS_EXT4},               /* extents without a journal */
		{0, 0x0002, 0x0008, FS_EXT4},          /* huge_file alone */
		{0x0004, 0x0008, 0, FS_UNKNOWN},       /* journal_dev: an external journal */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *img = new_image();
		make_ext(img, cases[i].compat, cases[i].incompat, cases[i].ro_compat, "rootfs");
		struct probe_result r;
		assert_int_equal(probe_buf(img, 8192, &r), 0);
		assert_int_equal(r.type, cases[i].want);
		if (r.type != FS_UNKNOWN) {
			assert_string_equal(r.label, "rootfs");
			assert_string_equal(r.uuid, TEST_UUID_TEXT);
		}
		free(img);
	}
}

static void test_ext_insane_fields(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	make_ext(img, 0, 0x2, 0, "");
	put_le32(img + EXT_SB + 24, 7); /* 128 KiB blocks */
	assert_int_equal(probe_type(img, 8192), FS_UNKNOWN);
	make_ext(img, 0, 0x2, 0, "");
	put_le32(img + EXT_SB + 32, 0); /* no blocks per group */
	assert_int_equal(probe_type(img, 8192), FS_UNKNOWN);
	make_ext(img, 0, 0x2, 0, "");
	assert_int_equal(probe_type(img, 8192), FS_EXT2);
	free(img);
}

static void test_label_sanitised(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	struct probe_result r;

	make_ext(img, 0, 0x2, 0, "ab\x01\xff" "cd\t  ");
	assert_int_equal(probe_buf(img, 8192, &r), 0);
	assert_string_equal(r.label, "ab__cd_"); /* control and high bytes replaced, trailing spaces gone */

	/* 16 bytes with no NUL: all of them, and nothing after them */
	memcpy(img + EXT_SB + 120, "0123456789abcdef", 16);
	img[EXT_SB + 136] = 'X';
	assert_int_equal(probe_buf(img, 8192, &r), 0);
	assert_string_equal(r.label, "0123456789abcdef");

	/* an all-space label is no label; a NUL ends it early */
	memcpy(img + EXT_SB + 120, "                ", 16);
	assert_int_equal(probe_buf(img, 8192, &r), 0);
	assert_string_equal(r.label, "");
	memcpy(img + EXT_SB + 120, "ab\0cdefghijklmn", 16);
	assert_int_equal(probe_buf(img, 8192, &r), 0);
	assert_string_equal(r.label, "ab");
	free(img);
}

static void test_long_btrfs_label_truncated(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	char label[256];
	memset(label, 'L', sizeof(label)); /* 256 bytes, no NUL on disk */
	make_btrfs(img, "");
	memcpy(img + BTRFS_SB + 0x12b, label, sizeof(label));
	struct probe_result r;
	assert_int_equal(probe_buf(img, IMG_SIZE, &r), 0);
	assert_int_equal(r.type, FS_BTRFS);
	assert_int_equal(strlen(r.label), sizeof(r.label) - 1);
	assert_string_equal(r.uuid, TEST_UUID_TEXT);
	free(img);
}

static void test_zero_uuid_is_empty(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	make_xfs(img, "data");
	memset(img + 32, 0, 16);
	struct probe_result r;
	assert_int_equal(probe_buf(img, 4096, &r), 0);
	assert_int_equal(r.type, FS_XFS);
	assert_string_equal(r.label, "data");
	assert_string_equal(r.uuid, "");
	free(img);
}

static void test_xfs_rules(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	make_xfs(img, "twelve_chars");
	struct probe_result r;
	assert_int_equal(probe_buf(img, 4096, &r), 0);
	assert_int_equal(r.type, FS_XFS);
	assert_string_equal(r.label, "twelve_chars");
	assert_string_equal(r.uuid, TEST_UUID_TEXT);
	img[126] = 1; /* mkfs still in progress */
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	img[126] = 0;
	img[120] = 11; /* blocklog disagrees with blocksize */
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	free(img);
}

static void test_squashfs_rules(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	make_squashfs(img);
	struct probe_result r;
	assert_int_equal(probe_buf(img, 4096, &r), 0);
	assert_int_equal(r.type, FS_SQUASHFS);
	assert_string_equal(r.label, "");
	assert_string_equal(r.uuid, "");
	put_le16(img + 28, 3); /* squashfs 3: the kernel cannot mount it */
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	make_squashfs(img);
	put_le32(img + 12, 3000); /* block size not a power of two */
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	make_squashfs(img);
	put_le16(img + 22, 40); /* block_log would shift out of range */
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	free(img);
}

static void test_iso_descriptors(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	struct probe_result r;

	/* El Torito boot record first, primary second, terminator third */
	make_iso_vd(img, 16, 0, NULL);
	make_iso_vd(img, 17, 1, "LIVEINIT");
	make_iso_vd(img, 18, 0xff, NULL);
	assert_int_equal(probe_buf(img, IMG_SIZE, &r), 0);
	assert_int_equal(r.type, FS_ISO9660);
	assert_string_equal(r.label, "LIVEINIT");
	assert_string_equal(r.uuid, "2025-11-12-13-14-15-16"); /* from the modification date */

	/* no modification date: creation date */
	memset(img + 17 * 2048 + 830, '0', 16);
	img[17 * 2048 + 846] = 0;
	assert_int_equal(probe_buf(img, IMG_SIZE, &r), 0);
	assert_string_equal(r.uuid, "2024-01-02-03-04-05-06");
	/* neither: no UUID; garbage digits: no UUID either */
	memset(img + 17 * 2048 + 813, '0', 16);
	img[17 * 2048 + 829] = 0;
	assert_int_equal(probe_buf(img, IMG_SIZE, &r), 0);
	assert_string_equal(r.uuid, "");
	memcpy(img + 17 * 2048 + 830, "20\xff" "5111213141516", 16);
	assert_int_equal(probe_buf(img, IMG_SIZE, &r), 0);
	assert_string_equal(r.uuid, "");

	/* terminator before any primary descriptor */
	memset(img, 0, IMG_SIZE);
	make_iso_vd(img, 16, 0xff, NULL);
	make_iso_vd(img, 17, 1, "LATE");
	assert_int_equal(probe_type(img, IMG_SIZE), FS_UNKNOWN);

	/* file ends inside the primary descriptor */
	memset(img, 0, IMG_SIZE);
	make_iso_vd(img, 16, 1, "CUT");
	assert_int_equal(probe_type(img, 16 * 2048 + 2047), FS_UNKNOWN);
	assert_int_equal(probe_type(img, 17 * 2048), FS_ISO9660);
	free(img);
}

static void test_iso_blank_label(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	make_iso_vd(img, 16, 1, "");
	struct probe_result r;
	assert_int_equal(probe_buf(img, IMG_SIZE, &r), 0);
	assert_int_equal(r.type, FS_ISO9660);
	assert_string_equal(r.label, "");
	free(img);
}

static void test_swap_page_sizes(void **state)
{
	(void)state;
	for (uint32_t page = 4096; page <= 65536; page <<= 1) {
		uint8_t *img = new_image();
		make_swap(img, page, "swappy");
		struct probe_result r;
		assert_int_equal(probe_buf(img, page, &r), 0);
		assert_int_equal(r.type, FS_SWAP);
		assert_string_equal(r.label, "swappy");
		assert_string_equal(r.uuid, TEST_UUID_TEXT);
		/* one byte short of the signature's end */
		assert_int_equal(probe_type(img, page - 1), FS_UNKNOWN);
		free(img);
	}
}

static void test_swap_versions(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	make_swap(img, 4096, "");
	put_be32(img + 1024, 1); /* made on a big-endian host */
	assert_int_equal(probe_type(img, 4096), FS_SWAP);
	put_le32(img + 1024, 2);
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	make_swap(img, 4096, "");
	memcpy(img + 4086, "SWAP-SPACE", 10); /* version 0: gone from Linux since 2.5 */
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	free(img);
}

static void test_vfat_layouts(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	struct probe_result r;

	make_fat16(img, "MY DISK    ");
	assert_int_equal(probe_buf(img, 4096, &r), 0);
	assert_int_equal(r.type, FS_VFAT);
	assert_string_equal(r.label, "MY DISK");
	assert_string_equal(r.uuid, "1234-ABCD");

	memcpy(img + 43, "NO NAME    ", 11);
	assert_int_equal(probe_buf(img, 4096, &r), 0);
	assert_string_equal(r.label, "");

	img[38] = 0x28; /* old extended BPB: serial only */
	memcpy(img + 43, "IGNORED    ", 11);
	assert_int_equal(probe_buf(img, 4096, &r), 0);
	assert_string_equal(r.label, "");
	assert_string_equal(r.uuid, "1234-ABCD");

	memset(img, 0, 512);
	make_fat32(img, "EFI        ");
	assert_int_equal(probe_buf(img, 4096, &r), 0);
	assert_int_equal(r.type, FS_VFAT);
	assert_string_equal(r.label, "EFI");
	assert_string_equal(r.uuid, "DEAD-BEEF");

	/* the FAT32 string in a FAT16 layout, a bad sector size, a missing 0x55AA: not vfat */
	put_le16(img + 22, 16);
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	memset(img, 0, 512);
	make_fat16(img, "X          ");
	put_le16(img + 11, 1000);
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	memset(img, 0, 512);
	make_fat16(img, "X          ");
	img[511] = 0;
	assert_int_equal(probe_type(img, 4096), FS_UNKNOWN);
	free(img);
}

/* An MBR (boot code, partition table, 0x55AA) is not a FAT boot sector. */
static void test_mbr_is_not_vfat(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	img[0] = 0x33; img[1] = 0xED; /* isohdpfx.bin starts like this */
	img[446] = 0x80; img[450] = 0x17;
	img[510] = 0x55; img[511] = 0xAA;
	assert_int_equal(probe_type(img, IMG_SIZE), FS_UNKNOWN);
	/* with an ISO 9660 primary descriptor: a hybrid ISO */
	make_iso_vd(img, 16, 1, "HYBRID");
	assert_int_equal(probe_type(img, IMG_SIZE), FS_ISO9660);
	free(img);
}

/* Which signature wins when an image carries two. */
static void test_check_order(void **state)
{
	(void)state;
	uint8_t *img = new_image();

	make_fat16(img, "FAT        "); /* a FAT boot sector ... */
	make_iso_vd(img, 16, 1, "ISO");  /* ... and an ISO descriptor: the ISO (an El Torito/EFI hybrid) */
	assert_int_equal(probe_type(img, IMG_SIZE), FS_ISO9660);

	memset(img, 0, IMG_SIZE);
	make_ext(img, 0x4, 0x2c2, 0, "ext"); /* ext with a leftover ISO descriptor, swap and btrfs signatures */
	make_iso_vd(img, 16, 1, "OLD");
	memcpy(img + 4086, "SWAPSPACE2", 10);
	make_btrfs(img, "old");
	assert_int_equal(probe_type(img, IMG_SIZE), FS_EXT4);
	free(img);
}

static void test_short_and_empty_files(void **state)
{
	(void)state;
	uint8_t *img = new_image();
	assert_int_equal(probe_type(img, 0), FS_UNKNOWN);
	assert_int_equal(probe_type(img, 1), FS_UNKNOWN);

	make_ext(img, 0, 0x2, 0, "short");
	assert_int_equal(probe_type(img, EXT_SB + 57), FS_UNKNOWN); /* magic, but not the whole superblock */
	assert_int_equal(probe_type(img, EXT_SB + 136), FS_EXT2);   /* everything we read */

	memset(img, 0, IMG_SIZE);
	make_btrfs(img, "b");
	assert_int_equal(probe_type(img, BTRFS_SB + 0x48), FS_UNKNOWN);
	assert_int_equal(probe_type(img, IMG_SIZE), FS_BTRFS);

	memset(img, 0, IMG_SIZE);
	make_fat16(img, "F          ");
	assert_int_equal(probe_type(img, 511), FS_UNKNOWN);
	assert_int_equal(probe_type(img, 512), FS_VFAT);

	memset(img, 0xff, IMG_SIZE);
	assert_int_equal(probe_type(img, IMG_SIZE), FS_UNKNOWN);
	free(img);
}

static void test_read_errors(void **state)
{
	(void)state;
	struct probe_result r;
	assert_int_equal(probe_fd(-1, &r), -EBADF);
	assert_int_equal(probe_path("/nonexistent/liveinit-probe-test", &r), -ENOENT);
	assert_int_equal(probe_path("/", &r), -EISDIR);
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(probe_fd(fd, &r), -EISDIR);
	assert_int_equal(r.type, FS_UNKNOWN);
	close(fd);
}

static void test_type_names(void **state)
{
	(void)state;
	const char *want[] = {"unknown", "iso9660", "squashfs", "ext2", "ext3", "ext4",
			      "xfs", "btrfs", "vfat", "swap", "exfat", "ntfs"};
	for (int t = FS_UNKNOWN; t <= FS_NTFS; t++)
		assert_string_equal(fs_type_name((enum fs_type)t), want[t]);
	assert_string_equal(fs_type_name((enum fs_type)(FS_NTFS + 1)), "unknown");
	assert_string_equal(fs_type_name((enum fs_type)-1), "unknown");
}

/* ---- mutation loop ---- */

#define MUTATIONS 2000

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) /* xorshift64: reproducible across runs */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Where the superblocks live: most mutations land there, the rest anywhere. */
static size_t mutation_offset(void)
{
	static const size_t hot[][2] = {{0, 4096}, {32768, 40960}, {65536, 69632}};
	if (rng() % 2)
		return (size_t)(rng() % IMG_SIZE);
	const size_t *w = hot[rng() % 3];
	return w[0] + (size_t)(rng() % (w[1] - w[0]));
}

static void assert_result_well_formed(const struct probe_result *r)
{
	assert_true((unsigned)r->type <= FS_NTFS);
	assert_non_null(memchr(r->label, '\0', sizeof(r->label)));
	assert_non_null(memchr(r->uuid, '\0', sizeof(r->uuid)));
	for (const char *p = r->label; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	for (const char *p = r->uuid; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	assert_false(r->label[0] != '\0' && r->label[strlen(r->label) - 1] == ' ');
}

/* Replace the contents of the temporary file fd with buf[0..len). */
static void rewrite(int fd, const uint8_t *buf, size_t len)
{
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
}

/* Mutate a few bytes (sometimes the length too), probe, check the result is well formed. */
static void mutate_and_probe(const uint8_t *base, size_t base_len)
{
	uint8_t *img = malloc(IMG_SIZE);
	assert_non_null(img);
	int fd = temp_fd_with(base, 0);
	for (int i = 0; i < MUTATIONS; i++) {
		memcpy(img, base, base_len);
		size_t len = base_len;
		unsigned flips = 1 + (unsigned)(rng() % 16);
		for (unsigned k = 0; k < flips; k++) {
			size_t off = mutation_offset() % base_len;
			img[off] = (rng() % 4 == 0) ? (uint8_t)(rng() % 2 ? 0x00 : 0xff) : (uint8_t)rng();
		}
		if (rng() % 10 == 0)
			len = (size_t)(rng() % (base_len + 1));
		rewrite(fd, img, len);
		struct probe_result r;
		memset(&r, 0x5a, sizeof(r));
		assert_int_equal(probe_fd(fd, &r), 0);
		assert_result_well_formed(&r);
	}
	close(fd);
	free(img);
}

static void test_mutations_of_crafted_images(void **state)
{
	(void)state;
	for (int kind = 0; kind < 9; kind++) {
		uint8_t *img = new_image();
		switch (kind) {
		case 0: make_ext(img, 0x4, 0x2c2, 0x46b, "ext"); break;
		case 1: make_iso_vd(img, 16, 0, NULL); make_iso_vd(img, 17, 1, "ISO"); make_iso_vd(img, 18, 0xff, NULL); break;
		case 2: make_squashfs(img); break;
		case 3: make_xfs(img, "xfs"); break;
		case 4: make_btrfs(img, "btrfs"); break;
		case 5: make_swap(img, 4096, "swap"); break;
		case 6: make_swap(img, 65536, "swap64k"); break;
		case 7: make_fat16(img, "FAT16      "); break;
		case 8: make_fat32(img, "FAT32      "); break;
		}
		struct probe_result r;
		assert_int_equal(probe_buf(img, IMG_SIZE, &r), 0);
		assert_int_not_equal(r.type, FS_UNKNOWN); /* the base image itself is recognised */
		mutate_and_probe(img, IMG_SIZE);
		free(img);
	}
}

/* PROBE_IMAGES=a.img:b.iso:... (set by tests/test_probe.py): the same loop over the first 128 KiB of real
 * images.  Without it this test reports itself skipped. */
static void test_mutations_of_real_images(void **state)
{
	(void)state;
	const char *list = getenv("PROBE_IMAGES");
	if (list == NULL || *list == '\0') {
		skip();
		return;
	}
	char *paths = strdup(list);
	assert_non_null(paths);
	int count = 0;
	for (char *save = NULL, *p = strtok_r(paths, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		uint8_t *img = new_image();
		int fd = open(p, O_RDONLY);
		if (fd < 0)
			fail_msg("open %s: %s", p, strerror(errno));
		ssize_t n = pread(fd, img, IMG_SIZE, 0);
		close(fd);
		assert_true(n > 0);
		struct probe_result r;
		assert_int_equal(probe_buf(img, (size_t)n, &r), 0);
		print_message("%s: %s, mutating %d times\n", p, fs_type_name(r.type), MUTATIONS);
		mutate_and_probe(img, (size_t)n);
		free(img);
		count++;
	}
	free(paths);
	assert_true(count > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ext_kinds),
		cmocka_unit_test(test_ext_insane_fields),
		cmocka_unit_test(test_label_sanitised),
		cmocka_unit_test(test_long_btrfs_label_truncated),
		cmocka_unit_test(test_zero_uuid_is_empty),
		cmocka_unit_test(test_xfs_rules),
		cmocka_unit_test(test_squashfs_rules),
		cmocka_unit_test(test_iso_descriptors),
		cmocka_unit_test(test_iso_blank_label),
		cmocka_unit_test(test_swap_page_sizes),
		cmocka_unit_test(test_swap_versions),
		cmocka_unit_test(test_vfat_layouts),
		cmocka_unit_test(test_mbr_is_not_vfat),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_short_and_empty_files),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_mutations_of_crafted_images),
		cmocka_unit_test(test_mutations_of_real_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
