/* Unit tests of what fetch= parses from the command line and the network (init/common/url.c, http.c,
 * dns.c) and of the lease file read back for stage 2's takeover (init/dhcp/lease.c lease_parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "common/dns.h"
#include "common/http.h"
#include "common/url.h"
#include "dhcp/lease.h"

static void url_good(void **state)
{
	(void)state;
	struct url u;
	const char *why;
	assert_int_equal(url_parse("http://boot.live.test:8000/live/filesystem.squashfs", &u, &why), 0);
	assert_string_equal(u.host, "boot.live.test");
	assert_int_equal(u.port, 8000);
	assert_string_equal(u.path, "/live/filesystem.squashfs");
	assert_int_equal(url_parse("http://10.0.0.1", &u, &why), 0);
	assert_string_equal(u.host, "10.0.0.1");
	assert_int_equal(u.port, 80);
	assert_string_equal(u.path, "/");
	assert_int_equal(url_parse("http://h/a%20b?x=1#frag", &u, &why), 0);
	assert_string_equal(u.path, "/a%20b?x=1");
	assert_int_equal(url_parse("http://h?q", &u, &why), 0);
	assert_string_equal(u.path, "/?q");
}

static void url_bad(void **state)
{
	(void)state;
	struct url u;
	const char *why = NULL;
	const char *bad[] = {"https://h/x", "http:///x", "http://h:/x", "http://h:0/x", "http://h:65536/x",
			     "http://h:80x/x", "http://us@er/x", "http://h/a b", "http://h/a\tb", "ftp://h/x", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		assert_int_equal(url_parse(bad[i], &u, &why), -1);
		assert_non_null(why);
	}
}

static const char ok_head[] = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 45654016\r\n"
			      "Connection: close\r\n\r\nBODY";

static void http_complete_and_partial(void **state)
{
	(void)state;
	struct http_response r;
	const char *why;
	assert_int_equal(http_parse_response(ok_head, strlen(ok_head), &r, &why), 1);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.content_length, 45654016);
	assert_true(r.close);
	assert_false(r.chunked);
	assert_string_equal(ok_head + r.header_len, "BODY");
	/* Every prefix without the blank line needs more bytes. */
	size_t head = strlen(ok_head) - 4;
	for (size_t n = 0; n < head; n++)
		assert_int_equal(http_parse_response(ok_head, n, &r, &why), 0);
	const char lf[] = "HTTP/1.0 404 Not Found\nContent-Type: text/html\n\n";
	assert_int_equal(http_parse_response(lf, strlen(lf), &r, &why), 1);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.content_length, HTTP_UNKNOWN_LENGTH);
}

static void http_range(void **state)
{
	(void)state;
	struct http_response r;
	const char *why;
	const char t[] = "HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 100-199/200\r\nContent-Length: 100\r\n\r\n";
	assert_int_equal(http_parse_response(t, strlen(t), &r, &why), 1);
	assert_int_equal(r.status, 206);
	assert_true(r.has_range);
	assert_int_equal(r.range_first, 100);
	assert_int_equal(r.range_last, 199);
	assert_int_equal(r.range_total, 200);
	const char star[] = "HTTP/1.1 206 x\r\nContent-Range: bytes 5-9/*\r\n\r\n";
	assert_int_equal(http_parse_response(star, strlen(star), &r, &why), 1);
	assert_int_equal(r.range_total, HTTP_UNKNOWN_LENGTH);
	const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
	assert_int_equal(http_parse_response(chunked, strlen(chunked), &r, &why), 1);
	assert_true(r.chunked);
}

static void http_bad(void **state)
{
	(void)state;
	struct http_response r;
	const char *bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 x\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"HTTP/1.1 206 OK\r\nContent-Range: bytes 9-5/10\r\n\r\n",
		"HTTP/1.1 206 OK\r\nContent-Range: bytes 0-10/10\r\n\r\n",
		"HTTP/1.1 206 OK\r\nContent-Range: items 0-1/10\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *why = NULL;
		assert_int_equal(http_parse_response(bad[i], strlen(bad[i]), &r, &why), -1);
		assert_non_null(why);
	}
	static char big[20000];
	memset(big, 'a', sizeof big);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	const char *why = NULL;
	assert_int_equal(http_parse_response(big, sizeof big, &r, &why), -1);
	assert_non_null(why);
}

/* A reply to q: header flags, then the question copied, then answers appended by the caller. */
static size_t reply_of(const uint8_t *q, size_t qlen, uint8_t *r, int rcode, int ancount)
{
	memcpy(r, q, qlen);
	r[2] = 0x81;
	r[3] = (uint8_t)(0x80 | rcode);
	r[7] = (uint8_t)ancount;
	return qlen;
}

static size_t add_a(uint8_t *r, size_t o, uint16_t name_ptr, const char *ip)
{
	uint8_t rr[] = {(uint8_t)(0xc0 | name_ptr >> 8), (uint8_t)name_ptr, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
	memcpy(r + o, rr, sizeof rr);
	inet_pton(AF_INET, ip, r + o + sizeof rr);
	return o + sizeof rr + 4;
}

static void dns_query_and_a_reply(void **state)
{
	(void)state;
	uint8_t q[DNS_MAX_MSG], r[DNS_MAX_MSG];
	size_t qlen = dns_build_query(q, sizeof q, 0x1234, "boot.live.test");
	assert_int_equal(qlen, 12 + 16 + 4);
	assert_memory_equal(q + 12, "\x04" "boot" "\x04" "live" "\x04" "test" "\x00", 16);
	uint8_t q2[DNS_MAX_MSG];
	assert_int_equal(dns_build_query(q2, sizeof q2, 0x1234, "boot.live.test."), qlen);
	assert_memory_equal(q, q2, qlen);
	size_t o = reply_of(q, qlen, r, 0, 2);
	o = add_a(r, o, 12, "10.81.0.1");
	o = add_a(r, o, 12, "10.81.0.2");
	struct in_addr a[DNS_MAX_ADDRS];
	int n;
	const char *why;
	assert_int_equal(dns_parse_reply(r, o, 0x1234, "BOOT.live.test", a, &n, &why), DNS_OK);
	assert_int_equal(n, 2);
	assert_string_equal(inet_ntoa(a[1]), "10.81.0.2");
	/* wrong id, a query, another name, truncated, every shorter prefix */
	assert_int_equal(dns_parse_reply(r, o, 0x1235, "boot.live.test", a, &n, &why), DNS_BAD);
	assert_int_equal(dns_parse_reply(r, o, 0x1234, "other.live.test", a, &n, &why), DNS_BAD);
	for (size_t len = 0; len < o; len++)
		assert_true(dns_parse_reply(r, len, 0x1234, "boot.live.test", a, &n, &why) != DNS_OK || len >= o - 16);
	r[2] = 0x01;
	assert_int_equal(dns_parse_reply(r, o, 0x1234, "boot.live.test", a, &n, &why), DNS_BAD);
}

static void dns_rcodes_cname_loops(void **state)
{
	(void)state;
	uint8_t q[DNS_MAX_MSG], r[DNS_MAX_MSG];
	struct in_addr a[DNS_MAX_ADDRS];
	int n;
	const char *why;
	size_t qlen = dns_build_query(q, sizeof q, 7, "www.test");
	size_t o = reply_of(q, qlen, r, 3, 0);
	assert_int_equal(dns_parse_reply(r, o, 7, "www.test", a, &n, &why), DNS_NXDOMAIN);
	o = reply_of(q, qlen, r, 2, 0);
	assert_int_equal(dns_parse_reply(r, o, 7, "www.test", a, &n, &why), DNS_SERVFAIL);
	o = reply_of(q, qlen, r, 0, 0);
	assert_int_equal(dns_parse_reply(r, o, 7, "www.test", a, &n, &why), DNS_NODATA);
	/* www.test CNAME srv.test, srv.test A 10.1.2.3 */
	o = reply_of(q, qlen, r, 0, 2);
	uint8_t cname[] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 's', 'r', 'v', 0xc0, 16};
	memcpy(r + o, cname, sizeof cname);
	size_t srv = o + 12;
	o += sizeof cname;
	o = add_a(r, o, (uint16_t)srv, "10.1.2.3");
	assert_int_equal(dns_parse_reply(r, o, 7, "www.test", a, &n, &why), DNS_OK);
	assert_string_equal(inet_ntoa(a[0]), "10.1.2.3");
	/* a compression pointer to itself */
	o = reply_of(q, qlen, r, 0, 1);
	r[o] = 0xc0;
	r[o + 1] = (uint8_t)o;
	assert_int_equal(dns_parse_reply(r, o + 12, 7, "www.test", a, &n, &why), DNS_BAD);
	/* names that cannot be asked */
	assert_int_equal(dns_build_query(q, sizeof q, 1, "a..b"), 0);
	assert_int_equal(dns_build_query(q, sizeof q, 1, ""), 0);
	char long_label[80];
	memset(long_label, 'x', 64);
	long_label[64] = 0;
	assert_int_equal(dns_build_query(q, sizeof q, 1, long_label), 0);
}

static void lease_round_trip(void **state)
{
	(void)state;
	struct dhcp_info info = {.ndns = 2, .mtu = 1400};
	inet_pton(AF_INET, "10.81.0.1", &info.router);
	inet_pton(AF_INET, "10.81.0.53", &info.dns[0]);
	inet_pton(AF_INET, "10.81.0.54", &info.dns[1]);
	strcpy(info.domain, "live.test");
	struct lease_record l = {.iface = "vec0", .state = "bound", .obtained = 1700000000, .lease = 120, .t1 = 60,
				 .t2 = 105, .info = &info};
	inet_pton(AF_INET, "10.81.0.117", &l.addr);
	inet_pton(AF_INET, "255.255.255.0", &l.mask);
	inet_pton(AF_INET, "10.81.0.1", &l.server);
	char text[2048];
	lease_format(text, sizeof text, &l);
	struct lease_file f;
	const char *why;
	assert_int_equal(lease_parse(text, &f, &why), 0);
	assert_string_equal(f.state, "bound");
	assert_int_equal(f.addr.s_addr, l.addr.s_addr);
	assert_int_equal(f.mask.s_addr, l.mask.s_addr);
	assert_int_equal(f.server.s_addr, l.server.s_addr);
	assert_int_equal(f.info.router.s_addr, info.router.s_addr);
	assert_int_equal(f.info.ndns, 2);
	assert_int_equal(f.info.dns[1].s_addr, info.dns[1].s_addr);
	assert_string_equal(f.info.domain, "live.test");
	assert_int_equal(f.info.mtu, 1400);
	assert_int_equal(f.obtained, 1700000000);
	assert_int_equal(f.lease, 120);
	assert_int_equal(f.t1, 60);
	assert_int_equal(f.t2, 105);
	assert_int_equal(lease_parse("state=released\n", &f, &why), -1);
	assert_int_equal(lease_parse("address=10.0.0.1\n", &f, &why), -1);
	assert_int_equal(lease_parse("state=bound\naddress=10.0.0.1\nobtained=100\nlease_seconds=infinite\n", &f, &why), 0);
	assert_int_equal(f.lease, DHCP_LEASE_INFINITE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(url_good),
		cmocka_unit_test(url_bad),
		cmocka_unit_test(http_complete_and_partial),
		cmocka_unit_test(http_range),
		cmocka_unit_test(http_bad),
		cmocka_unit_test(dns_query_and_a_reply),
		cmocka_unit_test(dns_rcodes_cname_loops),
		cmocka_unit_test(lease_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
