/* libFuzzer target: the superblock prober (common/probe.c) on arbitrary image bytes, read through a memfd
 * with pread exactly as from a block device.  The result's label and UUID are NUL-terminated printable text
 * and the type one of the enum.  Seeds: the first 72 KiB of real mkfs/mkswap/mksquashfs/xorriso images
 * (tests/fuzz/probe_seeds.py, the same builders as tests/test_probe.py). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/probe.h"

static int memfd = -1;

static void check_text(const char *s, size_t n)
{
	const char *end = memchr(s, 0, n);
	if (!end)
		abort();
	for (; s < end; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memfd < 0 && (memfd = memfd_create("probe", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(memfd, 0) < 0 || (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
		abort();
	struct probe_result r;
	memset(&r, 0xa5, sizeof(r));
	if (probe_fd(memfd, &r) < 0)
		return 0;
	if (r.type < FS_UNKNOWN || r.type > FS_NTFS) /* the last of the enum */
		abort();
	check_text(r.label, sizeof(r.label));
	check_text(r.uuid, sizeof(r.uuid));
	if (strcmp(fs_type_name(r.type), "unknown") == 0 && r.type != FS_UNKNOWN)
		abort();
	return 0;
}
