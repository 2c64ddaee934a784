/* persistence.conf parser (init/stage1/persistconf.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "stage1/persistconf.h"

static void test_root_union_and_dirs(void **state)
{
	(void)state;
	struct pconf c;
	char why[200] = "";
	const char *text = "# comment\n/ union\n\n  /home   bind  # trailing\n/var/lib/apt union,source=apt\n"
			   "/srv/\tsource=.\n/etc";
	assert_int_equal(pconf_parse(text, &c, why, sizeof why), 0);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.e[0].dir, "/");
	assert_string_equal(c.e[0].source, "/");
	assert_true(c.e[0].is_union);
	assert_string_equal(c.e[1].dir, "/home");
	assert_false(c.e[1].is_union);
	assert_string_equal(c.e[2].dir, "/var/lib/apt");
	assert_string_equal(c.e[2].source, "/apt");
	assert_true(c.e[2].is_union);
	assert_string_equal(c.e[3].dir, "/srv");
	assert_string_equal(c.e[3].source, "/");
	assert_string_equal(c.e[4].dir, "/etc");
	assert_string_equal(c.e[4].source, "/etc");
	assert_false(c.e[4].is_union);
}

static void test_empty(void **state)
{
	(void)state;
	struct pconf c;
	char why[200];
	assert_int_equal(pconf_parse("", &c, why, sizeof why), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(pconf_parse("# nothing\n\n   \n", &c, why, sizeof why), 0);
	assert_int_equal(c.n, 0);
}

static void expect_error(const char *text, const char *needle)
{
	struct pconf c;
	char why[200] = "";
	assert_int_equal(pconf_parse(text, &c, why, sizeof why), -1);
	if (!strstr(why, needle))
		fail_msg("%s: expected %s in: %s", text, needle, why);
	assert_null(strchr(why, '\n'));
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("home\n", "line 1: home is not an absolute plain path");
	expect_error("/\n", "line 1: / can only be a union");
	expect_error("/ union\n/a/../b\n", "line 2");
	expect_error("/a/./b\n", "line 1");
	expect_error("/a//b\n", "line 1");
	expect_error("/a link\n", "unsupported option link");
	expect_error("/a bind extra\n", "unexpected text");
	expect_error("/a source=../x\n", "source=../x");
	char many[2000] = "";
	for (int i = 0; i <= PCONF_MAX; i++)
		strcat(many, "/d\n");
	expect_error(many, "more than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_union_and_dirs),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
