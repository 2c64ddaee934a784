/* common/mountinfo: parsing, octal escapes, option lookup, on fixtures and on the host's own table. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/mountinfo.h"
#include "testutil.h"

/* Shaped like a live UML guest's table (overlay root, medium, squashfs), plus hostile paths. */
static const char fixture[] =
	"20 1 0:19 / / rw,relatime - overlay overlay rw,lowerdir=/run/live/rootfs,upperdir=/run/live/cow/upper\n"
	"21 20 0:5 / /dev rw,nosuid shared:2 - devtmpfs devtmpfs rw,size=10240k,mode=755\n"
	"22 20 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:3 master:1 - proc proc rw\n"
	"23 20 98:0 / /run/live/medium ro,relatime - iso9660 /dev/ubda ro,nojoliet\n"
	"24 20 7:0 / /run/live/rootfs ro,relatime - squashfs /dev/loop0 ro\n"
	"this line is not mountinfo at all\n"
	"25 20 98:33 / /mnt/my\\040disk rw,relatime - ext4 /dev/ubdc1 rw\n"
	"26 20 98:34 /sub\\011dir /mnt/back\\134slash\\012nl rw - vfat /dev/ubdc2 rw,fmask=0022\n"
	"27 20 0:30 / /tmp rw - tmpfs tmpfs\n"
	"28 20 0:31 / /short rw\n";

static char *fixtures; /* a directory for the run, removed at the end */

static int make_fixture_dir(void **state)
{
	(void)state;
	fixtures = tu_tmpdir();
	return 0;
}

static int remove_fixture_dir(void **state)
{
	(void)state;
	tu_rmtree(fixtures);
	free(fixtures);
	return 0;
}

static char *write_fixture(const char *text)
{
	static int n;
	char *path = strdup(tu_path("%s/mountinfo-%d", fixtures, n++));
	tu_write(path, text);
	return path;
}

static void test_unescape(void **state)
{
	(void)state;
	char s[] = "a\\040b\\011c\\134d\\012e\\0";
	mountinfo_unescape(s);
	assert_string_equal(s, "a b\tc\\d\ne\\0");
	char t[] = "\\999 \\04 \\000x"; /* not octal, too short, NUL: kept as they are */
	mountinfo_unescape(t);
	assert_string_equal(t, "\\999 \\04 \\000x");
}

static void test_parse_line_fields(void **state)
{
	(void)state;
	char line[] = "22 20 0:20 / /proc rw,nosuid shared:3 master:1 - proc proc rw\n";
	struct mount_entry e;
	assert_int_equal(mountinfo_parse_line(line, &e), 0);
	assert_int_equal(e.id, 22);
	assert_int_equal(e.parent_id, 20);
	assert_int_equal(e.major, 0);
	assert_int_equal(e.minor, 20);
	assert_string_equal(e.root, "/");
	assert_string_equal(e.target, "/proc");
	assert_string_equal(e.options, "rw,nosuid");
	assert_string_equal(e.fstype, "proc");
	assert_string_equal(e.source, "proc");
	assert_string_equal(e.super_options, "rw");
}

static void test_parse_line_rejects(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"28 20 0:31 / /short rw\n",                  /* no separator */
		"x 20 0:31 / /a rw - tmpfs tmpfs rw\n",       /* id not a number */
		"28 20 031 / /a rw - tmpfs tmpfs rw\n",       /* no major:minor */
		"28 20 0:31 / /a rw -\n",                      /* nothing after the separator */
		"28 20 0:31 / /a rw - tmpfs\n",                /* no source */
		"-5 20 0:31 / /a rw - tmpfs tmpfs rw\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		struct mount_entry e;
		assert_int_equal(mountinfo_parse_line(buf, &e), -EINVAL);
	}
}

static void test_read_fixture(void **state)
{
	(void)state;
	char *path = write_fixture(fixture);
	struct mount_table t;
	assert_int_equal(mountinfo_read(path, &t), 0);
	assert_int_equal(t.count, 8); /* two malformed lines skipped */
	assert_string_equal(t.entries[0].target, "/");
	assert_string_equal(t.entries[0].fstype, "overlay");
	assert_string_equal(t.entries[3].source, "/dev/ubda");
	assert_int_equal(t.entries[3].major, 98);
	assert_string_equal(t.entries[5].target, "/mnt/my disk");
	assert_string_equal(t.entries[6].root, "/sub\tdir");
	assert_string_equal(t.entries[6].target, "/mnt/back\\slash\nnl");
	assert_string_equal(t.entries[6].super_options, "rw,fmask=0022");
	assert_string_equal(t.entries[7].target, "/tmp");
	assert_string_equal(t.entries[7].super_options, ""); /* none given */
	const struct mount_entry *m = mountinfo_find_target(&t, "/mnt/my disk");
	assert_non_null(m);
	assert_string_equal(m->source, "/dev/ubdc1");
	assert_null(mountinfo_find_target(&t, "/mnt/my\\040disk"));
	mountinfo_free(&t);
	assert_int_equal(t.count, 0);
	unlink(path);
	free(path);
}

static void test_find_target_topmost(void **state)
{
	(void)state;
	char *path = write_fixture("30 1 0:40 / /x rw - tmpfs first rw\n31 30 0:41 / /x rw - tmpfs second rw\n");
	struct mount_table t;
	assert_int_equal(mountinfo_read(path, &t), 0);
	assert_string_equal(mountinfo_find_target(&t, "/x")->source, "second");
	mountinfo_free(&t);
	unlink(path);
	free(path);
}

static void test_read_missing(void **state)
{
	(void)state;
	struct mount_table t;
	assert_int_equal(mountinfo_read("/nonexistent/mountinfo", &t), -ENOENT);
	assert_int_equal(t.count, 0);
}

static void test_read_host(void **state)
{
	(void)state;
	struct mount_table t;
	assert_int_equal(mountinfo_read("/proc/self/mountinfo", &t), 0);
	assert_true(t.count > 0);
	assert_non_null(mountinfo_find_target(&t, "/"));
	assert_non_null(mountinfo_find_target(&t, "/proc"));
	mountinfo_free(&t);
}

static void test_option_present(void **state)
{
	(void)state;
	assert_true(mount_option_present("ro,relatime", "ro"));
	assert_true(mount_option_present("relatime,ro", "ro"));
	assert_true(mount_option_present("ro", "ro"));
	assert_false(mount_option_present("rw,errors=remount-ro", "ro"));
	assert_false(mount_option_present("rootcontext=x", "ro"));
	assert_false(mount_option_present("", "ro"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_parse_line_fields),
		cmocka_unit_test(test_parse_line_rejects),
		cmocka_unit_test(test_read_fixture),
		cmocka_unit_test(test_find_target_topmost),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_read_host),
		cmocka_unit_test(test_option_present),
	};
	return cmocka_run_group_tests(tests, make_fixture_dir, remove_fixture_dir);
}
