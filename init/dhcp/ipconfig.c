#include "dhcp/ipconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "dhcp/iface.h"
#include "dhcp/lease.h"
#include "dhcp/netlink.h"
#include "dhcp/packet.h"

#define NFIELDS 10

static bool is_word(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static const char *const off_words[] = { "off", "none", NULL };
static const char *const dyn_words[] = { "on", "any", "dhcp", "bootp", "rarp", "both", NULL };

/* An empty field is "not given"; anything else must be a dotted quad. */
static int parse_addr(const char *s, struct in_addr *a)
{
	a->s_addr = 0;
	if (!*s)
		return 0;
	return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

static bool hostname_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

int ipconfig_parse(const char *text, struct ipconfig *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(text, "ip=", 3) == 0)
		text += 3;
	char buf[512];
	if (strlen(text) >= sizeof(buf)) {
		*why = "too long";
		return -1;
	}
	strcpy(buf, text);
	if (is_word(buf, off_words)) {
		out->mode = IPCONFIG_OFF;
		return 0;
	}
	if (is_word(buf, dyn_words)) {
		out->mode = IPCONFIG_DHCP;
		return 0;
	}

	char *f[NFIELDS];
	int n = 0;
	for (char *p = buf; p; n++) {
		if (n == NFIELDS) {
			*why = "more than 10 fields";
			return -1;
		}
		f[n] = p;
		p = strchr(p, ':');
		if (p)
			*p++ = 0;
	}
	for (int i = n; i < NFIELDS; i++)
		f[i] = "";
	if (parse_addr(f[0], &out->client)) {
		*why = "client-ip is not an IPv4 address";
		return -1;
	}
	if (parse_addr(f[1], &out->server)) {
		*why = "server-ip is not an IPv4 address";
		return -1;
	}
	if (parse_addr(f[2], &out->gw)) {
		*why = "gw-ip is not an IPv4 address";
		return -1;
	}
	if (parse_addr(f[3], &out->mask) || (*f[3] && netmask_prefix(out->mask) < 1)) {
		*why = "netmask is not a contiguous IPv4 netmask";
		return -1;
	}
	if (strlen(f[4]) >= sizeof(out->hostname) || !hostname_ok(f[4])) {
		*why = "hostname is not a valid host name";
		return -1;
	}
	strcpy(out->hostname, f[4]);
	if (strlen(f[5]) >= sizeof(out->device) || strchr(f[5], '/')) {
		*why = "device is not an interface name";
		return -1;
	}
	strcpy(out->device, f[5]);
	bool dynamic = false;
	if (*f[6] && !is_word(f[6], off_words)) {
		if (!is_word(f[6], dyn_words)) {
			*why = "autoconf is not one of off, none, on, any, dhcp, bootp, rarp, both";
			return -1;
		}
		dynamic = true;
	}
	if (parse_addr(f[7], &out->dns[0]) || parse_addr(f[8], &out->dns[1])) {
		*why = "dns-ip is not an IPv4 address";
		return -1;
	}
	struct in_addr ntp;
	if (parse_addr(f[9], &ntp)) {
		*why = "ntp-ip is not an IPv4 address";
		return -1;
	}
	if (out->client.s_addr == 0) {
		if (!dynamic && *f[6]) {
			out->mode = IPCONFIG_OFF;   /* ip=:::::eth0:off -- nothing to configure */
			return 0;
		}
		out->mode = IPCONFIG_DHCP;
		return 0;
	}
	out->mode = IPCONFIG_STATIC;
	if (out->mask.s_addr == 0)
		out->mask = netmask_classful(out->client);
	return 0;
}

int ipconfig_apply(const struct ipconfig *cfg, const char *resolv_path, char *ifname_out, const char **step)
{
	struct iface ifc;
	int r;
	*step = "find the interface";
	if (cfg->device[0])
		r = iface_get(cfg->device, &ifc);
	else
		r = iface_first_ether(&ifc);
	if (cfg->device[0])
		snprintf(ifname_out, IFNAMSIZ, "%s", cfg->device);
	if (r)
		return r;
	snprintf(ifname_out, IFNAMSIZ, "%s", ifc.name);

	int nl = nl_open();
	*step = "open a netlink socket";
	if (nl < 0)
		return nl;
	*step = "bring the link up";
	r = nl_link_set(nl, ifc.index, true, 0);
	if (!r) {
		*step = "add the address";
		r = nl_addr(nl, true, ifc.index, cfg->client, netmask_prefix(cfg->mask), (struct in_addr){ 0 });
	}
	if (!r && cfg->gw.s_addr) {
		*step = "add the default route";
		bool onlink = (cfg->gw.s_addr & cfg->mask.s_addr) != (cfg->client.s_addr & cfg->mask.s_addr);
		r = nl_default_route(nl, true, ifc.index, cfg->gw, onlink);
	}
	close(nl);
	if (r)
		return r;
	if (cfg->hostname[0]) {
		*step = "set the hostname";
		if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
			return -errno;
	}
	if ((cfg->dns[0].s_addr || cfg->dns[1].s_addr) && resolv_path && resolv_path[0]) {
		struct dhcp_info info = { 0 };
		for (int i = 0; i < 2; i++)
			if (cfg->dns[i].s_addr)
				info.dns[info.ndns++] = cfg->dns[i];
		char text[256];
		size_t len = resolv_format(text, sizeof(text), ifc.name, &info);
		const char *why;
		r = file_write_atomic(resolv_path, text, len, &why);
		if (r) {
			*step = "write the resolv.conf file";
			return r;
		}
	}
	return 0;
}
