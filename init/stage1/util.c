#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "stage1/stage1.h"

int s1_fail(struct s1_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int mount_fs(const char *src, const char *target, const char *type, unsigned long flags, const char *data,
	     struct s1_error *err)
{
	int r = mkdir_p(target, 0755);
	if (r < 0)
		return s1_fail(err, "unable to create mount point %s: %s", target, strerror(-r));
	if (mount(src, target, type, flags, data) < 0)
		return s1_fail(err, "unable to mount %s on %s (%s): %s", src, target, type ? type : "move",
			       strerror(errno));
	return 0;
}

int copy_file_progress(const char *src, const char *dst, unsigned mode, copy_progress_fn *progress, void *ctx,
		       struct s1_error *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return s1_fail(err, "unable to open %s: %s", src, strerror(errno));
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		int saved = errno;
		close(in);
		return s1_fail(err, "unable to create %s: %s", dst, strerror(saved));
	}
	struct stat st;
	int rc = fstat(in, &st);
	uint64_t total = rc == 0 ? (uint64_t)st.st_size : 0;
	for (uint64_t done = 0; rc == 0 && done < total;) {
		size_t want = total - done < COPY_CHUNK ? (size_t)(total - done) : COPY_CHUNK;
		ssize_t n = sendfile(out, in, NULL, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			if (n == 0)
				errno = EIO; /* the file shrank under us: a medium gone bad */
		} else {
			done += (uint64_t)n;
			if (progress)
				progress(ctx, done, total);
		}
	}
	int saved = errno;
	close(in);
	if (close(out) < 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc < 0)
		return s1_fail(err, "unable to copy %s to %s: %s", src, dst, strerror(saved));
	return 0;
}

int copy_file(const char *src, const char *dst, unsigned mode, struct s1_error *err)
{
	return copy_file_progress(src, dst, mode, NULL, NULL, err);
}
