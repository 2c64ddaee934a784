#include "dhcp/lease.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* Seconds or a Unix time: decimal digits only. */
static bool parse_u64(const char *v, unsigned long long *out)
{
	if (!*v)
		return false;
	unsigned long long n = 0;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || n > 0xffffffffffffull)
			return false;
		n = n * 10 + (unsigned)(*v - '0');
	}
	*out = n;
	return true;
}

static void parse_pair(struct lease_file *l, const char *k, const char *v)
{
	struct dhcp_info *i = &l->info;
	unsigned long long n;
	if (!strcmp(k, "state"))
		snprintf(l->state, sizeof(l->state), "%s", v);
	else if (!strcmp(k, "address"))
		inet_pton(AF_INET, v, &l->addr);
	else if (!strcmp(k, "netmask"))
		inet_pton(AF_INET, v, &l->mask);
	else if (!strcmp(k, "server"))
		inet_pton(AF_INET, v, &l->server);
	else if (!strcmp(k, "router"))
		inet_pton(AF_INET, v, &i->router);
	else if (!strcmp(k, "broadcast"))
		inet_pton(AF_INET, v, &i->broadcast);
	else if (!strcmp(k, "dns") && i->ndns < DHCP_MAX_DNS && inet_pton(AF_INET, v, &i->dns[i->ndns]) == 1)
		i->ndns++;
	else if (!strcmp(k, "domain"))
		snprintf(i->domain, sizeof(i->domain), "%s", v);
	else if (!strcmp(k, "search"))
		snprintf(i->search, sizeof(i->search), "%s", v);
	else if (!strcmp(k, "hostname"))
		snprintf(i->hostname, sizeof(i->hostname), "%s", v);
	else if (!strcmp(k, "mtu") && parse_u64(v, &n) && n <= 0xffff)
		i->mtu = (uint16_t)n;
	else if (!strcmp(k, "obtained") && parse_u64(v, &n))
		l->obtained = (time_t)n;
	else if (!strcmp(k, "lease_seconds"))
		l->lease = !strcmp(v, "infinite") ? DHCP_LEASE_INFINITE : parse_u64(v, &n) && n < 0xffffffffu ? (uint32_t)n : 0;
	else if (!strcmp(k, "renew") && parse_u64(v, &n))
		l->t1 = (uint32_t)(n - (unsigned long long)l->obtained);
	else if (!strcmp(k, "rebind") && parse_u64(v, &n))
		l->t2 = (uint32_t)(n - (unsigned long long)l->obtained);
}

int lease_parse(const char *text, struct lease_file *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	while (*text) {
		const char *end = strchr(text, '\n');
		size_t len = end ? (size_t)(end - text) : strlen(text);
		char line[300];
		if (len < sizeof(line)) {
			memcpy(line, text, len);
			line[len] = 0;
			char *eq = strchr(line, '=');
			if (eq) {
				*eq = 0;
				parse_pair(out, line, eq + 1);
			}
		}
		text += len + (end ? 1 : 0);
	}
	/* renew/rebind come after obtained in lease_format's order; a reordered file gets checked here */
	if (out->lease != DHCP_LEASE_INFINITE && (out->t1 > out->lease || out->t2 > out->lease || out->t1 > out->t2))
		out->t1 = out->t2 = 0;
	if (!out->state[0]) {
		*why = "no state= line";
		return -1;
	}
	if (!out->addr.s_addr) {
		*why = "no address= line";
		return -1;
	}
	return 0;
}
