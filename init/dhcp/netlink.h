/* Interface configuration through rtnetlink: link up/down and MTU, IPv4 addresses, the default route.
 * Every function returns 0 or -errno (the kernel's answer to that one request); the caller prints. */
#ifndef LIVEINIT_DHCP_NETLINK_H
#define LIVEINIT_DHCP_NETLINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* A NETLINK_ROUTE socket, or -errno. */
int nl_open(void);

/* Set the link up or down; mtu > 0 also sets the MTU in the same request. */
int nl_link_set(int nl, int ifindex, bool up, unsigned mtu);

/* Add (replace) or delete addr/prefix on the interface; brd 0 = derived from addr and prefix. */
int nl_addr(int nl, bool add, int ifindex, struct in_addr addr, int prefix, struct in_addr brd);

/* Add (replace) or delete the default route through gw on ifindex.  Each interface gets its own metric
 * (NL_ROUTE_METRIC_BASE + ifindex), so several DHCP interfaces do not fight over one route and the first
 * interface wins.  A gateway outside the subnet is added "onlink". */
#define NL_ROUTE_METRIC_BASE 200
int nl_default_route(int nl, bool add, int ifindex, struct in_addr gw, bool onlink);

#endif
