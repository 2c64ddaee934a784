#include "stage2/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/apimounts.h"
#include "common/log.h"
#include "common/mountinfo.h"

/* /proc, /sys and /dev first (common/apimounts.h); then what only a full system needs. */
static const struct api_mount *const early[] = {
	&api_mounts[API_PROC], &api_mounts[API_SYS], &api_mounts[API_DEV],
};

static const struct api_mount devpts = { "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
					 "gid=5,mode=620,ptmxmode=666" };
static const struct api_mount shm = { "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" };
static const struct api_mount tmp = { "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" };
static const struct api_mount *const rest[] = { &devpts, &shm, &api_mounts[API_RUN], &tmp };

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

static void mount_all(const struct api_mount *const *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char msg[320];
		if (!mounted(m[i]->target) && api_mount("", m[i], msg, sizeof(msg)) < 0)
			log_error("%s", msg);
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
