#include "common/uevent.h"

#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int uevent_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	int size = 1 << 20;
	/* FORCE passes the rmem_max limit (we are root); without it the kernel's default (~200 KB) still holds a
	 * few hundred messages. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_groups = 1};
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static const char *value(const char *line, const char *key)
{
	size_t n = strlen(key);
	return !strncmp(line, key, n) && line[n] == '=' ? line + n + 1 : NULL;
}

int uevent_parse(const char *msg, size_t len, struct uevent *ev)
{
	if (len > UEVENT_MAX)
		len = UEVENT_MAX;
	memcpy(ev->buf, msg, len);
	ev->buf[len] = '\0';
	ev->action = ev->devpath = NULL;
	ev->subsystem = ev->devtype = ev->devname = ev->modalias = "";
	/* The header "ACTION@DEVPATH" first; udev's own messages (group 2) start with "libudev". */
	if (!memchr(ev->buf, '@', strnlen(ev->buf, len)))
		return -EINVAL;
	for (size_t at = strlen(ev->buf) + 1; at < len; at += strlen(ev->buf + at) + 1) {
		const char *line = ev->buf + at, *v;
		if ((v = value(line, "ACTION")))
			ev->action = v;
		else if ((v = value(line, "DEVPATH")))
			ev->devpath = v;
		else if ((v = value(line, "SUBSYSTEM")))
			ev->subsystem = v;
		else if ((v = value(line, "DEVTYPE")))
			ev->devtype = v;
		else if ((v = value(line, "DEVNAME")))
			ev->devname = v;
		else if ((v = value(line, "MODALIAS")))
			ev->modalias = v;
	}
	return ev->action && ev->devpath ? 0 : -EINVAL;
}

int uevent_read(int fd, struct uevent *ev)
{
	for (;;) {
		char msg[UEVENT_MAX];
		struct sockaddr_nl from = {0};
		struct iovec iov = {.iov_base = msg, .iov_len = sizeof msg};
		struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &mh, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		/* Only the kernel (port 0) speaks for the devices; anything else on the group is ignored. */
		if (from.nl_pid != 0 || uevent_parse(msg, (size_t)n, ev) < 0)
			continue;
		return 1;
	}
}
