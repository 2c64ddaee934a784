#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 8

ssize_t file_read_small(const char *path, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t used = 0;
	while (used < size - 1) {
		ssize_t n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	return (ssize_t)used;
}

/* Follow path while it is a symlink (systemd-resolved makes /etc/resolv.conf one): the file to write.  A
 * relative link is relative to the directory holding it.  A dangling link is fine: its target gets created. */
static int resolve_links(const char *path, char *out, size_t n)
{
	if (snprintf(out, n, "%s", path) >= (int)n)
		return -ENAMETOOLONG;
	for (int hops = 0;; hops++) {
		char link[PATH_MAX];
		ssize_t len = readlink(out, link, sizeof(link) - 1);
		if (len < 0)
			return errno == EINVAL || errno == ENOENT ? 0 : -errno; /* not a link, or not there yet */
		if (hops == MAX_LINKS)
			return -ELOOP;
		link[len] = '\0';
		char *slash = strrchr(out, '/');
		if (link[0] != '/' && slash) {
			size_t dirlen = (size_t)(slash + 1 - out);
			if (dirlen + (size_t)len >= n)
				return -ENAMETOOLONG;
			memcpy(slash + 1, link, (size_t)len + 1);
		} else if (snprintf(out, n, "%s", link) >= (int)n) {
			return -ENAMETOOLONG;
		}
	}
}

static int write_all(int fd, const char *data, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Write and fsync an open file; close it.  *step names the failed part. */
static int fill(int fd, const char *data, size_t len, const char **step)
{
	int r = write_all(fd, data, len);
	if (r)
		*step = "write";
	else if (fsync(fd) < 0) {
		r = -errno;
		*step = "fsync";
	}
	if (close(fd) < 0 && !r) {
		r = -errno;
		*step = "write";
	}
	return r;
}

/* The rename itself must reach the disk too; best effort, the new text is already visible. */
static void fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* A mount point cannot be renamed over (EBUSY): truncate and write it where it is. */
static int write_in_place(const char *target, const char *data, size_t len, const char **step)
{
	*step = "write in place";
	int fd = open(target, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	const char *ignored;
	return fill(fd, data, len, &ignored);
}

int file_write_atomic(const char *path, const char *data, size_t len, const char **step)
{
	const char *dummy;
	if (!step)
		step = &dummy;
	char target[PATH_MAX], tmp[PATH_MAX + 8];
	int r = resolve_links(path, target, sizeof(target));
	if (r) {
		*step = "resolve";
		return r;
	}
	*step = "create";
	if (snprintf(tmp, sizeof(tmp), "%s.new", target) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, 0644);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) /* left by a crash; unlink removes a link, not its target */
		fd = open(tmp, flags, 0644);
	if (fd < 0)
		return -errno;
	r = fill(fd, data, len, step);
	if (!r && rename(tmp, target) < 0) {
		r = -errno;
		*step = "rename";
	}
	if (r == -EBUSY) {
		unlink(tmp);
		return write_in_place(target, data, len, step);
	}
	if (r) {
		unlink(tmp);
		return r;
	}
	fsync_dir_of(target);
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	if (!buf[0])
		return -ENOENT;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		if (!c)
			return 0;
		*p = c;
	}
}
