#include "common/steptime.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"

int steptime_append(const char *name, int64_t start_us, int64_t end_us)
{
	char line[160];
	int64_t start_ms = start_us / 1000, dur_ms = end_us / 1000 - start_ms;
	int n = snprintf(line, sizeof line, "%s %" PRId64 " %" PRId64 "\n", name, start_ms, dur_ms);
	if (n < 0 || (size_t)n >= sizeof line)
		return -ENAMETOOLONG;
	log_debug("timing: %.*s", n - 1, line);
	int rc = mkdir_p("/run/liveinit", 0755);
	if (rc < 0)
		return rc;
	/* O_APPEND: one write(2) per line, so stage 1's background module loader and its main steps never
	 * interleave within a line. */
	int fd = open(STEPTIME_FILE, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, line, (size_t)n);
	rc = w == n ? 0 : w < 0 ? -errno : -EIO;
	close(fd);
	return rc;
}
