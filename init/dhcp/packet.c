#include "dhcp/packet.h"

#include <arpa/inet.h>
#include <string.h>

/* Offsets of the fixed BOOTP header (RFC 2131 figure 1). */
enum {
	OFF_OP = 0, OFF_HTYPE = 1, OFF_HLEN = 2, OFF_XID = 4, OFF_SECS = 8, OFF_FLAGS = 10,
	OFF_CIADDR = 12, OFF_YIADDR = 16, OFF_SIADDR = 20, OFF_GIADDR = 24, OFF_CHADDR = 28,
	OFF_SNAME = 44, OFF_FILE = 108, OFF_COOKIE = 236, OFF_OPTIONS = 240,
};
#define SNAME_LEN 64
#define FILE_LEN 128
static const uint8_t magic_cookie[4] = { 99, 130, 83, 99 };

enum {
	OPT_PAD = 0, OPT_MASK = 1, OPT_ROUTER = 3, OPT_DNS = 6, OPT_HOSTNAME = 12, OPT_DOMAIN = 15,
	OPT_MTU = 26, OPT_BROADCAST = 28, OPT_REQUESTED = 50, OPT_LEASE = 51, OPT_OVERLOAD = 52,
	OPT_MSGTYPE = 53, OPT_SERVER_ID = 54, OPT_PRL = 55, OPT_MAXSIZE = 57, OPT_T1 = 58, OPT_T2 = 59,
	OPT_CLIENT_ID = 61, OPT_SEARCH = 119, OPT_END = 255,
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* ---- building ---- */

struct writer {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static void opt_put(struct writer *w, uint8_t code, const void *data, size_t n)
{
	if (n > 255 || w->len + 2 + n + 1 > w->cap) {   /* +1 keeps room for OPT_END */
		w->overflow = true;
		return;
	}
	w->buf[w->len++] = code;
	w->buf[w->len++] = (uint8_t)n;
	memcpy(w->buf + w->len, data, n);
	w->len += n;
}

size_t dhcp_build(uint8_t *buf, size_t cap, const struct dhcp_request *rq)
{
	/* Parameter request list: what struct dhcp_info carries. */
	static const uint8_t prl[] = { OPT_MASK, OPT_ROUTER, OPT_DNS, OPT_HOSTNAME, OPT_DOMAIN, OPT_MTU,
				       OPT_BROADCAST, OPT_LEASE, OPT_T1, OPT_T2, OPT_SEARCH };
	if (cap < 548)
		return 0;
	memset(buf, 0, cap);
	buf[OFF_OP] = 1;               /* BOOTREQUEST */
	buf[OFF_HTYPE] = 1;            /* Ethernet */
	buf[OFF_HLEN] = 6;
	put32(buf + OFF_XID, rq->xid);
	buf[OFF_SECS] = rq->secs >> 8;
	buf[OFF_SECS + 1] = rq->secs & 0xff;
	memcpy(buf + OFF_CHADDR, rq->mac, 6);
	memcpy(buf + OFF_COOKIE, magic_cookie, 4);
	bool decline = rq->type == DHCPDECLINE, release = rq->type == DHCPRELEASE;
	/* ciaddr: only when the client owns the address (RENEWING/REBINDING/RELEASE); never in DECLINE. */
	if (!decline)
		memcpy(buf + OFF_CIADDR, &rq->ciaddr, 4);

	struct writer w = { buf, cap, OFF_OPTIONS, false };
	opt_put(&w, OPT_MSGTYPE, &rq->type, 1);
	uint8_t cid[7] = { 1 };
	memcpy(cid + 1, rq->mac, 6);
	opt_put(&w, OPT_CLIENT_ID, cid, sizeof(cid));
	if (rq->requested.s_addr && !release)
		opt_put(&w, OPT_REQUESTED, &rq->requested, 4);
	if (rq->server_id.s_addr)
		opt_put(&w, OPT_SERVER_ID, &rq->server_id, 4);
	if (!decline && !release) {
		uint8_t maxsize[2] = { DHCP_MAX_MSG >> 8, DHCP_MAX_MSG & 0xff };
		opt_put(&w, OPT_MAXSIZE, maxsize, 2);
		opt_put(&w, OPT_PRL, prl, sizeof(prl));
		if (rq->hostname && rq->hostname[0])
			opt_put(&w, OPT_HOSTNAME, rq->hostname, strnlen(rq->hostname, 255));
	}
	if (w.overflow)
		return 0;
	buf[w.len++] = OPT_END;
	/* Old BOOTP relays drop requests shorter than 300 bytes; the buffer is already zeroed. */
	return w.len < 300 ? 300 : w.len;
}

/* ---- parsing ---- */

/* Options we use, accumulated across repeated occurrences (RFC 3396 concatenation). */
#define ACC_MAX 512
struct opt_acc {
	uint8_t code;
	uint16_t len;
	bool seen;
	uint8_t data[ACC_MAX];
};
static const uint8_t wanted[] = { OPT_MASK, OPT_ROUTER, OPT_DNS, OPT_HOSTNAME, OPT_DOMAIN, OPT_MTU,
				  OPT_BROADCAST, OPT_LEASE, OPT_OVERLOAD, OPT_MSGTYPE, OPT_SERVER_ID,
				  OPT_T1, OPT_T2, OPT_SEARCH };
#define NWANTED sizeof(wanted)

static struct opt_acc *acc_find(struct opt_acc *acc, uint8_t code)
{
	for (size_t i = 0; i < NWANTED; i++)
		if (acc[i].code == code)
			return &acc[i];
	return NULL;
}

/* Walk one options area.  An option that runs past the end of its area makes the message malformed. */
static int walk_options(const uint8_t *p, size_t n, struct opt_acc *acc, bool allow_overload, const char **why)
{
	size_t i = 0;
	while (i < n) {
		uint8_t code = p[i++];
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END)
			return 0;
		if (i >= n) {
			*why = "option length missing";
			return -1;
		}
		size_t olen = p[i++];
		if (olen > n - i) {
			*why = "option runs past the end of the message";
			return -1;
		}
		struct opt_acc *a = acc_find(acc, code);
		if (a && (code != OPT_OVERLOAD || allow_overload)) {
			if (a->len + olen > ACC_MAX) {
				*why = "option too long";
				return -1;
			}
			memcpy(a->data + a->len, p + i, olen);
			a->len += olen;
			a->seen = true;
		}
		i += olen;
	}
	return 0;   /* a missing END option is tolerated: the area simply ended */
}

/* Host and domain names go into resolv.conf and the lease file: letters, digits, '-', '.', '_' only
 * (plus single spaces between names for option 15, which some servers use as a search list). */
static bool copy_name(char *dst, size_t cap, const uint8_t *src, size_t n, bool allow_space)
{
	while (n > 0 && src[n - 1] == 0)   /* some servers NUL-terminate strings */
		n--;
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = src[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '.' || c == '_' || (allow_space && c == ' ');
		if (!ok)
			return false;
	}
	memcpy(dst, src, n);
	dst[n] = 0;
	return true;
}

/* Decode RFC 1035 names (with compression pointers, RFC 3397) into "a.example b.example". */
static bool decode_search(char *out, size_t cap, const uint8_t *p, size_t n)
{
	size_t o = 0, pos = 0;
	while (pos < n) {
		size_t at = pos, hops = 0, namestart = o;
		bool jumped = false;
		for (;;) {
			if (at >= n)
				return false;
			uint8_t l = p[at];
			if ((l & 0xc0) == 0xc0) {
				if (at + 1 >= n || ++hops > n)   /* more hops than bytes means a loop */
					return false;
				if (!jumped)
					pos = at + 2;
				jumped = true;
				at = (size_t)(l & 0x3f) << 8 | p[at + 1];
				continue;
			}
			if (l & 0xc0)
				return false;
			if (l == 0) {
				if (!jumped)
					pos = at + 1;
				break;
			}
			if (at + 1 + l > n)
				return false;
			/* '.' between labels, ' ' between names; keep room for the final NUL */
			char sep = o > namestart ? '.' : o > 0 ? ' ' : 0;
			if (o + (sep ? 1 : 0) + l + 1 > cap)
				return false;
			if (sep)
				out[o++] = sep;
			for (size_t k = 0; k < l; k++) {
				uint8_t c = p[at + 1 + k];
				bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
					  c == '-' || c == '_';
				if (!ok)
					return false;
				out[o++] = (char)c;
			}
			at += 1 + l;
		}
		if (o == namestart)   /* the root name alone says nothing */
			continue;
	}
	if (cap == 0)
		return false;
	out[o] = 0;
	return o > 0;
}

int netmask_prefix(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	int prefix = 0;
	while (prefix < 32 && (m & (0x80000000u >> prefix)))
		prefix++;
	if (prefix < 32 && (m << prefix) != 0)
		return -1;
	return prefix;
}

struct in_addr netmask_classful(struct in_addr addr)
{
	uint32_t a = ntohl(addr.s_addr);
	uint32_t m = a < 0x80000000u ? 0xff000000u : a < 0xc0000000u ? 0xffff0000u : 0xffffff00u;
	return (struct in_addr){ htonl(m) };
}

static bool unicast_ok(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);
	return h != 0 && (h >> 24) != 127 && (h >> 24) != 0 && h < 0xe0000000u;
}

static int fixed_len(const struct opt_acc *a, size_t want, const char **why, const char *msg)
{
	if (a->seen && a->len != want) {
		*why = msg;
		return -1;
	}
	return 0;
}

static int extract(struct opt_acc *acc, struct dhcp_info *out, const char **why)
{
	struct opt_acc *a;
	a = acc_find(acc, OPT_MSGTYPE);
	if (!a->seen || a->len != 1) {
		*why = "no valid message type option";
		return -1;
	}
	out->type = a->data[0];
	if (out->type != DHCPOFFER && out->type != DHCPACK && out->type != DHCPNAK) {
		*why = "not an OFFER, ACK or NAK";
		return -1;
	}
	if (fixed_len(acc_find(acc, OPT_SERVER_ID), 4, why, "bad server identifier length") ||
	    fixed_len(acc_find(acc, OPT_MASK), 4, why, "bad subnet mask length") ||
	    fixed_len(acc_find(acc, OPT_BROADCAST), 4, why, "bad broadcast length") ||
	    fixed_len(acc_find(acc, OPT_LEASE), 4, why, "bad lease time length") ||
	    fixed_len(acc_find(acc, OPT_T1), 4, why, "bad T1 length") ||
	    fixed_len(acc_find(acc, OPT_T2), 4, why, "bad T2 length") ||
	    fixed_len(acc_find(acc, OPT_MTU), 2, why, "bad MTU length"))
		return -1;

	a = acc_find(acc, OPT_SERVER_ID);
	if (a->seen)
		memcpy(&out->server_id, a->data, 4);
	if (out->type == DHCPOFFER && !unicast_ok(out->server_id)) {
		*why = "OFFER without a valid server identifier";
		return -1;
	}
	if (out->type == DHCPNAK)
		return 0;   /* a NAK carries nothing else we use */

	if (!unicast_ok(out->yiaddr)) {
		*why = "offered address is not a unicast address";
		return -1;
	}
	a = acc_find(acc, OPT_MASK);
	if (a->seen) {
		struct in_addr m;
		memcpy(&m, a->data, 4);
		if (netmask_prefix(m) > 0)
			out->mask = m;   /* a non-contiguous or zero mask is ignored: the classful one is used */
	}
	a = acc_find(acc, OPT_ROUTER);
	if (a->seen) {
		if (a->len % 4 || a->len == 0) {
			*why = "bad router option length";
			return -1;
		}
		memcpy(&out->router, a->data, 4);
	}
	a = acc_find(acc, OPT_DNS);
	if (a->seen) {
		if (a->len % 4 || a->len == 0) {
			*why = "bad DNS server option length";
			return -1;
		}
		for (size_t i = 0; i + 4 <= a->len && out->ndns < DHCP_MAX_DNS; i += 4)
			memcpy(&out->dns[out->ndns++], a->data + i, 4);
	}
	a = acc_find(acc, OPT_BROADCAST);
	if (a->seen)
		memcpy(&out->broadcast, a->data, 4);
	a = acc_find(acc, OPT_LEASE);
	if (a->seen)
		out->lease = get32(a->data);
	a = acc_find(acc, OPT_T1);
	if (a->seen)
		out->t1 = get32(a->data);
	a = acc_find(acc, OPT_T2);
	if (a->seen)
		out->t2 = get32(a->data);
	a = acc_find(acc, OPT_MTU);
	if (a->seen) {
		uint16_t mtu = (uint16_t)(a->data[0] << 8 | a->data[1]);
		if (mtu >= 68)   /* RFC 2132: the minimum legal MTU is 68 */
			out->mtu = mtu;
	}
	/* Names that fail the character check are dropped, not fatal: the lease itself is still good. */
	a = acc_find(acc, OPT_HOSTNAME);
	if (a->seen && !copy_name(out->hostname, sizeof(out->hostname), a->data, a->len, false))
		out->hostname[0] = 0;
	a = acc_find(acc, OPT_DOMAIN);
	if (a->seen && !copy_name(out->domain, sizeof(out->domain), a->data, a->len, true))
		out->domain[0] = 0;
	a = acc_find(acc, OPT_SEARCH);
	if (a->seen && !decode_search(out->search, sizeof(out->search), a->data, a->len))
		out->search[0] = 0;
	return 0;
}

int dhcp_parse(const uint8_t *buf, size_t len, uint32_t xid, const uint8_t mac[6], struct dhcp_info *out,
	       const char **why)
{
	memset(out, 0, sizeof(*out));
	if (len < DHCP_MIN_LEN) {
		*why = "shorter than a DHCP message";
		return -1;
	}
	if (buf[OFF_OP] != 2) {
		*why = "not a BOOTREPLY";
		return -1;
	}
	if (buf[OFF_HTYPE] != 1 || buf[OFF_HLEN] != 6) {
		*why = "hardware type is not Ethernet";
		return -1;
	}
	if (get32(buf + OFF_XID) != xid) {
		*why = "transaction id is not ours";
		return -1;
	}
	if (memcmp(buf + OFF_CHADDR, mac, 6) != 0) {
		*why = "client hardware address is not ours";
		return -1;
	}
	if (memcmp(buf + OFF_COOKIE, magic_cookie, 4) != 0) {
		*why = "no DHCP magic cookie";
		return -1;
	}
	memcpy(&out->yiaddr, buf + OFF_YIADDR, 4);

	struct opt_acc acc[NWANTED];
	for (size_t i = 0; i < NWANTED; i++) {
		acc[i].code = wanted[i];
		acc[i].len = 0;
		acc[i].seen = false;
	}
	if (walk_options(buf + OFF_OPTIONS, len - OFF_OPTIONS, acc, true, why))
		return -1;
	/* Option overload (52): file and/or sname hold more options, read in that order (RFC 3396). */
	struct opt_acc *ov = acc_find(acc, OPT_OVERLOAD);
	if (ov->seen) {
		if (ov->len != 1 || ov->data[0] < 1 || ov->data[0] > 3) {
			*why = "bad option overload value";
			return -1;
		}
		uint8_t v = ov->data[0];
		if ((v & 1) && walk_options(buf + OFF_FILE, FILE_LEN, acc, false, why))
			return -1;
		if ((v & 2) && walk_options(buf + OFF_SNAME, SNAME_LEN, acc, false, why))
			return -1;
	}
	return extract(acc, out, why);
}

/* ---- IPv4/UDP framing ---- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* UDP checksum over the pseudo header (src, dst, proto, length) and the UDP header + data. */
static uint16_t udp_sum(const uint8_t *ip, const uint8_t *udp, size_t ulen)
{
	uint32_t s = sum16(ip + 12, 8, 0);
	s += 17 + (uint32_t)ulen;
	return fold(sum16(udp, ulen, s));
}

size_t dhcp_frame_build(uint8_t *out, size_t cap, const uint8_t *payload, size_t len, struct in_addr src,
			struct in_addr dst)
{
	size_t total = 20 + 8 + len;
	if (total > cap || total > 0xffff)
		return 0;
	uint8_t *ip = out, *udp = out + 20;
	memset(out, 0, 28);
	ip[0] = 0x45;
	ip[1] = 0x10;   /* low delay, as other clients do */
	ip[2] = total >> 8;
	ip[3] = total & 0xff;
	ip[8] = 64;     /* TTL */
	ip[9] = 17;     /* UDP */
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	uint16_t c = fold(sum16(ip, 20, 0));
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	size_t ulen = 8 + len;
	udp[0] = 0;
	udp[1] = DHCP_CLIENT_PORT;
	udp[2] = 0;
	udp[3] = DHCP_SERVER_PORT;
	udp[4] = ulen >> 8;
	udp[5] = ulen & 0xff;
	memcpy(udp + 8, payload, len);
	c = udp_sum(ip, udp, ulen);
	if (c == 0)
		c = 0xffff;   /* 0 means "no checksum" in UDP */
	udp[6] = c >> 8;
	udp[7] = c & 0xff;
	return total;
}

int dhcp_frame_parse(const uint8_t *frame, size_t len, bool check_udp_sum, const uint8_t **payload,
		     size_t *plen, const char **why)
{
	if (len < 28) {
		*why = "frame shorter than IPv4 + UDP headers";
		return -1;
	}
	size_t ihl = (size_t)(frame[0] & 0x0f) * 4;
	size_t total = (size_t)(frame[2] << 8 | frame[3]);
	if ((frame[0] >> 4) != 4 || ihl < 20 || total < ihl + 8 || total > len) {
		*why = "bad IPv4 header";
		return -1;
	}
	if (fold(sum16(frame, ihl, 0)) != 0) {
		*why = "bad IPv4 header checksum";
		return -1;
	}
	if (frame[9] != 17 || ((frame[6] & 0x3f) | frame[7]) != 0) {   /* MF flag or fragment offset */
		*why = "not an unfragmented UDP datagram";
		return -1;
	}
	const uint8_t *udp = frame + ihl;
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	if ((udp[2] << 8 | udp[3]) != DHCP_CLIENT_PORT) {
		*why = "not for the DHCP client port";
		return -1;
	}
	if (ulen < 8 || ulen > total - ihl) {
		*why = "bad UDP length";
		return -1;
	}
	if (check_udp_sum && (udp[6] | udp[7]) && udp_sum(frame, udp, ulen) != 0) {
		*why = "bad UDP checksum";
		return -1;
	}
	*payload = udp + 8;
	*plen = ulen - 8;
	return 0;
}
