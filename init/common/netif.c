#include "common/netif.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"

bool netif_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= NETIF_NAME_MAX || name[0] == '.')
		return false;
	for (const char *c = name; *c; c++)
		if (*c <= ' ' || *c >= 0x7f || *c == '/' || *c == ':')
			return false;
	return true;
}

static bool is_ether(const char *dir, const char *name)
{
	char path[PATH_MAX], type[16];
	if (snprintf(path, sizeof(path), "%s/%s/type", dir, name) >= (int)sizeof(path))
		return false;
	/* "1\n"; compared as text: strtol would pull 2 KiB of scanf machinery into dhcpc */
	return file_read_small(path, type, sizeof(type)) > 0 && (strcmp(type, "1\n") == 0 || strcmp(type, "1") == 0);
}

/* Sort by name (insertion: a handful of interfaces). */
static void add_sorted(char (*names)[NETIF_NAME_MAX], size_t count, const char *name)
{
	size_t i = count;
	for (; i > 0 && strcmp(names[i - 1], name) > 0; i--)
		memcpy(names[i], names[i - 1], NETIF_NAME_MAX);
	snprintf(names[i], NETIF_NAME_MAX, "%.15s", name);
}

/* getdents64 rather than opendir: opendir would pull malloc into dhcpc, which has none. */

size_t netif_list(const char *sysroot, bool ether_only, char (*names)[NETIF_NAME_MAX], size_t max)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/sys/class/net", sysroot);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t count = 0;
	char buf[4096] __attribute__((aligned(8)));
	long n;
	while (count < max && (n = getdents64(fd, (void *)buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && count < max;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(buf + off);
			off += de->d_reclen;
			if (!netif_name_ok(de->d_name) || strcmp(de->d_name, "lo") == 0)
				continue;
			if (ether_only && !is_ether(dir, de->d_name))
				continue;
			add_sorted(names, count++, de->d_name);
		}
	}
	close(fd);
	return count;
}
