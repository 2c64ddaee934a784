/* Facts about a network interface: index, hardware address, type, MTU, carrier (ioctl on a datagram
 * socket; changes go through netlink.h). */
#ifndef LIVEINIT_DHCP_IFACE_H
#define LIVEINIT_DHCP_IFACE_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct iface {
	char name[IFNAMSIZ];
	int index;
	uint8_t mac[6];
	bool ether;           /* ARPHRD_ETHER: eth0, vec0, veth, tap... all alike */
	unsigned mtu;
};

/* Look an interface up by name.  Returns 0, -ENODEV, or -errno from the ioctl. */
int iface_get(const char *name, struct iface *out);

/* Up to max Ethernet interfaces, sorted by index.  Returns the count. */
int iface_list_ether(struct iface *out, int max);

/* The Ethernet interface with the lowest index (what the kernel's ip= uses when no device is named).
 * Returns 0, or -ENODEV when there is none. */
int iface_first_ether(struct iface *out);

/* The interface's (primary) IPv4 address.  Returns 0, or -errno (-EADDRNOTAVAIL when it has none). */
int iface_ipv4(const char *name, struct in_addr *addr);

/* Is the link up with carrier (IFF_RUNNING)?  1, 0, or -errno. */
int iface_running(const char *name);

#endif
