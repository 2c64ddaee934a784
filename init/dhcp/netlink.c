#include "dhcp/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct nl_req {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	} u;
	char attrs[128];
};

int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void add_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send one request and wait for its acknowledgement; returns the kernel's error as -errno. */
static int transact(int nl, struct nl_req *r)
{
	static unsigned seq;   /* only distinguishes our own requests on this socket */
	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->h.nlmsg_seq = ++seq;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (sendto(nl, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	char buf[4096];
	for (;;) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error;   /* 0 is the ACK */
			}
		}
	}
}

int nl_link_set(int nl, int ifindex, bool up, unsigned mtu)
{
	struct nl_req r;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_NEWLINK;
	r.u.ifi.ifi_family = AF_UNSPEC;
	r.u.ifi.ifi_index = ifindex;
	r.u.ifi.ifi_change = IFF_UP;
	r.u.ifi.ifi_flags = up ? IFF_UP : 0;
	if (mtu > 0) {
		uint32_t m = mtu;
		add_attr(&r, IFLA_MTU, &m, sizeof(m));
	}
	return transact(nl, &r);
}

int nl_addr(int nl, bool add, int ifindex, struct in_addr addr, int prefix, struct in_addr brd)
{
	struct nl_req r;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.h.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	if (add)
		r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.u.ifa.ifa_family = AF_INET;
	r.u.ifa.ifa_prefixlen = (unsigned char)prefix;
	r.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	r.u.ifa.ifa_index = (unsigned)ifindex;
	add_attr(&r, IFA_LOCAL, &addr, 4);
	add_attr(&r, IFA_ADDRESS, &addr, 4);
	if (add && prefix < 31) {
		if (brd.s_addr == 0) {
			uint32_t host = prefix == 0 ? 0xffffffffu : (0xffffffffu >> prefix);
			brd.s_addr = addr.s_addr | htonl(host);
		}
		add_attr(&r, IFA_BROADCAST, &brd, 4);
	}
	return transact(nl, &r);
}

int nl_default_route(int nl, bool add, int ifindex, struct in_addr gw, bool onlink)
{
	struct nl_req r;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.h.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	if (add)
		r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.u.rt.rtm_family = AF_INET;
	r.u.rt.rtm_dst_len = 0;
	r.u.rt.rtm_table = RT_TABLE_MAIN;
	r.u.rt.rtm_protocol = RTPROT_DHCP;
	r.u.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	r.u.rt.rtm_type = RTN_UNICAST;
	if (onlink)
		r.u.rt.rtm_flags = RTNH_F_ONLINK;
	uint32_t oif = (uint32_t)ifindex, metric = NL_ROUTE_METRIC_BASE + (uint32_t)ifindex;
	add_attr(&r, RTA_GATEWAY, &gw, 4);
	add_attr(&r, RTA_OIF, &oif, 4);
	add_attr(&r, RTA_PRIORITY, &metric, 4);
	return transact(nl, &r);
}
