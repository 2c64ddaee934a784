/* libFuzzer target: merging our section into a user's /etc/fstab (stage2/fstab.c).  Whatever the user's
 * text holds (their own lines, broken or repeated BEGIN/END markers), the result has exactly one complete
 * section, and merging the result again changes nothing.  Seeds: tests/fuzz/fstab-seeds/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage2/fstab.h"

static size_t count(const char *text, const char *marker)
{
	size_t n = 0, len = strlen(marker);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, marker, len) == 0)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memchr(data, 0, size))
		return 0; /* read_file_text() hands over text; a NUL ends it */
	char *user = malloc(size + 1);
	if (!user)
		return 0;
	memcpy(user, data, size);
	user[size] = 0;
	struct fstab_dev devs[] = {
		{ .name = "sda1", .probe = { .type = FS_EXT4, .label = "data", .uuid = "0a1b2c3d-0000-4000-8000-000000000001" } },
		{ .name = "sda2", .probe = { .type = FS_SWAP } },
		{ .name = "sdb", .probe = { .type = FS_VFAT, .label = "STICK", .uuid = "1234-ABCD" }, .ro = true },
		{ .name = "sr0", .probe = { .type = FS_ISO9660, .label = "LIVEINIT" }, .use = USE_MOUNTED_RO },
		{ .name = "vda", .probe = { .type = FS_BTRFS }, .use = USE_BUSY },
	};
	struct fstab_scan scan = { .devs = devs, .count = sizeof(devs) / sizeof(devs[0]) };
	char *once = fstab_merge(user, &scan);
	if (once) {
		if (count(once, FSTAB_BEGIN) < 1 || count(once, FSTAB_END) < 1)
			abort();
		char *twice = fstab_merge(once, &scan);
		if (twice && strcmp(once, twice) != 0)
			abort();
		free(twice);
	}
	free(once);
	free(user);
	return 0;
}
