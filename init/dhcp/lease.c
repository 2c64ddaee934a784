#include "dhcp/lease.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct out {
	char *buf;
	size_t cap, len;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	if (o->len + 1 >= o->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap - 1;
}

static void out_addr(struct out *o, const char *key, struct in_addr a)
{
	char s[INET_ADDRSTRLEN];
	if (a.s_addr)
		outf(o, "%s=%s\n", key, inet_ntop(AF_INET, &a, s, sizeof(s)));
}

size_t lease_format(char *buf, size_t cap, const struct lease_record *l)
{
	struct out o = { buf, cap, 0 };
	if (cap)
		buf[0] = 0;
	outf(&o, "interface=%s\nstate=%s\n", l->iface, l->state);
	out_addr(&o, "address", l->addr);
	if (l->mask.s_addr)
		outf(&o, "prefix=%d\n", netmask_prefix(l->mask));
	out_addr(&o, "netmask", l->mask);
	out_addr(&o, "server", l->server);
	const struct dhcp_info *i = l->info;
	if (i) {
		out_addr(&o, "router", i->router);
		out_addr(&o, "broadcast", i->broadcast);
		for (int k = 0; k < i->ndns; k++)
			out_addr(&o, "dns", i->dns[k]);
		if (i->domain[0])
			outf(&o, "domain=%s\n", i->domain);
		if (i->search[0])
			outf(&o, "search=%s\n", i->search);
		if (i->hostname[0])
			outf(&o, "hostname=%s\n", i->hostname);
		if (i->mtu)
			outf(&o, "mtu=%u\n", i->mtu);
	}
	if (l->obtained) {
		outf(&o, "obtained=%lld\n", (long long)l->obtained);
		if (l->lease == DHCP_LEASE_INFINITE) {
			outf(&o, "lease_seconds=infinite\n");
		} else if (l->lease) {
			outf(&o, "lease_seconds=%u\nrenew=%lld\nrebind=%lld\nexpires=%lld\n", l->lease,
			     (long long)l->obtained + l->t1, (long long)l->obtained + l->t2,
			     (long long)l->obtained + l->lease);
		}
	}
	return o.len;
}

size_t resolv_format(char *buf, size_t cap, const char *iface, const struct dhcp_info *info)
{
	struct out o = { buf, cap, 0 };
	if (cap)
		buf[0] = 0;
	if (info->ndns == 0)
		return 0;
	outf(&o, "# written by dhcpc for %s\n", iface);
	/* Option 119 is the search list proper; option 15 is the host's own domain. */
	if (info->search[0])
		outf(&o, "search %s\n", info->search);
	else if (info->domain[0])
		outf(&o, "search %s\n", info->domain);
	for (int k = 0; k < info->ndns; k++) {
		char s[INET_ADDRSTRLEN];
		outf(&o, "nameserver %s\n", inet_ntop(AF_INET, &info->dns[k], s, sizeof(s)));
	}
	return o.len;
}

int lease_path(char *buf, size_t cap, const char *dir, const char *iface, const char *suffix)
{
	int n = snprintf(buf, cap, "%s/%s.%s", dir, iface, suffix);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
