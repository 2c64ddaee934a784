#include "common/dns.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TYPE_A 1
#define TYPE_CNAME 5
#define CLASS_IN 1

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

size_t dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name)
{
	size_t nlen = strlen(name);
	if (nlen && name[nlen - 1] == '.')
		nlen--;
	if (nlen == 0 || nlen > 253 || cap < 12 + nlen + 2 + 4)
		return 0;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01;   /* RD */
	buf[5] = 1;      /* QDCOUNT */
	size_t o = 12;
	for (size_t i = 0; i < nlen;) {
		size_t l = 0;
		while (i + l < nlen && name[i + l] != '.')
			l++;
		if (l == 0 || l > 63)
			return 0;
		buf[o++] = (uint8_t)l;
		memcpy(buf + o, name + i, l);
		o += l;
		i += l + 1;
	}
	buf[o++] = 0;
	buf[o++] = 0;
	buf[o++] = TYPE_A;
	buf[o++] = 0;
	buf[o++] = CLASS_IN;
	return o;
}

/* Read the (possibly compressed) name at *off into out as dotted text, lower-case untouched.  Moves *off
 * past the name as it appears at that place.  Returns 0 or -1 (malformed, loop, too long). */
static int read_name(const uint8_t *buf, size_t len, size_t *off, char *out, size_t cap)
{
	size_t p = *off, o = 0;
	int jumps = 0;
	bool jumped = false;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t l = buf[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++jumps > 16)
				return -1;
			size_t to = (size_t)(l & 0x3f) << 8 | buf[p + 1];
			if (!jumped)
				*off = p + 2;
			jumped = true;
			if (to >= p)   /* pointers go backwards only: no loops */
				return -1;
			p = to;
			continue;
		}
		if (l & 0xc0)
			return -1;
		if (l == 0) {
			if (!jumped)
				*off = p + 1;
			if (o == 0) {
				if (cap < 1)
					return -1;
				out[0] = 0;
			} else {
				out[o - 1] = 0;
			}
			return 0;
		}
		if (p + 1 + l > len || o + l + 1 > cap)
			return -1;
		memcpy(out + o, buf + p + 1, l);
		o += l;
		out[o++] = '.';
		p += 1 + l;
	}
}

static bool same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static int bad(const char **why, const char *msg)
{
	*why = msg;
	return DNS_BAD;
}

int dns_parse_reply(const uint8_t *buf, size_t len, uint16_t id, const char *name, struct in_addr *addrs,
		    int *n, const char **why)
{
	char owner[256], want[256];
	*n = 0;
	if (len < 12)
		return bad(why, "shorter than a DNS header");
	if (get16(buf) != id)
		return bad(why, "another query's id");
	if (!(buf[2] & 0x80))
		return bad(why, "a query, not a reply");
	if (get16(buf + 4) != 1)
		return bad(why, "not exactly one question");
	size_t off = 12;
	if (read_name(buf, len, &off, owner, sizeof(owner)) || off + 4 > len)
		return bad(why, "a malformed question");
	if (!same_name(owner, name) || get16(buf + off) != TYPE_A || get16(buf + off + 2) != CLASS_IN)
		return bad(why, "the answer to another question");
	off += 4;
	int rcode = buf[3] & 0x0f;
	if (buf[2] & 0x02)   /* TC: a 512-byte reply that does not fit; an A answer always does */
		return DNS_SERVFAIL;
	if (rcode == 3)
		return DNS_NXDOMAIN;
	if (rcode != 0)
		return DNS_SERVFAIL;
	snprintf(want, sizeof(want), "%s", name);
	unsigned ancount = get16(buf + 6);
	/* A CNAME chain in answer order (what servers send): each CNAME for the current name moves it on. */
	for (unsigned i = 0; i < ancount; i++) {
		if (read_name(buf, len, &off, owner, sizeof(owner)) || off + 10 > len)
			return bad(why, "a malformed answer record");
		uint16_t type = get16(buf + off), class = get16(buf + off + 2), rdlen = get16(buf + off + 8);
		off += 10;
		if (off + rdlen > len)
			return bad(why, "an answer record longer than the reply");
		if (class == CLASS_IN && same_name(owner, want)) {
			if (type == TYPE_A && rdlen == 4 && *n < DNS_MAX_ADDRS) {
				memcpy(&addrs[*n], buf + off, 4);
				(*n)++;
			} else if (type == TYPE_CNAME) {
				size_t t = off;
				if (read_name(buf, off + rdlen, &t, want, sizeof(want)))
					return bad(why, "a malformed CNAME");
			}
		}
		off += rdlen;
	}
	return *n ? DNS_OK : DNS_NODATA;
}
