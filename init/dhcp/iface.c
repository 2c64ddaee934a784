#include "dhcp/iface.h"

#include <errno.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/netif.h"

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

/* The names come from common/netif.h (sysfs: `ip netns exec` mounts the namespace's own); the facts from
 * the ioctls above. */
int iface_list_ether(struct iface *out, int max)
{
	char names[64][NETIF_NAME_MAX];
	size_t n = netif_list("", true, names, 64);
	int count = 0;
	for (size_t k = 0; k < n && count < max; k++) {
		struct iface f;
		if (iface_get(names[k], &f) == 0 && f.ether) {
			int i = count++;   /* keep the list sorted by index */
			for (; i > 0 && out[i - 1].index > f.index; i--)
				out[i] = out[i - 1];
			out[i] = f;
		}
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

int iface_ipv4(const char *name, struct in_addr *addr)
{
	struct ifreq ifr;
	int r = ifreq_ioctl(name, SIOCGIFADDR, &ifr);
	if (r)
		return r;
	struct sockaddr_in sin;
	memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
	*addr = sin.sin_addr;
	return 0;
}
