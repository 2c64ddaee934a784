#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "stage1/stage1.h"

/* The kernel opens /dev/console for init only if the initramfs has that node; once devtmpfs is up we
 * reopen it ourselves so messages and the rescue shell always reach the console. */
static void console_stdio(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i); /* dup2 clears O_CLOEXEC on the copies */
	if (fd > 2)
		close(fd);
}

int early_mounts(struct s1_error *err)
{
	static const struct {
		const char *src, *target, *type;
		unsigned long flags;
		const char *data;
	} mounts[] = {
		{"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
		{"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
		{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
		{"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
	};
	for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
		if (mount_fs(mounts[i].src, mounts[i].target, mounts[i].type, mounts[i].flags, mounts[i].data,
			     err) < 0)
			return -1;
	}
	console_stdio();
	return 0;
}
