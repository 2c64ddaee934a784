#include "common/modload.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int modload_file(const char *path, unsigned flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	const char *params = flags & MODLOAD_ASYNC_PROBE ? "async_probe" : "";
	long rc = syscall(SYS_finit_module, fd, params, 0);
	int err = rc < 0 ? errno : 0;
	close(fd);
	return -err;
}

enum modload_outcome modload_outcome(int rc)
{
	switch (rc) {
	case 0:
		return MODLOAD_LOADED;
	case -EEXIST:
		return MODLOAD_ALREADY;
	case -ENODEV:
	case -ENXIO:
		return MODLOAD_NO_DEVICE;
	default:
		return MODLOAD_FAILED;
	}
}
