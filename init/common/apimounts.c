#include "common/apimounts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "common/fileio.h"

const struct api_mount api_mounts[API_COUNT] = {
	[API_PROC] = { "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	[API_SYS] = { "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	[API_DEV] = { "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	[API_RUN] = { "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
};

int api_mount(const char *root, const struct api_mount *m, char *msg, size_t n)
{
	char target[PATH_MAX];
	if (snprintf(target, sizeof(target), "%s%s", root, m->target) >= (int)sizeof(target)) {
		snprintf(msg, n, "unable to mount %s on %s%s: %s", m->type, root, m->target, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	int r = mkdir_p(target, 0755);
	if (r < 0) {
		snprintf(msg, n, "unable to create mount point %s: %s", target, strerror(-r));
		return r;
	}
	if (mount(m->source, target, m->type, m->flags, m->data) < 0) {
		r = -errno;
		snprintf(msg, n, "unable to mount %s on %s: %s", m->type, target, strerror(-r));
		return r;
	}
	return 0;
}
