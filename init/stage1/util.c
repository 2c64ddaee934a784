#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

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
