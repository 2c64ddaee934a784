#include "dhcp/iface.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int ifreq_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	if (strlen(name) >= IFNAMSIZ)
		return -ENODEV;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(ifr, 0, sizeof(*ifr));
	strcpy(ifr->ifr_name, name);
	int r = ioctl(fd, req, ifr) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int iface_get(const char *name, struct iface *out)
{
	memset(out, 0, sizeof(*out));
	if (strlen(name) >= IFNAMSIZ || name[0] == 0)
		return -ENODEV;
	strcpy(out->name, name);
	out->index = (int)if_nametoindex(name);
	if (out->index == 0)
		return -ENODEV;
	struct ifreq ifr;
	int r = ifreq_ioctl(name, SIOCGIFHWADDR, &ifr);
	if (r)
		return r;
	out->ether = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
	memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
	r = ifreq_ioctl(name, SIOCGIFMTU, &ifr);
	if (r)
		return r;
	out->mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

/* /proc/net/dev lists every interface of this network namespace, one "  name: counters" line each
 * (read directly: if_nameindex() would pull malloc into the static binary). */
int iface_list_ether(struct iface *out, int max)
{
	int fd = open("/proc/net/dev", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[16384];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	int count = 0;
	for (char *line = buf; line && *line && count < max;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		char *colon = strchr(line, ':');
		if (colon) {
			*colon = 0;
			while (*line == ' ')
				line++;
			struct iface f;
			if (iface_get(line, &f) == 0 && f.ether) {
				int i = count++;   /* keep the list sorted by index */
				for (; i > 0 && out[i - 1].index > f.index; i--)
					out[i] = out[i - 1];
				out[i] = f;
			}
		}
		line = nl;
	}
	return count;
}

int iface_first_ether(struct iface *out)
{
	struct iface all[32];
	int n = iface_list_ether(all, 32);
	if (n < 0)
		return n;
	if (n == 0)
		return -ENODEV;
	*out = all[0];
	return 0;
}

int iface_running(const char *name)
{
	struct ifreq ifr;
	int r = ifreq_ioctl(name, SIOCGIFFLAGS, &ifr);
	if (r)
		return r;
	return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}
