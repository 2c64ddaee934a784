#include "stage2/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mountinfo.h"

struct api_mount {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
};

static const struct api_mount early[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
};

static const struct api_mount rest[] = {
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666" },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
};

/* Without /proc nothing can be known to be mounted, so everything is. */
static bool mounted(const char *target)
{
	struct mount_table t;
	if (mountinfo_read("/proc/self/mountinfo", &t) < 0)
		return false;
	bool found = mountinfo_find_target(&t, target) != NULL;
	mountinfo_free(&t);
	return found;
}

static void mount_all(const struct api_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (mounted(m[i].target))
			continue;
		if (mkdir(m[i].target, 0755) < 0 && errno != EEXIST) {
			log_error("unable to create %s: %s", m[i].target, strerror(errno));
			continue;
		}
		if (mount(m[i].source, m[i].target, m[i].type, m[i].flags, m[i].data) < 0)
			log_error("unable to mount %s on %s: %s", m[i].type, m[i].target, strerror(errno));
	}
}

void mounts_early(void) { mount_all(early, sizeof(early) / sizeof(early[0])); }
void mounts_rest(void) { mount_all(rest, sizeof(rest) / sizeof(rest[0])); }

void mounts_root_rw(void)
{
	struct statvfs st;
	if (statvfs("/", &st) < 0) {
		log_error("unable to stat /: %s", strerror(errno));
		return;
	}
	if (!(st.f_flag & ST_RDONLY))
		return;
	if (mount(NULL, "/", NULL, MS_REMOUNT, NULL) < 0)
		log_error("unable to remount / read-write: %s", strerror(errno));
	else
		log_debug("remounted / read-write");
}

void console_fds_fix(void)
{
	bool missing = false;
	for (int fd = 0; fd <= 2; fd++)
		missing |= fcntl(fd, F_GETFD) < 0;
	if (!missing)
		return;
	int con = open("/dev/console", O_RDWR | O_NOCTTY);
	if (con < 0)
		con = open("/dev/null", O_RDWR);
	if (con < 0)
		return; /* nowhere to say it */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			dup2(con, fd);
	if (con > 2)
		close(con);
}
