/* Unit tests of the kernel command line parser (init/common/cmdline.c) and the platform detection
 * (init/common/platform.c, on fake /proc and /sys trees).  Built with ASan/UBSan: the hostile-input cases
 * must not read or write outside the parser's buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cmdline.h"

/* ---- helpers ---- */

static struct live_config parse(const char *text)
{
	struct live_config cfg;
	memset(&cfg, 0x5a, sizeof cfg); /* cmdline_parse must set every field */
	cmdline_parse(text, &cfg);
	return cfg;
}

/* True when some warning mentions needle. */
static bool warned(const struct live_config *cfg, const char *needle)
{
	for (int i = 0; i < cfg->nwarnings; i++)
		if (strstr(cfg->warnings[i], needle))
			return true;
	return false;
}

/* Each warning is one printable line: no control characters (they would garble the console). */
static void assert_warnings_printable(const struct live_config *cfg)
{
	assert_in_range(cfg->nwarnings, 0, CMDLINE_MAX_WARNINGS);
	for (int i = 0; i < cfg->nwarnings; i++) {
		const char *w = cfg->warnings[i];
		assert_true(memchr(w, '\0', sizeof cfg->warnings[0]) != NULL);
		assert_true(w[0] != '\0');
		for (const char *p = w; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				fail_msg("warning %d has control character 0x%02x: %s", i, (unsigned char)*p, w);
	}
}

static void assert_defaults(const struct live_config *c)
{
	assert_int_equal(c->platform, PLATFORM_PC);
	assert_false(c->platform_given);
	assert_string_equal(c->root, "");
	assert_false(c->squashroot);
	assert_string_equal(c->media_path, "/live");
	assert_false(c->toram);
	assert_int_equal(c->rootdelay, 10);
	assert_false(c->rootwait);
	assert_int_equal(c->root_mode, ROOT_MODE_DEFAULT);
	assert_string_equal(c->init, "/sbin/init");
	assert_int_equal(c->brk, BREAK_NONE);
	assert_false(c->quiet);
	assert_false(c->debug);
	assert_false(c->check);
	assert_string_equal(c->hostname, "live");
	assert_false(c->noswap);
	assert_int_equal(c->shutdown_timeout, 5);
	assert_string_equal(c->console, "");
	assert_int_equal(c->ip_mode, IP_DHCP);
	assert_string_equal(c->ip, "");
	assert_false(c->toram_strict);
	assert_string_equal(c->toram_file, "");
	assert_string_equal(c->findiso, "");
	assert_false(c->persistence);
	assert_false(c->persistence_ro);
	assert_string_equal(c->persistence_label, "persistence");
}

/* ---- defaults, empty and whitespace ---- */

static void test_defaults(void **state)
{
	(void)state;
	static const char *blank[] = {"", " ", "\n", "\t \t\n", "   \n\n  ", "\v\f\r"};
	for (size_t i = 0; i < sizeof blank / sizeof blank[0]; i++) {
		struct live_config c = parse(blank[i]);
		assert_defaults(&c);
		assert_int_equal(c.nwarnings, 0);
	}
}

static void test_real_proc_cmdline_form(void **state)
{
	(void)state;
	/* What UML's /proc/cmdline looks like: kernel's own parameters mixed in, newline at the end. */
	struct live_config c = parse("ubd0r=build/live.iso mem=128M initrd=build/initrd.img root=/dev/ubda uml "
				     "quiet con0=fd:0,fd:1 con=pts printk.time=1\n");
	assert_string_equal(c.root, "/dev/ubda");
	assert_int_equal(c.platform, PLATFORM_UML);
	assert_true(c.platform_given);
	assert_true(c.quiet);
	assert_int_equal(c.nwarnings, 0);

	c = parse("root=/dev/xvda\nxen\n");
	assert_string_equal(c.root, "/dev/xvda");
	assert_int_equal(c.platform, PLATFORM_XEN);

	c = parse("\troot=LABEL=LIVEINIT\ttoram\n");
	assert_string_equal(c.root, "LABEL=LIVEINIT");
	assert_true(c.toram);
}

/* ---- every parameter ---- */

static void test_platform(void **state)
{
	(void)state;
	struct live_config c = parse("uml");
	assert_int_equal(c.platform, PLATFORM_UML);
	assert_true(c.platform_given);
	c = parse("xen");
	assert_int_equal(c.platform, PLATFORM_XEN);
	assert_true(c.platform_given);
	c = parse("xen uml");
	assert_int_equal(c.platform, PLATFORM_UML);
	c = parse("uml=1 xenial umlx");
	assert_false(c.platform_given);
	assert_int_equal(c.platform, PLATFORM_PC);
	assert_string_equal(platform_name(PLATFORM_PC), "pc");
	assert_string_equal(platform_name(PLATFORM_UML), "uml");
	assert_string_equal(platform_name(PLATFORM_XEN), "xen");
}

static void test_flags(void **state)
{
	(void)state;
	struct live_config c = parse("squashroot toram rootwait quiet debug check noswap");
	assert_true(c.squashroot);
	assert_true(c.toram);
	assert_true(c.rootwait);
	assert_true(c.quiet);
	assert_true(c.debug);
	assert_true(c.check);
	assert_true(c.noswap);
	assert_int_equal(c.nwarnings, 0);
	/* Each flag alone sets only itself. */
	c = parse("check");
	assert_true(c.check);
	assert_false(c.quiet);
	assert_false(c.toram);
	assert_false(c.squashroot);
	/* The flag names only match whole tokens. */
	c = parse("quietly debugger checked toram2 Quiet");
	assert_false(c.quiet);
	assert_false(c.debug);
	assert_false(c.check);
	assert_false(c.toram);
}

static void test_ro_rw(void **state)
{
	(void)state;
	assert_int_equal(parse("ro").root_mode, ROOT_MODE_RO);
	assert_int_equal(parse("rw").root_mode, ROOT_MODE_RW);
	assert_int_equal(parse("ro rw").root_mode, ROOT_MODE_RW);
	assert_int_equal(parse("rw ro").root_mode, ROOT_MODE_RO);
	assert_int_equal(parse("row").root_mode, ROOT_MODE_DEFAULT);
}

static void test_root_valid(void **state)
{
	(void)state;
	static const char *ok[] = {"/dev/ubda", "/dev/sr0", "/dev/disk/by-label/LIVE", "LABEL=LIVEINIT",
				   "UUID=2024-01-01-00-00-00-00", "UUID=01234567-89ab-cdef-fedc-ba9876543210"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char text[300];
		snprintf(text, sizeof text, "root=%s", ok[i]);
		struct live_config c = parse(text);
		assert_string_equal(c.root, ok[i]);
		assert_int_equal(c.nwarnings, 0);
	}
	/* A label with a space, quoted as the kernel allows; bytes >= 0x80 (UTF-8) are kept. */
	struct live_config c = parse("root=\"LABEL=My Live\" quiet");
	assert_string_equal(c.root, "LABEL=My Live");
	assert_true(c.quiet);
	c = parse("root=LABEL=caf\xc3\xa9");
	assert_string_equal(c.root, "LABEL=caf\xc3\xa9");
	assert_int_equal(c.nwarnings, 0);
	/* The last root= wins. */
	c = parse("root=/dev/ubda root=/dev/ubdb");
	assert_string_equal(c.root, "/dev/ubdb");
}

static void test_root_invalid(void **state)
{
	(void)state;
	static const char *bad[] = {"root=/dev/../etc", "root=/dev/..", "root=/dev/", "root=foo", "root=LABEL=",
				    "root=UUID=", "root=", "root=\"\"", "root=dev/sda", "root=/etc/passwd",
				    "root=label=x", "root=/dev/ubda\x01", "root=\"LABEL=a\nb\""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct live_config c = parse(bad[i]);
		if (c.root[0])
			fail_msg("%s accepted as root %s", bad[i], c.root);
		assert_int_equal(c.nwarnings, 1);
		assert_true(warned(&c, "root="));
		assert_warnings_printable(&c);
	}
	/* Too long for the buffer: rejected, not truncated. */
	char text[600] = "root=/dev/";
	memset(text + 10, 'a', 400);
	struct live_config c = parse(text);
	assert_string_equal(c.root, "");
	assert_true(warned(&c, "root="));
}

static void test_media_path(void **state)
{
	(void)state;
	assert_string_equal(parse("live-media-path=/casper").media_path, "/casper");
	assert_string_equal(parse("live-media-path=/a/b/c").media_path, "/a/b/c");
	static const char *bad[] = {"live-media-path=casper", "live-media-path=", "live-media-path=/a/../b",
				    "live-media-path=/x\x1b"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct live_config c = parse(bad[i]);
		assert_string_equal(c.media_path, "/live");
		assert_int_equal(c.nwarnings, 1);
		assert_true(warned(&c, "live-media-path"));
		assert_warnings_printable(&c);
	}
}

static void test_init(void **state)
{
	(void)state;
	assert_string_equal(parse("init=/bin/sh").init, "/bin/sh");
	assert_string_equal(parse("init=\"/sbin/init\"").init, "/sbin/init");
	assert_string_equal(parse("init=\"/opt/my init\"").init, "/opt/my init");
	static const char *bad[] = {"init=sh", "init=", "init=\"\"", "init=\"", "init=\"/sbin/init",
				    "init=/sbin/init\x7f"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct live_config c = parse(bad[i]);
		assert_string_equal(c.init, "/sbin/init");
		assert_int_equal(c.nwarnings, 1);
		assert_true(warned(&c, "init="));
		assert_warnings_printable(&c);
	}
}

static void test_rootdelay(void **state)
{
	(void)state;
	assert_int_equal(parse("rootdelay=0").rootdelay, 0);
	assert_int_equal(parse("rootdelay=30").rootdelay, 30);
	assert_int_equal(parse("rootdelay=3600").rootdelay, 3600);
	assert_int_equal(parse("rootdelay=007").rootdelay, 7);
	static const char *bad[] = {"rootdelay=abc", "rootdelay=-1", "rootdelay=99999", "rootdelay=",
				    "rootdelay=3601", "rootdelay=5s", "rootdelay=+5", "rootdelay=0x10",
				    "rootdelay=99999999999999999999999", "rootdelay=\"\"", "rootdelay= "};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct live_config c = parse(bad[i]);
		if (c.rootdelay != 10)
			fail_msg("%s gave rootdelay %d", bad[i], c.rootdelay);
		assert_int_equal(c.nwarnings, 1);
		assert_true(warned(&c, "rootdelay"));
	}
	/* A bad value after a good one gives the default, with a warning. */
	struct live_config c = parse("rootdelay=20 rootdelay=x");
	assert_int_equal(c.rootdelay, 10);
	assert_int_equal(c.nwarnings, 1);
	/* Bare rootdelay is not ours to interpret (no value): ignored. */
	c = parse("rootdelay");
	assert_int_equal(c.rootdelay, 10);
}

static void test_break(void **state)
{
	(void)state;
	assert_int_equal(parse("").brk, BREAK_NONE);
	assert_int_equal(parse("break").brk, BREAK_PREMOUNT);
	assert_int_equal(parse("break=premount").brk, BREAK_PREMOUNT);
	assert_int_equal(parse("break=top").brk, BREAK_PREMOUNT);
	assert_int_equal(parse("break=mount").brk, BREAK_MOUNT);
	assert_int_equal(parse("break=switch").brk, BREAK_SWITCH);
	assert_int_equal(parse("break=bottom").brk, BREAK_SWITCH);
	assert_int_equal(parse("break=init").brk, BREAK_SWITCH);
	struct live_config c = parse("break=bogus");
	assert_int_equal(c.brk, BREAK_NONE);
	assert_int_equal(c.nwarnings, 1);
	assert_true(warned(&c, "break=bogus"));
	c = parse("break=");
	assert_int_equal(c.brk, BREAK_NONE);
	assert_int_equal(c.nwarnings, 1);
	c = parse("break=MOUNT");
	assert_int_equal(c.brk, BREAK_NONE);
	assert_int_equal(c.nwarnings, 1);
}

static void test_hostname(void **state)
{
	(void)state;
	assert_string_equal(parse("hostname=box1").hostname, "box1");
	assert_string_equal(parse("hostname=a-b.example.org").hostname, "a-b.example.org");
	char longest[80] = "hostname=";
	memset(longest + 9, 'h', 63); /* 63 characters fit in hostname[64] */
	assert_int_equal(strlen(parse(longest).hostname), 63);
	static const char *bad[] = {"hostname=", "hostname=-x", "hostname=.x", "hostname=a_b",
				    "hostname=\"a b\"", "hostname=a/b", "hostname=caf\xc3\xa9", "hostname=x\x01"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct live_config c = parse(bad[i]);
		assert_string_equal(c.hostname, "live");
		assert_int_equal(c.nwarnings, 1);
		assert_true(warned(&c, "hostname="));
		assert_warnings_printable(&c);
	}
	memset(longest + 9, 'h', 64); /* 64 characters do not */
	struct live_config c = parse(longest);
	assert_string_equal(c.hostname, "live");
	assert_int_equal(c.nwarnings, 1);
}

static void test_shutdown_timeout(void **state)
{
	(void)state;
	assert_int_equal(parse("shutdown_timeout=0").shutdown_timeout, 0);
	assert_int_equal(parse("shutdown_timeout=12").shutdown_timeout, 12);
	static const char *bad[] = {"shutdown_timeout=", "shutdown_timeout=-3", "shutdown_timeout=x",
				    "shutdown_timeout=100000"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct live_config c = parse(bad[i]);
		assert_int_equal(c.shutdown_timeout, 5);
		assert_int_equal(c.nwarnings, 1);
		assert_true(warned(&c, "shutdown_timeout"));
	}
}

static void test_console(void **state)
{
	(void)state;
	assert_string_equal(parse("console=ttyS0").console, "ttyS0");
	assert_string_equal(parse("console=ttyS0,115200n8").console, "ttyS0");
	assert_string_equal(parse("console=/dev/hvc0").console, "hvc0");
	/* The last console= wins, like the kernel's /dev/console. */
	assert_string_equal(parse("console=tty0 console=ttyS1,9600 quiet").console, "ttyS1");
	assert_string_equal(parse("console=ttyS1,9600 console=tty0").console, "tty0");
	/* Unusable names are ignored with a warning and leave the previous console. */
	static const char *bad[] = {"console=", "console=,115200", "console=../etc/shadow",
				    "console=/dev/../etc/shadow", "console=/dev/", "console=/dev/pts/0",
				    "console=tty\x1b[2J", "console=..", "console=/dev/..",
				    "console=ttyS0123456789012345678901234567890123456789012345678901234567890"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[200];
		snprintf(text, sizeof text, "console=tty1 %s", bad[i]);
		struct live_config c = parse(text);
		if (strcmp(c.console, "tty1") != 0)
			fail_msg("%s gave console \"%s\"", bad[i], c.console);
		assert_int_equal(c.nwarnings, 1);
		assert_true(warned(&c, "console="));
		assert_warnings_printable(&c);
	}
}

static void test_ip(void **state)
{
	(void)state;
	struct live_config c = parse("ip=dhcp");
	assert_int_equal(c.ip_mode, IP_DHCP);
	assert_int_equal(c.nwarnings, 0);
	assert_int_equal(parse("ip=on").ip_mode, IP_DHCP);
	assert_int_equal(parse("ip=any").ip_mode, IP_DHCP);
	assert_int_equal(parse("ip=off").ip_mode, IP_OFF);
	assert_int_equal(parse("ip=none").ip_mode, IP_OFF);
	assert_int_equal(parse("nodhcp").ip_mode, IP_OFF);
	assert_int_equal(parse("ip=off ip=dhcp").ip_mode, IP_DHCP);
	assert_int_equal(parse("ip=dhcp nodhcp").ip_mode, IP_OFF);

	const char *stat = "10.0.2.15::10.0.2.2:255.255.255.0:guest:vec0:off";
	char text[128];
	snprintf(text, sizeof text, "ip=%s", stat);
	c = parse(text);
	assert_int_equal(c.ip_mode, IP_STATIC);
	assert_string_equal(c.ip, stat);
	assert_int_equal(c.nwarnings, 0);
	c = parse("ip=192.168.1.5:::::eth0:none");
	assert_int_equal(c.ip_mode, IP_STATIC);
	assert_string_equal(c.ip, "192.168.1.5:::::eth0:none");

	static const char *bad[] = {"ip=", "ip=bogus", "ip=10.0.0.1", "ip=DHCP", "ip=1:2\x02"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = parse(bad[i]);
		assert_int_equal(c.ip_mode, IP_DHCP);
		assert_int_equal(c.nwarnings, 1);
		assert_true(warned(&c, "ip="));
		assert_warnings_printable(&c);
	}
}

static void test_everything_together(void **state)
{
	(void)state;
	struct live_config c =
		parse("BOOT_IMAGE=/vmlinuz xen root=UUID=abcd squashroot live-media-path=/boot/live toram "
		      "rootdelay=3 rootwait rw init=/lib/systemd/systemd break=mount quiet debug check "
		      "hostname=node7 noswap shutdown_timeout=9 console=hvc0 ip=off splash foo=bar --\n");
	assert_int_equal(c.platform, PLATFORM_XEN);
	assert_true(c.platform_given);
	assert_string_equal(c.root, "UUID=abcd");
	assert_true(c.squashroot);
	assert_string_equal(c.media_path, "/boot/live");
	assert_true(c.toram);
	assert_int_equal(c.rootdelay, 3);
	assert_true(c.rootwait);
	assert_int_equal(c.root_mode, ROOT_MODE_RW);
	assert_string_equal(c.init, "/lib/systemd/systemd");
	assert_int_equal(c.brk, BREAK_MOUNT);
	assert_true(c.quiet && c.debug && c.check && c.noswap);
	assert_string_equal(c.hostname, "node7");
	assert_int_equal(c.shutdown_timeout, 9);
	assert_string_equal(c.console, "hvc0");
	assert_int_equal(c.ip_mode, IP_OFF);
	assert_int_equal(c.nwarnings, 0);
}

static void test_unknown_ignored(void **state)
{
	(void)state;
	struct live_config c = parse("foo bar=baz BOOT_IMAGE=/boot/vmlinuz-6.1 mem=128M ubd0=x.img "
				     "printk.time=1 a=b=c = == \"\" rootfstype=ext4 init.x=1");
	assert_defaults(&c);
	assert_int_equal(c.nwarnings, 0);
}

/* ---- hostile input ---- */

static void test_long_tokens(void **state)
{
	(void)state;
	/* A token longer than the parser's 1023-byte buffer: ignored with a warning, and the parameters after
	 * it still parse. */
	size_t sizes[] = {1023, 1024, 1025, 5000, 100000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		char *text = malloc(n + 64);
		assert_non_null(text);
		memcpy(text, "root=/dev/", 10);
		memset(text + 10, 'x', n - 10);
		strcpy(text + n, " quiet rootdelay=4");
		struct live_config c = parse(text);
		assert_string_equal(c.root, "");
		assert_true(c.quiet);
		assert_int_equal(c.rootdelay, 4);
		assert_int_equal(c.nwarnings, 1);
		assert_warnings_printable(&c);
		free(text);
	}
	/* A long unknown token is still ignored silently only when it fits; too long always warns. */
	char *text = malloc(3000);
	assert_non_null(text);
	memset(text, 'z', 2999);
	text[2999] = '\0';
	struct live_config c = parse(text);
	assert_int_equal(c.nwarnings, 1);
	assert_true(warned(&c, "longer than"));
	free(text);
}

static void test_long_values(void **state)
{
	(void)state;
	/* Values one byte short of, exactly at, and over CMDLINE_VALUE_MAX. */
	for (size_t len = CMDLINE_VALUE_MAX - 2; len <= CMDLINE_VALUE_MAX + 1; len++) {
		char text[600] = "init=/";
		memset(text + 6, 'i', len - 1);
		text[6 + len - 1] = '\0';
		struct live_config c = parse(text);
		if (len < CMDLINE_VALUE_MAX) {
			assert_int_equal(strlen(c.init), len);
			assert_int_equal(c.nwarnings, 0);
		} else {
			assert_string_equal(c.init, "/sbin/init");
			assert_int_equal(c.nwarnings, 1);
		}
	}
	/* Same for ip= (static form) and live-media-path=. */
	char text[1000] = "ip=";
	memset(text + 3, ':', 700);
	struct live_config c = parse(text);
	assert_int_equal(c.ip_mode, IP_DHCP);
	assert_int_equal(c.nwarnings, 1);
	strcpy(text, "live-media-path=/");
	memset(text + 17, 'm', 700);
	c = parse(text);
	assert_string_equal(c.media_path, "/live");
	assert_int_equal(c.nwarnings, 1);
}

static void test_control_and_high_bytes(void **state)
{
	(void)state;
	/* Every byte value 1..255 (no NUL can appear in /proc/cmdline text) in a value of each of our parameters:
	 * the parser must stay in bounds (ASan), keep defaults for bad values, and keep warnings one line. */
	static const char *keys[] = {"root=/dev/a", "root=LABEL=", "init=/a", "live-media-path=/a", "hostname=a",
				     "console=tty", "ip=1:", "rootdelay=1", "break=", "shutdown_timeout="};
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		for (int b = 1; b < 256; b++) {
			char text[128];
			snprintf(text, sizeof text, "%s\"%c%c\"x quiet", keys[k], b, b);
			struct live_config c = parse(text);
			assert_warnings_printable(&c);
			for (const char *p = c.root; *p; p++)
				assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
			for (const char *p = c.init; *p; p++)
				assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
			for (const char *p = c.media_path; *p; p++)
				assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
			for (const char *p = c.console; *p; p++)
				assert_true((unsigned char)*p > 0x20 && *p != 0x7f && *p != '/');
			for (const char *p = c.ip; *p; p++)
				assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
			assert_in_range(c.rootdelay, 0, 3600);
			assert_in_range(c.shutdown_timeout, 0, 3600);
		}
	}
	/* High bytes are not whitespace: a token with them stays one token. */
	struct live_config c = parse("\xa0quiet \x85 \xff\xfe debug");
	assert_false(c.quiet);
	assert_true(c.debug);
}

static void test_quotes(void **state)
{
	(void)state;
	/* An unbalanced quote runs to the end of the text: what follows is part of that one token. */
	struct live_config c = parse("init=\"/sbin/init quiet debug");
	assert_string_equal(c.init, "/sbin/init");
	assert_false(c.quiet);
	assert_false(c.debug);
	assert_int_equal(c.nwarnings, 1);
	assert_warnings_printable(&c);
	/* Quoted spaces, tabs and newlines stay in the token. */
	c = parse("foo=\"a b\tc\nd\" quiet");
	assert_true(c.quiet);
	assert_int_equal(c.nwarnings, 0);
	/* Only one pair of quotes is stripped. */
	c = parse("init=\"\"/x\"\"");
	assert_string_equal(c.init, "/sbin/init");
	assert_int_equal(c.nwarnings, 1);
	/* A lone quote, quotes only. */
	c = parse("\"");
	assert_defaults(&c);
	c = parse("\"\"\"\" \" \"");
	assert_defaults(&c);
	/* A quote in the middle of a token opens quoting too, like the kernel's next_arg. */
	c = parse("hostname=a\"b c\" quiet");
	assert_string_equal(c.hostname, "live");
	assert_true(c.quiet);
}

static void test_many_warnings(void **state)
{
	(void)state;
	char text[4096] = "";
	for (int i = 0; i < 3 * CMDLINE_MAX_WARNINGS; i++)
		strcat(text, i % 2 ? "rootdelay=bad " : "root=bad ");
	strcat(text, "quiet init=/x");
	struct live_config c = parse(text);
	assert_int_equal(c.nwarnings, CMDLINE_MAX_WARNINGS);
	assert_warnings_printable(&c);
	assert_true(c.quiet);
	assert_string_equal(c.init, "/x");
	/* Warnings with long values are truncated inside their slot. */
	char *big = malloc(20000);
	assert_non_null(big);
	big[0] = '\0';
	for (int i = 0; i < 20; i++) {
		strcat(big, "root=");
		size_t n = strlen(big);
		memset(big + n, 'Q', 900);
		strcpy(big + n + 900, " ");
	}
	c = parse(big);
	assert_int_equal(c.nwarnings, CMDLINE_MAX_WARNINGS);
	assert_warnings_printable(&c);
	free(big);
}

static void test_random_garbage(void **state)
{
	(void)state;
	/* Random bytes 1..255 and random parameter fragments: stays in bounds, fields stay terminated. */
	static const char *frag[] = {"root=", "init=", "\"", " ", "\t", "\n", "=", "break", "console=", ",",
				     "/dev/", "..", "LABEL=", "ip=", ":", "hostname=", "rootdelay=", "9", "-"};
	srand(12345);
	for (int round = 0; round < 3000; round++) {
		char text[2600];
		size_t n = 0, want = (size_t)(rand() % 2500);
		while (n < want) {
			if (rand() % 3) {
				text[n++] = (char)(1 + rand() % 255);
			} else {
				const char *f = frag[rand() % (int)(sizeof frag / sizeof frag[0])];
				size_t l = strlen(f);
				if (n + l >= sizeof text - 1)
					break;
				memcpy(text + n, f, l);
				n += l;
			}
		}
		text[n] = '\0';
		struct live_config c = parse(text);
		assert_warnings_printable(&c);
		assert_true(memchr(c.root, '\0', sizeof c.root) != NULL);
		assert_true(memchr(c.init, '\0', sizeof c.init) != NULL);
		assert_true(memchr(c.media_path, '\0', sizeof c.media_path) != NULL);
		assert_true(memchr(c.hostname, '\0', sizeof c.hostname) != NULL);
		assert_true(memchr(c.console, '\0', sizeof c.console) != NULL);
		assert_true(memchr(c.ip, '\0', sizeof c.ip) != NULL);
		assert_true(c.init[0] == '/');
		assert_true(c.media_path[0] == '/');
		assert_true(!c.root[0] || !strncmp(c.root, "/dev/", 5) || !strncmp(c.root, "LABEL=", 6) ||
			    !strncmp(c.root, "UUID=", 5));
	}
}

/* ---- cmdline_read ---- */

static void test_read_missing(void **state)
{
	(void)state;
	struct live_config c;
	memset(&c, 0x5a, sizeof c);
	assert_int_equal(cmdline_read("/nonexistent/liveinit-test/cmdline", &c), -ENOENT);
	assert_defaults(&c);
	assert_int_equal(c.nwarnings, 0);
	/* A directory cannot be read as a file. */
	memset(&c, 0x5a, sizeof c);
	assert_int_equal(cmdline_read("/", &c), -EISDIR);
	assert_defaults(&c);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_read_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test_cmdline.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	const char *text = "mem=128M root=/dev/ubda ubdar=live.iso uml rootdelay=2 init=/bin/sh\n";
	write_file(path, text, strlen(text));
	struct live_config c;
	assert_int_equal(cmdline_read(path, &c), 0);
	assert_string_equal(c.root, "/dev/ubda");
	assert_int_equal(c.platform, PLATFORM_UML);
	assert_int_equal(c.rootdelay, 2);
	assert_string_equal(c.init, "/bin/sh");
	assert_int_equal(c.nwarnings, 0);

	/* Empty file: defaults. */
	write_file(path, "", 0);
	assert_int_equal(cmdline_read(path, &c), 0);
	assert_defaults(&c);

	/* A file longer than the 4 KiB read buffer: read up to it, no overflow. */
	char *big = malloc(10000);
	assert_non_null(big);
	strcpy(big, "quiet ");
	memset(big + 6, 'a', 9000);
	strcpy(big + 9006, " debug\n");
	write_file(path, big, strlen(big));
	assert_int_equal(cmdline_read(path, &c), 0);
	assert_true(c.quiet);
	assert_false(c.debug);
	free(big);
	unlink(path);
}

/* ---- platform_detect on fake trees ---- */

/* UML 6.1's /proc/cpuinfo, from the format in arch/um/kernel/um_arch.c (show_cpuinfo). */
static const char uml_cpuinfo[] =
	"processor\t: 0\n"
	"vendor_id\t: User Mode Linux\n"
	"model name\t: UML\n"
	"mode\t\t: skas\n"
	"host\t\t: Linux host 6.1.0-50-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 x86_64\n"
	"fpu\t\t: yes\n"
	"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr "
	"sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc "
	"cpuid extd_apicid aperfmperf pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes "
	"xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch\n"
	"cache_alignment\t: 64\n"
	"bogomips\t: 7186.74\n"
	"\n";

struct tree {
	char dir[64];
};

static void make_tree(struct tree *t, const char *cpuinfo, size_t cpulen, const char *hyp)
{
	strcpy(t->dir, "/tmp/test_platform.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	char path[256];
	if (cpuinfo) {
		snprintf(path, sizeof path, "%s/proc", t->dir);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof path, "%s/proc/cpuinfo", t->dir);
		write_file(path, cpuinfo, cpulen);
	}
	if (hyp) {
		snprintf(path, sizeof path, "%s/sys", t->dir);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof path, "%s/sys/hypervisor", t->dir);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof path, "%s/sys/hypervisor/type", t->dir);
		write_file(path, hyp, strlen(hyp));
	}
}

static void remove_tree(struct tree *t)
{
	char path[256];
	snprintf(path, sizeof path, "%s/proc/cpuinfo", t->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/proc", t->dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/sys/hypervisor/type", t->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/sys/hypervisor", t->dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/sys", t->dir);
	rmdir(path);
	assert_int_equal(rmdir(t->dir), 0);
}

/* The host's own /proc/cpuinfo: a real PC's, several KiB long. */
static char *host_cpuinfo(size_t *len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	assert_non_null(f);
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	assert_non_null(buf);
	*len = fread(buf, 1, cap - 1, f);
	buf[*len] = '\0';
	fclose(f);
	assert_true(*len > 0);
	assert_null(strstr(buf, "User Mode Linux"));
	return buf;
}

static void test_platform_detect(void **state)
{
	(void)state;
	struct tree t;

	make_tree(&t, uml_cpuinfo, strlen(uml_cpuinfo), NULL);
	assert_int_equal(platform_detect(t.dir), PLATFORM_UML);
	remove_tree(&t);

	make_tree(&t, NULL, 0, "xen\n");
	assert_int_equal(platform_detect(t.dir), PLATFORM_XEN);
	remove_tree(&t);

	size_t len;
	char *pc = host_cpuinfo(&len);
	make_tree(&t, pc, len, "xen\n");
	assert_int_equal(platform_detect(t.dir), PLATFORM_XEN);
	remove_tree(&t);

	make_tree(&t, pc, len, NULL);
	assert_int_equal(platform_detect(t.dir), PLATFORM_PC);
	remove_tree(&t);

	/* Other hypervisor types are not Xen. */
	make_tree(&t, pc, len, "kvm\n");
	assert_int_equal(platform_detect(t.dir), PLATFORM_PC);
	remove_tree(&t);
	make_tree(&t, NULL, 0, "");
	assert_int_equal(platform_detect(t.dir), PLATFORM_PC);
	remove_tree(&t);
	free(pc);

	/* Neither file: PC. */
	make_tree(&t, NULL, 0, NULL);
	assert_int_equal(platform_detect(t.dir), PLATFORM_PC);
	remove_tree(&t);
	assert_int_equal(platform_detect("/nonexistent/liveinit-test"), PLATFORM_PC);
}

/* ---- live-boot's names (issue 13) ---- */

static void test_live_boot_params(void **state)
{
	(void)state;
	struct live_config c = parse("persistence persistence-label=mine persistence-read-only findiso=/isos/a.iso "
				     "live-media-timeout=30 toram=filesystem.squashfs ignore_uuid components");
	assert_true(c.persistence);
	assert_true(c.persistence_ro);
	assert_string_equal(c.persistence_label, "mine");
	assert_string_equal(c.findiso, "/isos/a.iso");
	assert_int_equal(c.rootdelay, 30);
	assert_true(c.toram);
	assert_false(c.toram_strict);
	assert_string_equal(c.toram_file, "filesystem.squashfs");
	assert_int_equal(c.nwarnings, 0); /* unknown live-boot parameters pass silently */

	c = parse("persistence nopersistence toram=strict");
	assert_false(c.persistence);
	assert_true(c.toram && c.toram_strict);
	assert_string_equal(c.toram_file, "");

	/* live-media= names the medium unless root= does. */
	c = parse("live-media=/dev/sdb1");
	assert_string_equal(c.root, "/dev/sdb1");
	c = parse("root=/dev/ubda live-media=/dev/sdb1");
	assert_string_equal(c.root, "/dev/ubda");
	c = parse("live-media=removable-usb");
	assert_string_equal(c.root, "");
	assert_int_equal(c.nwarnings, 0);

	c = parse("findiso=relative.iso toram=../x persistence-label=a/b live-media=nowhere live-media-timeout=x");
	assert_string_equal(c.findiso, "");
	assert_string_equal(c.toram_file, "");
	assert_true(c.toram);
	assert_string_equal(c.persistence_label, "persistence");
	assert_int_equal(c.rootdelay, 10);
	assert_true(warned(&c, "findiso="));
	assert_true(warned(&c, "toram="));
	assert_true(warned(&c, "persistence-label="));
	assert_true(warned(&c, "live-media="));
	assert_true(warned(&c, "live-media-timeout="));
	assert_warnings_printable(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_boot_params),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_real_proc_cmdline_form),
		cmocka_unit_test(test_platform),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_ro_rw),
		cmocka_unit_test(test_root_valid),
		cmocka_unit_test(test_root_invalid),
		cmocka_unit_test(test_media_path),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_rootdelay),
		cmocka_unit_test(test_break),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_shutdown_timeout),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_everything_together),
		cmocka_unit_test(test_unknown_ignored),
		cmocka_unit_test(test_long_tokens),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_control_and_high_bytes),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_many_warnings),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_platform_detect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
