/* Unit tests for the kernel ip= parser (Documentation/admin-guide/nfs/nfsroot.rst). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "dhcp/ipconfig.h"

static in_addr_t A(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void parse_ok(const char *text, struct ipconfig *c)
{
	const char *why = NULL;
	int r = ipconfig_parse(text, c, &why);
	if (r)
		fail_msg("%s: %s", text, why);
}

static void parse_bad(const char *text, const char *reason)
{
	struct ipconfig c;
	const char *why = NULL;
	assert_int_equal(ipconfig_parse(text, &c, &why), -1);
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("%s: got \"%s\", wanted \"%s\"", text, why, reason);
}

static void test_full_static(void **state)
{
	(void)state;
	struct ipconfig c;
	parse_ok("ip=10.0.2.15:10.0.2.2:10.0.2.1:255.255.255.0:live:eth0:off:10.0.2.3:10.0.2.4:10.0.2.5", &c);
	assert_int_equal(c.mode, IPCONFIG_STATIC);
	assert_int_equal(c.client.s_addr, A("10.0.2.15"));
	assert_int_equal(c.server.s_addr, A("10.0.2.2"));
	assert_int_equal(c.gw.s_addr, A("10.0.2.1"));
	assert_int_equal(c.mask.s_addr, A("255.255.255.0"));
	assert_string_equal(c.hostname, "live");
	assert_string_equal(c.device, "eth0");
	assert_int_equal(c.dns[0].s_addr, A("10.0.2.3"));
	assert_int_equal(c.dns[1].s_addr, A("10.0.2.4"));
}

static void test_short_and_classful(void **state)
{
	(void)state;
	struct ipconfig c;
	parse_ok("192.168.7.2", &c);   /* fields may be left off the end */
	assert_int_equal(c.mode, IPCONFIG_STATIC);
	assert_int_equal(c.mask.s_addr, A("255.255.255.0"));
	assert_string_equal(c.device, "");
	parse_ok("10.1.2.3::10.0.0.1:::vec0:none", &c);
	assert_int_equal(c.mask.s_addr, A("255.0.0.0"));
	assert_string_equal(c.device, "vec0");
	parse_ok("172.16.0.9:::::eth1:", &c);
	assert_int_equal(c.mask.s_addr, A("255.255.0.0"));
}

static void test_bare_words(void **state)
{
	(void)state;
	struct ipconfig c;
	parse_ok("off", &c);
	assert_int_equal(c.mode, IPCONFIG_OFF);
	parse_ok("none", &c);
	assert_int_equal(c.mode, IPCONFIG_OFF);
	parse_ok("dhcp", &c);
	assert_int_equal(c.mode, IPCONFIG_DHCP);
	parse_ok("ip=on", &c);
	assert_int_equal(c.mode, IPCONFIG_DHCP);
	parse_ok(":::::eth1:dhcp", &c);   /* DHCP on one device */
	assert_int_equal(c.mode, IPCONFIG_DHCP);
	assert_string_equal(c.device, "eth1");
	parse_ok(":::::eth1:off", &c);
	assert_int_equal(c.mode, IPCONFIG_OFF);
}

static void test_errors(void **state)
{
	(void)state;
	parse_bad("10.0.2.300", "client-ip");
	parse_bad("10.0.2.15:x", "server-ip");
	parse_bad("10.0.2.15::10.0.2", "gw-ip");
	parse_bad("10.0.2.15:::255.0.255.0", "netmask");
	parse_bad("10.0.2.15:::0.0.0.0", "netmask");
	parse_bad("10.0.2.15::::bad/host", "hostname");
	parse_bad("10.0.2.15:::::averyveryverylongname0", "device");
	parse_bad("10.0.2.15::::::sometimes", "autoconf");
	parse_bad("10.0.2.15:::::::1.2.3", "dns");
	parse_bad("1:2:3:4:5:6:7:8:9:10:11", "fields");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_static),
		cmocka_unit_test(test_short_and_classful),
		cmocka_unit_test(test_bare_words),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
