#include "dhcp/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "dhcp/arp.h"
#include "dhcp/iface.h"
#include "dhcp/lease.h"
#include "dhcp/netlink.h"
#include "dhcp/packet.h"
#include "dhcp/sock.h"
#include "dhcp/timing.h"

/* RFC 2131 figure 5, plus PROBING (ACK received, waiting out the ARP conflict window; RFC 2131 section
 * 4.4.1 says to check the address before using it and DECLINE it if in use). */
enum state { ST_INIT, ST_SELECTING, ST_REQUESTING, ST_PROBING, ST_BOUND, ST_RENEWING, ST_REBINDING };

#define SEC 1000LL
#define NEVER INT64_MAX
#define CARRIER_WAIT (3 * SEC)       /* how long to wait for carrier before the first DISCOVER anyway */
#define REQUEST_TRIES 4              /* REQUESTs without an answer before starting over */
#define DECLINE_WAIT (10 * SEC)      /* RFC 2131 3.1.5: at least ten seconds after a DECLINE */

struct client {
	const struct client_opts *o;
	struct iface ifc;
	unsigned orig_mtu;
	int nl, raw, udp, arp;
	uint64_t rng;

	enum state st;
	uint32_t xid;
	int tries;
	int64_t now, next, started, link_up_at, request_sent;
	int64_t probe_until;
	bool conflict;
	uint8_t conflict_mac[6];
	struct dhcp_info offer;     /* the chosen OFFER, then its ACK while the address is probed (REQUESTING,
				     * PROBING); never read once bound */

	bool configured;            /* the address below is on the interface */
	struct dhcp_info lease;     /* the bound lease: the last ACK configured, a renewal's ACK replaces it */
	struct in_addr addr, mask, server;
	int64_t t1, t2, expiry;     /* absolute, NEVER for an infinite lease */
	time_t obtained;
	uint32_t lease_s, t1_s, t2_s;
	char lease_file[512];
};

/* CLOCK_BOOTTIME: keeps counting across suspend, as the lease does. */
static int64_t now_ms(void) { return boottime_ms(); }

static uint32_t rnd(struct client *c)
{
	c->rng ^= c->rng << 13;   /* xorshift64: jitter and xids need spread, not secrecy */
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return (uint32_t)(c->rng >> 32);
}

static void seed(struct client *c)
{
	uint64_t s = 0;
	/* Early in boot the pool may not be ready; never block for it, mix in what differs per host. */
	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
	}
	for (int i = 0; i < 6; i++)
		s ^= (uint64_t)c->ifc.mac[i] << (8 * i);
	c->rng = s ? s : 0x9e3779b97f4a7c15ull;
}

static void say(const struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct client *c, const char *fmt, ...)
{
	if (c->o->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("dhcpc: %s: ", c->ifc.name);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static const char *ip(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static int64_t backoff(struct client *c, int tries)
{
	return dhcp_backoff_ms(tries, rnd(c));
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int open_raw(struct client *c)
{
	if (c->raw >= 0)
		return 0;
	int fd = raw_open(c->ifc.index);
	if (fd < 0) {
		log_error("dhcpc: %s: unable to open a packet socket: %s", c->ifc.name, strerror(-fd));
		return fd;
	}
	c->raw = fd;
	return 0;
}

static int open_udp(struct client *c)
{
	if (c->udp >= 0)
		return 0;
	int fd = udp_open(c->ifc.name);
	if (fd < 0) {
		log_error("dhcpc: %s: unable to open UDP port 68: %s", c->ifc.name, strerror(-fd));
		return fd;
	}
	c->udp = fd;
	return 0;
}

/* ---- sending ---- */

static void send_msg(struct client *c, uint8_t type, bool unicast_server)
{
	struct dhcp_request rq = { .type = type, .xid = c->xid, .hostname = c->o->hostname };
	int64_t secs = (c->now - c->started) / SEC;
	rq.secs = (uint16_t)(secs > 0xffff ? 0xffff : secs);
	memcpy(rq.mac, c->ifc.mac, 6);
	switch (c->st) {
	case ST_SELECTING:
		break;
	case ST_REQUESTING:
	case ST_PROBING:   /* DECLINE */
		rq.requested = c->offer.yiaddr;
		rq.server_id = c->offer.server_id;
		break;
	default:           /* RENEWING, REBINDING, RELEASE: we own the address */
		rq.ciaddr = c->addr;
		if (type == DHCPRELEASE)
			rq.server_id = c->server;
		break;
	}
	uint8_t buf[DHCP_MAX_MSG];
	size_t len = dhcp_build(buf, sizeof(buf), &rq);
	int r;
	if (c->configured && c->udp >= 0)
		r = udp_send(c->udp, unicast_server ? c->server : (struct in_addr){ INADDR_BROADCAST }, buf, len);
	else
		r = c->raw >= 0 ? raw_send(c->raw, c->ifc.index, buf, len) : -EBADF;
	if (r < 0)   /* a lost packet is what retransmission is for; say so only in debug */
		log_debug("dhcpc: %s: unable to send a DHCP message (type %u): %s", c->ifc.name, type, strerror(-r));
}

/* ---- configuration ---- */

static void write_lease(struct client *c, const char *state)
{
	struct lease_record l = { .iface = c->ifc.name, .state = state, .addr = c->addr, .mask = c->mask,
				  .server = c->server, .info = &c->lease, .obtained = c->obtained,
				  .lease = c->lease_s, .t1 = c->t1_s, .t2 = c->t2_s };
	char text[2048];
	size_t len = lease_format(text, sizeof(text), &l);
	const char *step;
	int r = file_write_atomic(c->lease_file, text, len, &step);
	if (r)
		log_error("dhcpc: %s: unable to %s %s: %s", c->ifc.name, step, c->lease_file, strerror(-r));
}

static void write_resolv(struct client *c)
{
	char text[1024];
	size_t len = resolv_format(text, sizeof(text), c->ifc.name, &c->lease);
	if (len == 0 || !c->o->resolv_conf || !c->o->resolv_conf[0])
		return;
	const char *step;
	int r = file_write_atomic(c->o->resolv_conf, text, len, &step);
	if (r)
		log_error("dhcpc: %s: unable to %s %s: %s", c->ifc.name, step, c->o->resolv_conf, strerror(-r));
}

static bool on_subnet(struct in_addr a, struct in_addr b, struct in_addr mask)
{
	return (a.s_addr & mask.s_addr) == (b.s_addr & mask.s_addr);
}

/* Take the address off the interface (and with it the routes through it), restore the MTU. */
static void unconfigure(struct client *c, const char *state)
{
	char a[INET_ADDRSTRLEN];
	if (!c->configured)
		return;
	int r;
	if (c->lease.router.s_addr) {
		r = nl_default_route(c->nl, false, c->ifc.index, c->lease.router, false);
		if (r && r != -ESRCH)
			log_error("dhcpc: %s: unable to delete the default route: %s", c->ifc.name, strerror(-r));
	}
	r = nl_addr(c->nl, false, c->ifc.index, c->addr, netmask_prefix(c->mask), (struct in_addr){ 0 });
	if (r && r != -EADDRNOTAVAIL)
		log_error("dhcpc: %s: unable to delete address %s: %s", c->ifc.name, ip(c->addr, a), strerror(-r));
	if (c->lease.mtu && c->orig_mtu && c->lease.mtu != c->orig_mtu) {
		r = nl_link_set(c->nl, c->ifc.index, true, c->orig_mtu);
		if (r)
			log_error("dhcpc: %s: unable to restore MTU %u: %s", c->ifc.name, c->orig_mtu, strerror(-r));
	}
	c->configured = false;
	write_lease(c, state);
}

/* Put the ACKed lease on the interface.  Returns 0 or -errno (already reported). */
static int configure(struct client *c, const struct dhcp_info *ack)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	struct in_addr mask = ack->mask.s_addr ? ack->mask : netmask_classful(ack->yiaddr);
	int prefix = netmask_prefix(mask), r;
	if (c->configured && (c->addr.s_addr != ack->yiaddr.s_addr || c->mask.s_addr != mask.s_addr))
		unconfigure(c, "changed");
	if (ack->mtu && ack->mtu != c->ifc.mtu) {
		r = nl_link_set(c->nl, c->ifc.index, true, ack->mtu);
		if (r)   /* not fatal: the address still works at the old MTU */
			log_error("dhcpc: %s: unable to set MTU %u: %s", c->ifc.name, ack->mtu, strerror(-r));
		else
			c->ifc.mtu = ack->mtu;
	}
	r = nl_addr(c->nl, true, c->ifc.index, ack->yiaddr, prefix, ack->broadcast);
	if (r) {
		log_error("dhcpc: %s: unable to add address %s/%d: %s", c->ifc.name, ip(ack->yiaddr, a), prefix,
			  strerror(-r));
		return r;
	}
	c->configured = true;
	c->addr = ack->yiaddr;
	c->mask = mask;
	if (c->lease.router.s_addr && c->lease.router.s_addr != ack->router.s_addr)
		nl_default_route(c->nl, false, c->ifc.index, c->lease.router, false);
	if (ack->router.s_addr) {
		r = nl_default_route(c->nl, true, c->ifc.index, ack->router,
				     !on_subnet(ack->router, ack->yiaddr, mask));
		if (r)
			log_error("dhcpc: %s: unable to add the default route via %s: %s", c->ifc.name,
				  ip(ack->router, g), strerror(-r));
	}
	if (ack->server_id.s_addr)
		c->server = ack->server_id;
	c->lease = *ack;
	c->lease_s = dhcp_lease_times(ack->lease, ack->t1, ack->t2, &c->t1_s, &c->t2_s);
	c->obtained = time(NULL) - (time_t)((c->now - c->request_sent) / SEC);
	if (c->lease_s == DHCP_LEASE_INFINITE) {
		c->t1 = c->t2 = c->expiry = NEVER;
	} else {
		c->t1 = c->request_sent + (int64_t)c->t1_s * SEC;
		c->t2 = c->request_sent + (int64_t)c->t2_s * SEC;
		c->expiry = c->request_sent + (int64_t)c->lease_s * SEC;
	}
	write_lease(c, "bound");
	write_resolv(c);
	return 0;
}

/* ---- state transitions ---- */

static void enter_init(struct client *c, int64_t delay)
{
	close_fd(&c->udp);
	close_fd(&c->arp);
	c->st = ST_INIT;
	c->next = c->now + delay;
}

static void start_probe(struct client *c, struct in_addr addr)
{
	c->conflict = false;
	if (c->o->arp_wait_ms <= 0)
		return;
	if (c->arp < 0) {
		int fd = arp_open(c->ifc.index);
		if (fd < 0) {
			log_error("dhcpc: %s: unable to open an ARP socket: %s", c->ifc.name, strerror(-fd));
			return;
		}
		c->arp = fd;
	}
	int r = arp_probe(c->arp, c->ifc.index, c->ifc.mac, addr);
	if (r)
		log_debug("dhcpc: %s: unable to send an ARP probe: %s", c->ifc.name, strerror(-r));
	c->probe_until = c->now + c->o->arp_wait_ms;
}

static void decline(struct client *c)
{
	char a[INET_ADDRSTRLEN];
	const uint8_t *m = c->conflict_mac;
	c->st = ST_PROBING;
	send_msg(c, DHCPDECLINE, false);
	say(c, "%s is in use by %02x:%02x:%02x:%02x:%02x:%02x, declined", ip(c->offer.yiaddr, a), m[0], m[1], m[2],
	    m[3], m[4], m[5]);
	enter_init(c, DECLINE_WAIT);
}

/* Configure from ack: the first ACK after REQUESTING/PROBING, or a renewal's ACK (new lease time, T1/T2,
 * DNS, router). */
static void bind_lease(struct client *c, const struct dhcp_info *ack)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	bool renewal = c->st == ST_RENEWING || c->st == ST_REBINDING;
	if (configure(c, ack)) {
		close_fd(&c->arp);
		unconfigure(c, "failed");
		enter_init(c, DECLINE_WAIT);
		return;
	}
	c->st = ST_BOUND;
	c->next = c->t1;
	close_fd(&c->raw);
	if (open_udp(c) < 0) {   /* without it no renewal: start over before the lease runs out */
		c->next = c->expiry;
	}
	if (!renewal && c->arp >= 0)   /* tell the neighbours' caches, with the probe's socket */
		arp_announce(c->arp, c->ifc.index, c->ifc.mac, c->addr);
	close_fd(&c->arp);
	char lease[24];
	if (c->lease_s == DHCP_LEASE_INFINITE)
		strcpy(lease, "infinite");
	else
		snprintf(lease, sizeof(lease), "%us", c->lease_s);
	if (c->lease.router.s_addr)
		say(c, "%s %s/%d via %s lease %s", renewal ? "renewed" : "bound", ip(c->addr, a),
		    netmask_prefix(c->mask), ip(c->lease.router, g), lease);
	else
		say(c, "%s %s/%d lease %s", renewal ? "renewed" : "bound", ip(c->addr, a), netmask_prefix(c->mask),
		    lease);
}

static void got_ack(struct client *c, const struct dhcp_info *ack)
{
	bool other_addr = ack->yiaddr.s_addr != c->offer.yiaddr.s_addr;
	struct in_addr server = c->offer.server_id;
	c->offer = *ack;
	if (ack->server_id.s_addr == 0)
		c->offer.server_id = server;
	if (c->st == ST_REQUESTING && c->o->arp_wait_ms > 0) {
		if (other_addr)   /* the server ACKed another address than it offered: probe that one */
			start_probe(c, ack->yiaddr);
		if (c->conflict) {
			decline(c);
			return;
		}
		if (c->now < c->probe_until) {
			c->st = ST_PROBING;
			c->next = c->probe_until;
			return;
		}
	}
	bind_lease(c, &c->offer);
}

static void got_nak(struct client *c, const struct dhcp_info *nak)
{
	char s[INET_ADDRSTRLEN];
	say(c, "NAK from %s, restarting", ip(nak->server_id, s));
	unconfigure(c, "nak");
	enter_init(c, SEC / 2 + rnd(c) % SEC);   /* a little spread so a NAK loop is not a packet storm */
}

static void handle_reply(struct client *c, const struct dhcp_info *m)
{
	char a[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	switch (c->st) {
	case ST_SELECTING:
		if (m->type != DHCPOFFER)
			return;
		/* RFC 2131 allows waiting for more offers; the first good one is as good as any here. */
		c->offer = *m;
		c->st = ST_REQUESTING;
		c->tries = 0;
		say(c, "requesting %s from %s", ip(m->yiaddr, a), ip(m->server_id, s));
		send_msg(c, DHCPREQUEST, false);
		c->request_sent = c->now;
		start_probe(c, m->yiaddr);
		c->next = c->now + backoff(c, 0);
		return;
	case ST_REQUESTING:
		/* Only the server we asked for (we named it in option 54) may answer. */
		if (m->server_id.s_addr && m->server_id.s_addr != c->offer.server_id.s_addr)
			return;
		if (m->type == DHCPACK)
			got_ack(c, m);
		else if (m->type == DHCPNAK)
			got_nak(c, m);
		return;
	case ST_RENEWING:
	case ST_REBINDING:
		if (m->type == DHCPACK) {
			struct dhcp_info ack = *m;
			if (ack.server_id.s_addr == 0)
				ack.server_id = c->server;
			bind_lease(c, &ack);
		} else if (m->type == DHCPNAK)
			got_nak(c, m);
		return;
	default:
		return;
	}
}

static void handle_timer(struct client *c)
{
	char a[INET_ADDRSTRLEN];
	switch (c->st) {
	case ST_INIT:
		if (iface_running(c->ifc.name) == 0 && c->now - c->link_up_at < CARRIER_WAIT) {
			c->next = c->now + 100;   /* the link was just set up: give the carrier a moment */
			return;
		}
		if (open_raw(c) < 0) {
			c->next = c->now + backoff(c, 4);
			return;
		}
		c->xid = rnd(c);
		c->tries = 0;
		c->started = c->now;
		c->st = ST_SELECTING;
		say(c, "selecting");
		send_msg(c, DHCPDISCOVER, false);
		c->next = c->now + backoff(c, 0);
		return;
	case ST_SELECTING:
		send_msg(c, DHCPDISCOVER, false);
		c->next = c->now + backoff(c, ++c->tries);
		return;
	case ST_REQUESTING:
		if (++c->tries >= REQUEST_TRIES) {
			say(c, "no answer to the REQUEST, restarting");
			enter_init(c, 0);
			return;
		}
		send_msg(c, DHCPREQUEST, false);
		c->next = c->now + backoff(c, c->tries);
		return;
	case ST_PROBING:
		if (c->conflict)
			decline(c);
		else
			bind_lease(c, &c->offer);
		return;
	case ST_BOUND:
		c->st = ST_RENEWING;
		c->xid = rnd(c);
		c->started = c->now;
		say(c, "renewing %s", ip(c->addr, a));
		/* send the first unicast REQUEST below */
		__attribute__((fallthrough));
	case ST_RENEWING:
		if (c->now >= c->t2) {
			c->st = ST_REBINDING;
			c->xid = rnd(c);
			say(c, "rebinding %s", ip(c->addr, a));
			handle_timer(c);
			return;
		}
		c->request_sent = c->now;
		send_msg(c, DHCPREQUEST, true);
		c->next = dhcp_retransmit_at(c->now, c->t2);
		return;
	case ST_REBINDING:
		if (c->now >= c->expiry) {
			say(c, "lease on %s expired, address removed", ip(c->addr, a));
			unconfigure(c, "expired");
			enter_init(c, 0);
			return;
		}
		c->request_sent = c->now;
		send_msg(c, DHCPREQUEST, false);
		c->next = dhcp_retransmit_at(c->now, c->expiry);
		return;
	}
}

/* ---- receiving ---- */

static void take(struct client *c, const uint8_t *p, size_t len)
{
	struct dhcp_info m;
	const char *why;
	if (dhcp_parse(p, len, c->xid, c->ifc.mac, &m, &why)) {
		log_debug("dhcpc: %s: ignoring a reply: %s", c->ifc.name, why);
		return;
	}
	handle_reply(c, &m);
}

static void read_raw(struct client *c)
{
	uint8_t buf[DHCP_MAX_MSG + 64];
	for (int i = 0; i < 16 && c->raw >= 0; i++) {   /* bounded: a flood cannot starve the timers */
		const uint8_t *payload;
		const char *why = "";
		ssize_t n = raw_recv(c->raw, buf, sizeof(buf), &payload, &why);
		if (n == -EAGAIN && why[0]) {
			log_debug("dhcpc: %s: ignoring a frame: %s", c->ifc.name, why);
			continue;
		}
		if (n < 0)
			return;
		take(c, payload, (size_t)n);
	}
}

static void read_udp(struct client *c)
{
	uint8_t buf[DHCP_MAX_MSG];
	for (int i = 0; i < 16 && c->udp >= 0; i++) {
		ssize_t n = recv(c->udp, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf))
			continue;
		take(c, buf, (size_t)n);
	}
}

static void read_arp(struct client *c)
{
	uint8_t buf[256];
	for (int i = 0; i < 16 && c->arp >= 0; i++) {
		ssize_t n = recv(c->arp, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		if ((c->st == ST_REQUESTING || c->st == ST_PROBING) && !c->conflict &&
		    arp_conflict(buf, (size_t)n, c->ifc.mac, c->offer.yiaddr, c->conflict_mac)) {
			c->conflict = true;
			if (c->st == ST_PROBING)
				decline(c);
		}
	}
}

/* ---- signals ---- */

static void release(struct client *c)
{
	char a[INET_ADDRSTRLEN];
	if (!c->configured)
		return;
	if (c->server.s_addr && open_udp(c) == 0) {
		c->xid = rnd(c);
		c->st = ST_BOUND;
		send_msg(c, DHCPRELEASE, true);
		int r = udp_drain(c->udp, 1000);
		if (r)
			log_debug("dhcpc: %s: the RELEASE may not have left: %s", c->ifc.name, strerror(-r));
	}
	say(c, "released %s", ip(c->addr, a));
	unconfigure(c, "released");
}

/* Returns true when the client should stop. */
static bool handle_signal(struct client *c, int sigfd)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			release(c);
			return true;
		case SIGUSR1:   /* renew now (or retry now when unbound) */
			if (c->st == ST_BOUND || c->st == ST_INIT || c->st == ST_SELECTING)
				c->next = c->now;
			break;
		default:
			break;
		}
	}
	return false;
}

/* Take over a lease another client left: stage 1 got it to fetch the root over the network, and stage 2's
 * client continues it without a second DISCOVER (same address, same T1/T2/expiry).  Only a bound lease
 * that has not expired and whose address is still on the interface is taken; anything else starts over.
 * Returns true when resumed. */
static bool resume(struct client *c)
{
	char text[2048], a[INET_ADDRSTRLEN];
	if (file_read_small(c->lease_file, text, sizeof(text)) <= 0)
		return false;
	struct lease_file lf;
	const char *why;
	if (lease_parse(text, &lf, &why)) {
		log_debug("dhcpc: %s: not resuming %s: %s", c->ifc.name, c->lease_file, why);
		return false;
	}
	struct in_addr have;
	time_t wall = time(NULL);
	if (strcmp(lf.state, "bound") != 0 || !lf.obtained || !lf.lease || !lf.mask.s_addr ||
	    (lf.lease != DHCP_LEASE_INFINITE && lf.obtained + (time_t)lf.lease <= wall + 2) ||
	    iface_ipv4(c->ifc.name, &have) || have.s_addr != lf.addr.s_addr)
		return false;
	c->configured = true;
	c->addr = lf.addr;
	c->mask = lf.mask;
	c->server = lf.server;
	c->lease = lf.info;
	c->lease.yiaddr = lf.addr;
	c->lease.mask = lf.mask;
	c->lease.server_id = lf.server;
	c->obtained = lf.obtained;
	c->lease_s = lf.lease;
	c->t1_s = lf.t1;
	c->t2_s = lf.t2;
	if (lf.lease == DHCP_LEASE_INFINITE) {
		c->t1 = c->t2 = c->expiry = NEVER;
	} else {
		if (!c->t1_s || !c->t2_s)   /* RFC 2131 defaults when the file did not say */
			dhcp_lease_times(lf.lease, 0, 0, &c->t1_s, &c->t2_s);
		int64_t base = c->now + (int64_t)(lf.obtained - wall) * SEC;   /* obtained on our clock */
		c->t1 = base + (int64_t)c->t1_s * SEC;
		c->t2 = base + (int64_t)c->t2_s * SEC;
		c->expiry = base + (int64_t)lf.lease * SEC;
	}
	c->request_sent = c->now;
	c->st = ST_BOUND;
	c->next = c->t1 > c->now ? c->t1 : c->now;
	if (open_udp(c) < 0)
		c->next = c->now;   /* no renewal socket: renew (and so reopen) at once */
	write_lease(c, "bound");
	write_resolv(c);
	if (lf.lease == DHCP_LEASE_INFINITE)
		say(c, "resumed %s/%d lease infinite", ip(c->addr, a), netmask_prefix(c->mask));
	else
		say(c, "resumed %s/%d lease %llds left", ip(c->addr, a), netmask_prefix(c->mask),
		    (long long)(lf.obtained + (time_t)lf.lease - wall));
	return true;
}

static void cleanup(struct client *c)
{
	close_fd(&c->raw);
	close_fd(&c->udp);
	close_fd(&c->arp);
	close_fd(&c->nl);
}

static int setup(struct client *c)
{
	int r = iface_get(c->o->iface, &c->ifc);
	if (r) {
		log_error("dhcpc: %s: unable to find the interface: %s", c->o->iface, strerror(-r));
		return -1;
	}
	if (!c->ifc.ether) {
		log_error("dhcpc: %s: not an Ethernet interface", c->o->iface);
		return -1;
	}
	c->orig_mtu = c->ifc.mtu;
	c->nl = nl_open();
	if (c->nl < 0) {
		log_error("dhcpc: %s: unable to open a netlink socket: %s", c->ifc.name, strerror(-c->nl));
		return -1;
	}
	r = nl_link_set(c->nl, c->ifc.index, true, 0);
	if (r) {
		log_error("dhcpc: %s: unable to bring the link up: %s", c->ifc.name, strerror(-r));
		return -1;
	}
	r = lease_path(c->lease_file, sizeof(c->lease_file), c->o->lease_dir, c->ifc.name, "lease");
	if (!r)
		r = mkdir_p(c->o->lease_dir, 0755);
	if (r) {
		log_error("dhcpc: %s: unable to create %s: %s", c->ifc.name, c->o->lease_dir, strerror(-r));
		return -1;
	}
	seed(c);
	c->now = now_ms();
	c->link_up_at = c->now;
	if (!resume(c))
		enter_init(c, 0);
	return 0;
}

int client_run(const struct client_opts *o, int sigfd)
{
	struct client c;
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.nl = c.raw = c.udp = c.arp = -1;
	if (setup(&c)) {
		cleanup(&c);
		return 1;
	}
	int64_t give_up = o->once && o->timeout_s > 0 ? c.now + (int64_t)o->timeout_s * SEC : NEVER;
	int code = 0;
	for (;;) {
		struct pollfd p[4] = { { sigfd, POLLIN, 0 }, { c.raw, POLLIN, 0 }, { c.udp, POLLIN, 0 },
				       { c.arp, POLLIN, 0 } };
		int64_t wake = c.next < give_up ? c.next : give_up, wait = wake - now_ms();
		int timeout = wake == NEVER ? -1 : wait < 0 ? 0 : wait > 3600 * SEC ? 3600 * SEC : (int)wait;
		if (poll(p, 4, timeout) < 0 && errno != EINTR) {
			log_error("dhcpc: %s: poll failed: %s", c.ifc.name, strerror(errno));
			code = 1;
			break;
		}
		c.now = now_ms();
		if ((p[0].revents & POLLIN) && handle_signal(&c, sigfd))
			break;
		if (p[1].revents & POLLIN)
			read_raw(&c);
		if (p[2].revents & POLLIN)
			read_udp(&c);
		if (p[3].revents & POLLIN)
			read_arp(&c);
		c.now = now_ms();
		if (c.now >= c.next)
			handle_timer(&c);
		if (o->once && c.st == ST_BOUND)
			break;
		if (c.now >= give_up) {
			say(&c, "no lease after %ds", o->timeout_s);
			code = 1;
			break;
		}
	}
	cleanup(&c);
	return code;
}
