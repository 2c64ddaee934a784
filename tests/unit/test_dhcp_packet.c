/* Unit tests for the DHCP packet builder/parser, IPv4/UDP framing, ARP conflict check and lease text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dhcp/arp.h"
#include "common/fileio.h"
#include "common/pidfile.h"
#include "dhcp/lease.h"
#include "dhcp/packet.h"
#include "dhcp/timing.h"

static const uint8_t MAC[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
#define XID 0x12345678u

static struct in_addr A(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* A BOOTREPLY skeleton for our xid and mac; options are appended by the test. */
struct reply {
	uint8_t b[1024];
	size_t len;
};

static void reply_init(struct reply *r, const char *yiaddr)
{
	memset(r, 0, sizeof(*r));
	r->b[0] = 2;
	r->b[1] = 1;
	r->b[2] = 6;
	r->b[4] = 0x12, r->b[5] = 0x34, r->b[6] = 0x56, r->b[7] = 0x78;
	struct in_addr y = A(yiaddr);
	memcpy(r->b + 16, &y, 4);
	memcpy(r->b + 28, MAC, 6);
	r->b[236] = 99, r->b[237] = 130, r->b[238] = 83, r->b[239] = 99;
	r->len = 240;
}

static void opt(struct reply *r, uint8_t code, size_t n, const void *data)
{
	r->b[r->len++] = code;
	r->b[r->len++] = (uint8_t)n;
	memcpy(r->b + r->len, data, n);
	r->len += n;
}

static void opt_addr(struct reply *r, uint8_t code, const char *a)
{
	struct in_addr x = A(a);
	opt(r, code, 4, &x);
}

static void end(struct reply *r) { r->b[r->len++] = 255; }

static void typed(struct reply *r, uint8_t type, const char *server)
{
	opt(r, 53, 1, &type);
	opt_addr(r, 54, server);
}

static void test_full_ack(void **state)
{
	(void)state;
	struct reply r;
	reply_init(&r, "10.0.2.15");
	typed(&r, DHCPACK, "10.0.2.2");
	opt_addr(&r, 1, "255.255.255.0");
	uint8_t routers[8] = { 10, 0, 2, 2, 10, 0, 2, 3 };
	opt(&r, 3, 8, routers);
	uint8_t dns[8] = { 10, 0, 2, 3, 10, 0, 2, 4 };
	opt(&r, 6, 8, dns);
	opt(&r, 15, 9, "corp.test");
	opt(&r, 12, 4, "host");
	uint8_t lease[4] = { 0, 1, 0x51, 0x80 }, t1[4] = { 0, 0, 0x0e, 0x10 }, t2[4] = { 0, 0, 0x1c, 0x20 };
	opt(&r, 51, 4, lease);
	opt(&r, 58, 4, t1);
	opt(&r, 59, 4, t2);
	uint8_t mtu[2] = { 0x05, 0x78 };
	opt(&r, 26, 2, mtu);
	/* a.test, b.test with the second name pointing at "test" in the first */
	uint8_t search[] = { 1, 'a', 4, 't', 'e', 's', 't', 0, 1, 'b', 0xc0, 2 };
	opt(&r, 119, sizeof(search), search);
	end(&r);
	struct dhcp_info i;
	const char *why = NULL;
	assert_int_equal(dhcp_parse(r.b, r.len, XID, MAC, &i, &why), 0);
	assert_int_equal(i.type, DHCPACK);
	assert_int_equal(i.yiaddr.s_addr, A("10.0.2.15").s_addr);
	assert_int_equal(i.server_id.s_addr, A("10.0.2.2").s_addr);
	assert_int_equal(netmask_prefix(i.mask), 24);
	assert_int_equal(i.router.s_addr, A("10.0.2.2").s_addr);
	assert_int_equal(i.ndns, 2);
	assert_int_equal(i.dns[1].s_addr, A("10.0.2.4").s_addr);
	assert_string_equal(i.domain, "corp.test");
	assert_string_equal(i.hostname, "host");
	assert_string_equal(i.search, "a.test b.test");
	assert_int_equal(i.lease, 86400);
	assert_int_equal(i.t1, 3600);
	assert_int_equal(i.t2, 7200);
	assert_int_equal(i.mtu, 1400);
}

static void expect_reject(struct reply *r, const char *reason)
{
	struct dhcp_info i;
	const char *why = NULL;
	assert_int_equal(dhcp_parse(r->b, r->len, XID, MAC, &i, &why), -1);
	assert_non_null(why);
	assert_non_null(strstr(why, reason));
}

static void test_header_checks(void **state)
{
	(void)state;
	struct reply r;
	reply_init(&r, "10.0.0.5");
	typed(&r, DHCPOFFER, "10.0.0.1");
	end(&r);
	struct reply bad = r;
	bad.b[7] ^= 1;
	expect_reject(&bad, "transaction id");
	bad = r;
	bad.b[33] ^= 1;
	expect_reject(&bad, "hardware address");
	bad = r;
	bad.b[236] = 0;
	expect_reject(&bad, "magic cookie");
	bad = r;
	bad.b[0] = 1;
	expect_reject(&bad, "BOOTREPLY");
	bad = r;
	bad.b[1] = 6;
	expect_reject(&bad, "Ethernet");
	bad = r;
	bad.len = 239;
	expect_reject(&bad, "shorter");
	bad = r;
	bad.b[16] = 127;
	expect_reject(&bad, "unicast");
}

static void test_option_checks(void **state)
{
	(void)state;
	struct reply r;
	reply_init(&r, "10.0.0.5");
	typed(&r, DHCPOFFER, "10.0.0.1");
	r.b[r.len++] = 1;
	r.b[r.len++] = 200;   /* runs past the end */
	r.b[r.len++] = 255;
	expect_reject(&r, "past the end");

	reply_init(&r, "10.0.0.5");
	opt_addr(&r, 54, "10.0.0.1");
	end(&r);
	expect_reject(&r, "message type");

	reply_init(&r, "10.0.0.5");
	uint8_t t = DHCPOFFER;
	opt(&r, 53, 1, &t);
	end(&r);
	expect_reject(&r, "server identifier");

	reply_init(&r, "10.0.0.5");
	typed(&r, DHCPACK, "10.0.0.1");
	opt(&r, 51, 2, "\0\1");
	end(&r);
	expect_reject(&r, "lease time length");

	reply_init(&r, "10.0.0.5");
	typed(&r, DHCPACK, "10.0.0.1");
	opt(&r, 6, 5, "\1\2\3\4\5");
	end(&r);
	expect_reject(&r, "DNS");

	reply_init(&r, "10.0.0.5");
	t = DHCPREQUEST;
	opt(&r, 53, 1, &t);
	end(&r);
	expect_reject(&r, "not an OFFER");
}

static void test_overload_and_concatenation(void **state)
{
	(void)state;
	struct reply r;
	reply_init(&r, "10.0.0.5");
	typed(&r, DHCPACK, "10.0.0.1");
	uint8_t ov = 3;   /* file and sname */
	opt(&r, 52, 1, &ov);
	uint8_t dns1[4] = { 9, 9, 9, 1 };
	opt(&r, 6, 4, dns1);
	end(&r);
	/* file (offset 108): the rest of the DNS list and the mask; sname (offset 44): the router */
	uint8_t file[] = { 6, 4, 9, 9, 9, 2, 1, 4, 255, 255, 0, 0, 52, 1, 1, 255 };
	memcpy(r.b + 108, file, sizeof(file));
	uint8_t sname[] = { 3, 4, 10, 0, 0, 1, 255 };
	memcpy(r.b + 44, sname, sizeof(sname));
	struct dhcp_info i;
	const char *why = NULL;
	assert_int_equal(dhcp_parse(r.b, r.len, XID, MAC, &i, &why), 0);
	assert_int_equal(i.ndns, 2);
	assert_int_equal(i.dns[1].s_addr, A("9.9.9.2").s_addr);
	assert_int_equal(netmask_prefix(i.mask), 16);
	assert_int_equal(i.router.s_addr, A("10.0.0.1").s_addr);

	/* overload pointing at garbage in file: an option running past the field's end */
	reply_init(&r, "10.0.0.5");
	typed(&r, DHCPACK, "10.0.0.1");
	ov = 1;
	opt(&r, 52, 1, &ov);
	end(&r);
	memset(r.b + 108, 7, 128);
	expect_reject(&r, "past the end");

	reply_init(&r, "10.0.0.5");
	typed(&r, DHCPACK, "10.0.0.1");
	ov = 4;
	opt(&r, 52, 1, &ov);
	end(&r);
	expect_reject(&r, "overload");
}

static void test_unsafe_names_dropped(void **state)
{
	(void)state;
	struct reply r;
	reply_init(&r, "10.0.0.5");
	typed(&r, DHCPACK, "10.0.0.1");
	opt(&r, 15, 18, "x.test\nnameserver");
	opt(&r, 12, 5, "h o s");
	uint8_t loop[] = { 1, 'a', 0xc0, 0 };   /* pointer back to itself forever */
	opt(&r, 119, sizeof(loop), loop);
	opt_addr(&r, 1, "255.0.255.0");         /* not contiguous: ignored */
	uint8_t tiny_mtu[2] = { 0, 10 };
	opt(&r, 26, 2, tiny_mtu);
	end(&r);
	struct dhcp_info i;
	const char *why = NULL;
	assert_int_equal(dhcp_parse(r.b, r.len, XID, MAC, &i, &why), 0);
	assert_string_equal(i.domain, "");
	assert_string_equal(i.hostname, "");
	assert_string_equal(i.search, "");
	assert_int_equal(i.mask.s_addr, 0);
	assert_int_equal(i.mtu, 0);
}

static void test_nak(void **state)
{
	(void)state;
	struct reply r;
	reply_init(&r, "0.0.0.0");
	typed(&r, DHCPNAK, "10.0.0.1");
	end(&r);
	struct dhcp_info i;
	const char *why = NULL;
	assert_int_equal(dhcp_parse(r.b, r.len, XID, MAC, &i, &why), 0);
	assert_int_equal(i.type, DHCPNAK);
}

/* Find option code in a built request; returns its length or -1. */
static int find_opt(const uint8_t *b, size_t len, uint8_t code, const uint8_t **data)
{
	for (size_t i = 240; i < len && b[i] != 255;) {
		if (b[i] == 0) {
			i++;
			continue;
		}
		if (b[i] == code) {
			*data = b + i + 2;
			return b[i + 1];
		}
		i += 2 + b[i + 1];
	}
	return -1;
}

static void test_build(void **state)
{
	(void)state;
	uint8_t b[1500];
	const uint8_t *d;
	struct dhcp_request rq = { .type = DHCPDISCOVER, .xid = XID, .hostname = "live" };
	memcpy(rq.mac, MAC, 6);
	size_t n = dhcp_build(b, sizeof(b), &rq);
	assert_int_equal(n, 300);
	assert_int_equal(b[0], 1);
	assert_memory_equal(b + 28, MAC, 6);
	assert_int_equal(find_opt(b, n, 53, &d), 1);
	assert_int_equal(d[0], DHCPDISCOVER);
	assert_int_equal(find_opt(b, n, 61, &d), 7);
	assert_int_equal(d[0], 1);
	assert_int_equal(find_opt(b, n, 12, &d), 4);
	assert_true(find_opt(b, n, 55, &d) > 5);

	rq.type = DHCPDECLINE;
	rq.ciaddr = A("10.0.0.9");
	rq.requested = A("10.0.0.5");
	rq.server_id = A("10.0.0.1");
	n = dhcp_build(b, sizeof(b), &rq);
	assert_memory_equal(b + 12, "\0\0\0\0", 4);   /* DECLINE: ciaddr must be zero */
	assert_int_equal(find_opt(b, n, 50, &d), 4);
	assert_int_equal(find_opt(b, n, 54, &d), 4);
	assert_int_equal(find_opt(b, n, 55, &d), -1);
	assert_int_equal(find_opt(b, n, 12, &d), -1);

	rq.type = DHCPRELEASE;
	n = dhcp_build(b, sizeof(b), &rq);
	assert_memory_equal(b + 12, &rq.ciaddr, 4);
	assert_int_equal(find_opt(b, n, 50, &d), -1);
	assert_int_equal(find_opt(b, n, 54, &d), 4);

	assert_int_equal(dhcp_build(b, 100, &rq), 0);
}

static void test_frame(void **state)
{
	(void)state;
	uint8_t payload[300] = { 2, 1, 6 }, frame[400];
	size_t n = dhcp_frame_build(frame, sizeof(frame), payload, sizeof(payload), A("10.0.0.1"),
				    A("255.255.255.255"));
	assert_int_equal(n, 328);
	frame[21] = 67;   /* pretend the reply went to port 68 -> swap ports as a server would */
	frame[23] = 68;
	frame[26] = frame[27] = 0;   /* no UDP checksum */
	const uint8_t *p;
	size_t plen;
	const char *why;
	assert_int_equal(dhcp_frame_parse(frame, n, true, &p, &plen, &why), 0);
	assert_ptr_equal(p, frame + 28);
	assert_int_equal(plen, 300);
	frame[10] ^= 1;
	assert_int_equal(dhcp_frame_parse(frame, n, true, &p, &plen, &why), -1);
	assert_non_null(strstr(why, "checksum"));
	frame[10] ^= 1;
	frame[6] = 0x20;   /* more fragments */
	assert_int_equal(dhcp_frame_parse(frame, n, true, &p, &plen, &why), -1);
	frame[6] = 0;
	assert_int_equal(dhcp_frame_parse(frame, 27, true, &p, &plen, &why), -1);
	frame[3] += 10;    /* IP length beyond what was received */
	assert_int_equal(dhcp_frame_parse(frame, n, true, &p, &plen, &why), -1);
}

static void test_frame_udp_checksum(void **state)
{
	(void)state;
	uint8_t payload[300] = { 2 }, frame[400];
	size_t n = dhcp_frame_build(frame, sizeof(frame), payload, sizeof(payload), A("10.0.0.1"),
				    A("10.0.0.5"));
	/* swapping the two 16-bit port words keeps the one's-complement sum, so the checksum stays right */
	uint8_t s0 = frame[20], s1 = frame[21];
	frame[20] = frame[22], frame[21] = frame[23];
	frame[22] = s0, frame[23] = s1;
	const uint8_t *p;
	size_t plen;
	const char *why;
	assert_int_equal(dhcp_frame_parse(frame, n, true, &p, &plen, &why), 0);
	frame[100] ^= 0x40;
	assert_int_equal(dhcp_frame_parse(frame, n, true, &p, &plen, &why), -1);
	assert_non_null(strstr(why, "UDP checksum"));
	/* offloaded checksum not computed yet: accepted without the check */
	assert_int_equal(dhcp_frame_parse(frame, n, false, &p, &plen, &why), 0);
}

static void test_netmask(void **state)
{
	(void)state;
	assert_int_equal(netmask_prefix(A("255.255.255.0")), 24);
	assert_int_equal(netmask_prefix(A("255.255.255.255")), 32);
	assert_int_equal(netmask_prefix(A("0.0.0.0")), 0);
	assert_int_equal(netmask_prefix(A("255.0.255.0")), -1);
	assert_int_equal(netmask_classful(A("10.1.2.3")).s_addr, A("255.0.0.0").s_addr);
	assert_int_equal(netmask_classful(A("172.16.0.1")).s_addr, A("255.255.0.0").s_addr);
	assert_int_equal(netmask_classful(A("192.168.1.1")).s_addr, A("255.255.255.0").s_addr);
}

static void arp_pkt(uint8_t *p, int op, const uint8_t *sha, const char *spa, const char *tpa)
{
	static const uint8_t hdr[6] = { 0, 1, 8, 0, 6, 4 };
	memset(p, 0, 28);
	memcpy(p, hdr, 6);
	p[7] = (uint8_t)op;
	memcpy(p + 8, sha, 6);
	struct in_addr s = A(spa), t = A(tpa);
	memcpy(p + 14, &s, 4);
	memcpy(p + 24, &t, 4);
}

static void test_arp(void **state)
{
	(void)state;
	static const uint8_t other[6] = { 2, 9, 9, 9, 9, 9 };
	uint8_t p[28], who[6];
	struct in_addr addr = A("10.0.0.5");
	arp_pkt(p, 2, other, "10.0.0.5", "0.0.0.0");   /* reply: someone has it */
	assert_int_equal(arp_conflict(p, 28, MAC, addr, who), 1);
	assert_memory_equal(who, other, 6);
	arp_pkt(p, 1, other, "0.0.0.0", "10.0.0.5");   /* a rival probe for the same address */
	assert_int_equal(arp_conflict(p, 28, MAC, addr, who), 1);
	arp_pkt(p, 1, MAC, "0.0.0.0", "10.0.0.5");     /* our own probe */
	assert_int_equal(arp_conflict(p, 28, MAC, addr, who), 0);
	arp_pkt(p, 1, other, "10.0.0.7", "10.0.0.5");  /* someone asking for it: not a conflict */
	assert_int_equal(arp_conflict(p, 28, MAC, addr, who), 0);
	arp_pkt(p, 2, other, "10.0.0.5", "0.0.0.0");
	assert_int_equal(arp_conflict(p, 27, MAC, addr, who), 0);
}

static void test_lease_text(void **state)
{
	(void)state;
	struct dhcp_info i = { .router = A("10.0.2.2"), .ndns = 2, .mtu = 1400 };
	i.dns[0] = A("10.0.2.3");
	i.dns[1] = A("10.0.2.4");
	strcpy(i.domain, "corp.test");
	struct lease_record l = { .iface = "eth0", .state = "bound", .addr = A("10.0.2.15"),
				  .mask = A("255.255.255.0"), .server = A("10.0.2.2"), .info = &i,
				  .obtained = 1000, .lease = 86400, .t1 = 43200, .t2 = 75600 };
	char buf[1024];
	lease_format(buf, sizeof(buf), &l);
	assert_non_null(strstr(buf, "interface=eth0\nstate=bound\naddress=10.0.2.15\nprefix=24\n"));
	assert_non_null(strstr(buf, "router=10.0.2.2\n"));
	assert_non_null(strstr(buf, "mtu=1400\n"));
	assert_non_null(strstr(buf, "expires=87400\n"));
	resolv_format(buf, sizeof(buf), "eth0", &i);
	assert_string_equal(buf, "# written by dhcpc for eth0\nsearch corp.test\nnameserver 10.0.2.3\n"
				 "nameserver 10.0.2.4\n");
	strcpy(i.search, "a.test b.test");
	resolv_format(buf, sizeof(buf), "eth0", &i);
	assert_non_null(strstr(buf, "search a.test b.test\n"));
	i.ndns = 0;
	assert_int_equal(resolv_format(buf, sizeof(buf), "eth0", &i), 0);
	/* truncation keeps a terminated string */
	size_t n = lease_format(buf, 20, &l);
	assert_int_equal(n, strlen(buf));
	assert_true(n < 20);
}

static void test_pidfile_read(void **state)
{
	(void)state;
	char dir[] = "/tmp/dhcpc-unit-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/eth0.pid", dir);
	const char *step;
	const char *cases[] = { "1234\n", "1234", "", "12x\n", "-5\n", "99999999999\n" };
	const pid_t want[] = { 1234, 1234, -EINVAL, -EINVAL, -EINVAL, -EINVAL };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(file_write_atomic(path, cases[i], strlen(cases[i]), &step), 0);
		assert_int_equal(pidfile_read(path), want[i]);
	}
	unlink(path);
	assert_int_equal(pidfile_read(path), -ENOENT);
	rmdir(dir);
}

static void test_timing(void **state)
{
	(void)state;
	/* backoff: 4, 8, 16, 32, 64, 64 s, each within +-1 s, covering the whole jitter range */
	const int64_t base[] = { 4000, 8000, 16000, 32000, 64000, 64000, 64000 };
	for (int tries = 0; tries < 7; tries++) {
		assert_int_equal(dhcp_backoff_ms(tries, 0), base[tries] - 1000);
		assert_int_equal(dhcp_backoff_ms(tries, 2000), base[tries] + 1000);
		for (uint32_t r = 0; r < 100000; r += 7919) {
			int64_t b = dhcp_backoff_ms(tries, r * 2654435761u);
			assert_true(b >= base[tries] - 1000 && b <= base[tries] + 1000);
		}
	}
	/* renew/rebind retransmissions: half the remaining time, not under a minute, never past the deadline */
	assert_int_equal(dhcp_retransmit_at(0, 3600000), 1800000);
	assert_int_equal(dhcp_retransmit_at(0, 100000), 60000);
	assert_int_equal(dhcp_retransmit_at(0, 30000), 30000);
	assert_int_equal(dhcp_retransmit_at(5000, 5000), 5000);
	assert_int_equal(dhcp_retransmit_at(9000, 5000), 9000);
	/* T1/T2 */
	uint32_t t1, t2;
	assert_int_equal(dhcp_lease_times(86400, 0, 0, &t1, &t2), 86400);
	assert_int_equal(t1, 43200);
	assert_int_equal(t2, 75600);
	dhcp_lease_times(120, 60, 105, &t1, &t2);
	assert_int_equal(t1, 60);
	assert_int_equal(t2, 105);
	dhcp_lease_times(100, 90, 80, &t1, &t2);     /* T1 after T2: T1 falls back to 1/2 */
	assert_int_equal(t1, 50);
	assert_int_equal(t2, 80);
	dhcp_lease_times(100, 0, 200, &t1, &t2);     /* T2 after expiry: ignored */
	assert_int_equal(t2, 87);
	assert_int_equal(dhcp_lease_times(0, 0, 0, &t1, &t2), DHCP_DEFAULT_LEASE);
	dhcp_lease_times(0xffffffffu, 0, 0, &t1, &t2);
	assert_int_equal(t2, 3758096383u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_ack),       cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_option_checks),  cmocka_unit_test(test_overload_and_concatenation),
		cmocka_unit_test(test_unsafe_names_dropped), cmocka_unit_test(test_nak),
		cmocka_unit_test(test_build),          cmocka_unit_test(test_frame),
		cmocka_unit_test(test_frame_udp_checksum), cmocka_unit_test(test_netmask),
		cmocka_unit_test(test_arp),            cmocka_unit_test(test_lease_text),
		cmocka_unit_test(test_pidfile_read),   cmocka_unit_test(test_timing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
