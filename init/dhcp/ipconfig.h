/* The kernel's ip= parameter (Documentation/admin-guide/nfs/nfsroot.rst):
 *   ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0-ip>:<dns1-ip>:<ntp0-ip>
 * plus the bare forms ip=off|none and ip=dhcp|on|any|bootp|rarp|both.
 * With a client address the form is static (as the kernel does for one device); without one it asks for
 * DHCP, optionally on the named device only.  An empty netmask is the classful one, as in the kernel. */
#ifndef LIVEINIT_DHCP_IPCONFIG_H
#define LIVEINIT_DHCP_IPCONFIG_H

#include <net/if.h>
#include <netinet/in.h>

enum ipconfig_mode { IPCONFIG_DHCP = 0, IPCONFIG_OFF, IPCONFIG_STATIC };

struct ipconfig {
	enum ipconfig_mode mode;
	struct in_addr client, server, gw, mask, dns[2];
	char hostname[65];
	char device[IFNAMSIZ];         /* "" = the first Ethernet interface */
};

/* Parse the value of ip= (a leading "ip=" is accepted too).  Returns 0, or -1 with *why naming the
 * field that is wrong. */
int ipconfig_parse(const char *text, struct ipconfig *out, const char **why);

/* Configure a static ipconfig through rtnetlink: link up, address, default route (if gw), hostname (if
 * given), resolv.conf at resolv_path (if DNS servers given).  Returns 0, or -errno with *step saying what
 * failed (and the interface used in ifname_out, which must hold IFNAMSIZ). */
int ipconfig_apply(const struct ipconfig *cfg, const char *resolv_path, char *ifname_out, const char **step);

#endif
