/* Loop devices: an image file (squashfs, ISO, persistence image) as a block device. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "stage1/stage1.h"

/* Attach path to a free loop device (read-only unless writable); the device name goes to dev.  Returns the
 * open loop fd: with LO_FLAGS_AUTOCLEAR the device detaches at its last close, so the caller closes it only
 * once the filesystem on it is mounted (and then the loop goes away by itself when that is unmounted). */
int loop_attach(const char *path, bool writable, char *dev, size_t size, struct s1_error *err)
{
	if (module_need_loop(err) < 0)
		return -1;
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return s1_fail(err, "unable to open /dev/loop-control: %s", strerror(errno));
	int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	int saved = errno;
	close(ctl);
	if (nr < 0)
		return s1_fail(err, "unable to get a free loop device: %s", strerror(saved));
	snprintf(dev, size, "/dev/loop%d", nr);
	int mode = writable ? O_RDWR : O_RDONLY;
	int file = open(path, mode | O_CLOEXEC);
	if (file < 0)
		return s1_fail(err, "unable to open %s: %s", path, strerror(errno));
	int loop = -1;
	for (int i = 0; i < 1000 && (loop = open(dev, mode | O_CLOEXEC)) < 0 && errno == ENOENT; i++)
		usleep(1000); /* devtmpfs creates the node just after the ioctl */
	if (loop < 0) {
		saved = errno;
		close(file);
		return s1_fail(err, "unable to open %s: %s", dev, strerror(saved));
	}
	unsigned flags = LO_FLAGS_AUTOCLEAR | (writable ? 0 : LO_FLAGS_READ_ONLY);
	struct loop_config lc = {.fd = (unsigned)file, .info = {.lo_flags = flags}};
	/* The kernel shows the backing file's name (truncated) in losetup-style listings. */
	strncpy((char *)lc.info.lo_file_name, path, sizeof lc.info.lo_file_name - 1);
	int rc = ioctl(loop, LOOP_CONFIGURE, &lc);
	if (rc < 0 && errno == EINVAL) { /* kernels before 5.8 */
		rc = ioctl(loop, LOOP_SET_FD, file);
		if (rc == 0)
			rc = ioctl(loop, LOOP_SET_STATUS64, &lc.info);
	}
	saved = errno;
	close(file);
	if (rc < 0) {
		close(loop);
		return s1_fail(err, "unable to attach %s to %s: %s", path, dev, strerror(saved));
	}
	return loop;
}
