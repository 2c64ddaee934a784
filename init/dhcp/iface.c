#include "dhcp/iface.h"

#include <errno.h>
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

int iface_first_ether(struct iface *out)
{
	struct if_nameindex *all = if_nameindex();
	if (!all)
		return -errno;
	int best = -ENODEV;
	for (struct if_nameindex *i = all; i->if_index; i++) {
		struct iface f;
		if (iface_get(i->if_name, &f) == 0 && f.ether && (best < 0 || f.index < out->index)) {
			*out = f;
			best = 0;
		}
	}
	if_freenameindex(all);
	return best;
}

int iface_running(const char *name)
{
	struct ifreq ifr;
	int r = ifreq_ioctl(name, SIOCGIFFLAGS, &ifr);
	if (r)
		return r;
	return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}
