/* Editing the new root before the switch (adapt.c, stage2root.c).  The root is an overlay whose upper is a
 * tmpfs, so every write here lands in the upper and the medium stays as it was.  Paths inside the root are
 * resolved as the root itself would see them: an absolute symlink in the root (merged /usr, /etc/alternatives)
 * points inside the root, never into the initramfs we are running from. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "stage1/stage1.h"

#define MAX_LINKS 40

/* Pop the first component of *rest into comp; false when none is left. */
static bool next_component(const char **rest, char *comp, size_t size)
{
	const char *p = *rest;
	while (*p == '/')
		p++;
	if (!*p)
		return false;
	size_t n = strcspn(p, "/");
	snprintf(comp, size, "%.*s", (int)(n < size ? n : size - 1), p);
	*rest = p + n;
	return true;
}

int root_resolve(const char *root, const char *path, char *out, size_t size)
{
	char cur[PATH_MAX] = "", rest[PATH_MAX], comp[NAME_MAX + 1];
	snprintf(rest, sizeof rest, "%s", path);
	const char *r = rest;
	int links = 0;
	while (next_component(&r, comp, sizeof comp)) {
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *slash = strrchr(cur, '/');
			if (slash)
				*slash = '\0';
			continue;
		}
		char rel[PATH_MAX], full[PATH_MAX];
		if (snprintf(rel, sizeof rel, "%s/%s", cur, comp) >= (int)sizeof rel ||
		    snprintf(full, sizeof full, "%s%s", root, rel) >= (int)sizeof full)
			return -ENAMETOOLONG;
		struct stat st;
		if (lstat(full, &st) < 0)
			return -errno;
		if (!S_ISLNK(st.st_mode)) {
			memcpy(cur, rel, sizeof cur);
			continue;
		}
		if (++links > MAX_LINKS)
			return -ELOOP;
		char target[PATH_MAX], next[PATH_MAX];
		ssize_t n = readlink(full, target, sizeof target - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (target[0] == '/')
			cur[0] = '\0';
		if (snprintf(next, sizeof next, "%s/%s", target, r) >= (int)sizeof next)
			return -ENAMETOOLONG;
		memcpy(rest, next, sizeof rest);
		r = rest;
	}
	if (snprintf(out, size, "%s", cur[0] ? cur : "/") >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

bool root_exists(const char *root, const char *path)
{
	char rel[PATH_MAX], full[PATH_MAX];
	if (root_resolve(root, path, rel, sizeof rel) < 0)
		return false;
	snprintf(full, sizeof full, "%s%s", root, rel);
	return access(full, F_OK) == 0;
}

int root_path(const char *root, const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	char dir[PATH_MAX], rel[PATH_MAX];
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	int rc = root_resolve(root, dir[0] ? dir : "/", rel, sizeof rel);
	if (rc < 0)
		return rc;
	if (snprintf(out, size, "%s%s/%s", root, strcmp(rel, "/") ? rel : "", slash + 1) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* Parent directories that are missing are made (0755) inside the root, each at its resolved place. */
static int root_target(const char *root, const char *path, char *out, size_t size, struct s1_error *err)
{
	const char *slash = strrchr(path, '/');
	for (const char *p = path + 1; slash && p <= slash; p++) {
		if (*p != '/')
			continue;
		char dir[PATH_MAX], full[PATH_MAX];
		snprintf(dir, sizeof dir, "%.*s", (int)(p - path), path);
		if (root_exists(root, dir))
			continue;
		int rc = root_path(root, dir, full, sizeof full);
		if (rc < 0 || mkdir(full, 0755) < 0)
			return s1_fail(err, "unable to create %s in the new root: %s", dir, strerror(rc < 0 ? -rc : errno));
	}
	int rc = root_path(root, path, out, size);
	if (rc < 0)
		return s1_fail(err, "unable to find %s in the new root: %s", path, strerror(-rc));
	return 0;
}

int root_write(const char *root, const char *path, const char *text, struct s1_error *err)
{
	char full[PATH_MAX], rel[PATH_MAX];
	if (root_target(root, path, full, sizeof full, err) < 0)
		return -1;
	/* An existing file is written where its links lead inside the root: file_write_atomic would follow an
	 * absolute link on the initramfs' side. */
	if (root_resolve(root, path, rel, sizeof rel) == 0)
		snprintf(full, sizeof full, "%s%s", root, rel);
	const char *step;
	int r = file_write_atomic(full, text, strlen(text), &step);
	if (r < 0)
		return s1_fail(err, "unable to write %s in the new root (%s): %s", path, step, strerror(-r));
	return 0;
}

int root_symlink(const char *root, const char *path, const char *target, struct s1_error *err)
{
	char full[PATH_MAX];
	if (root_target(root, path, full, sizeof full, err) < 0)
		return -1;
	if (unlink(full) < 0 && errno != ENOENT)
		return s1_fail(err, "unable to remove %s in the new root: %s", path, strerror(errno));
	if (symlink(target, full) < 0)
		return s1_fail(err, "unable to link %s to %s in the new root: %s", path, target, strerror(errno));
	return 0;
}

void adapt_note(struct adapt_log *log, const char *fmt, ...)
{
	if (log->n >= ADAPT_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(log->line[log->n++], sizeof log->line[0], fmt, ap);
	va_end(ap);
}
