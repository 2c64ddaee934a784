/* Unit tests of the one-job helpers in init/common/: fileio (+ fileread), clock, modload, pidfile, spawn,
 * apimounts, netif.  Real where it matters: the atomic writer is run against a real bind mount (as
 * `ip netns exec` makes of /etc/resolv.conf) and real symlinks, the API filesystems are really mounted (in a
 * private mount namespace: needs root, as `make check` runs), the shell is really started on a pty, and the
 * pid checks look at real processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/apimounts.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/modload.h"
#include "common/netif.h"
#include "common/pidfile.h"
#include "common/spawn.h"
#include "stage2/testutil.h"

/* Mounting needs root and a mount namespace of our own, so nothing leaks to the host. */
static void private_mount_ns(void)
{
	if (geteuid() != 0)
		fail_msg("this test mounts filesystems and must run as root (make check does)");
	static bool done;
	if (done)
		return;
	if (unshare(CLONE_NEWNS) < 0)
		fail_msg("unshare(CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail_msg("make / rprivate: %s", strerror(errno));
	done = true;
}

static bool is_symlink(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* ---- fileio ---- */

static void test_file_read(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *text;
	size_t len;
	tu_write(tu_path("%s/small", dir), "one\ntwo\n");
	assert_int_equal(file_read(tu_path("%s/small", dir), &text, &len), 0);
	assert_string_equal(text, "one\ntwo\n");
	assert_int_equal(len, 8);
	free(text);
	tu_write(tu_path("%s/empty", dir), "");
	assert_int_equal(file_read(tu_path("%s/empty", dir), &text, &len), 0);
	assert_string_equal(text, "");
	assert_int_equal(len, 0);
	free(text);
	/* bigger than any first guess */
	char *big = malloc(300001);
	for (size_t i = 0; i < 300000; i++)
		big[i] = (char)('a' + i % 26);
	big[300000] = '\0';
	tu_write(tu_path("%s/big", dir), big);
	assert_int_equal(file_read(tu_path("%s/big", dir), &text, &len), 0);
	assert_int_equal(len, 300000);
	assert_memory_equal(text, big, 300001);
	free(text);
	free(big);
	/* /proc says size 0: read to the end anyway */
	assert_int_equal(file_read("/proc/self/status", &text, &len), 0);
	assert_non_null(strstr(text, "\nPid:"));
	assert_int_equal(strlen(text), len);
	free(text);
	text = (char *)"unchanged";
	assert_int_equal(file_read(tu_path("%s/missing", dir), &text, NULL), -ENOENT);
	assert_null(text);
	assert_int_equal(file_read(dir, &text, NULL), -EISDIR);
	tu_rmtree(dir);
	free(dir);
}

static void test_file_read_small(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char buf[8];
	tu_write(tu_path("%s/attr", dir), "1\n");
	assert_int_equal(file_read_small(tu_path("%s/attr", dir), buf, sizeof(buf)), 2);
	assert_string_equal(buf, "1\n");
	tu_write(tu_path("%s/long", dir), "0123456789");
	assert_int_equal(file_read_small(tu_path("%s/long", dir), buf, sizeof(buf)), 7);
	assert_string_equal(buf, "0123456");
	assert_int_equal(file_read_small(tu_path("%s/missing", dir), buf, sizeof(buf)), -ENOENT);
	assert_string_equal(buf, "");
	tu_rmtree(dir);
	free(dir);
}

static void test_write_atomic_new_and_replace(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = strdup(tu_path("%s/fstab", dir));
	const char *step = NULL;
	assert_int_equal(file_write_atomic(path, "first\n", 6, &step), 0);
	char *got = tu_read(path);
	assert_string_equal(got, "first\n");
	free(got);
	assert_int_equal(file_write_atomic(path, "second, longer\n", 15, &step), 0);
	got = tu_read(path);
	assert_string_equal(got, "second, longer\n");
	free(got);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(access(tu_path("%s.new", path), F_OK), -1); /* no temporary left */
	/* a directory that is not there: -ENOENT, named step */
	assert_int_equal(file_write_atomic(tu_path("%s/nodir/x", dir), "x", 1, &step), -ENOENT);
	assert_string_equal(step, "create");
	assert_int_equal(file_write_atomic(tu_path("%s/nodir/x", dir), "x", 1, NULL), -ENOENT);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

/* A stale X.new that is a symlink (left by a crash, or planted) is never written through. */
static void test_write_atomic_never_follows_tmp(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *victim = strdup(tu_path("%s/victim", dir));
	char *path = strdup(tu_path("%s/resolv.conf", dir));
	tu_write(victim, "precious\n");
	assert_int_equal(symlink(victim, tu_path("%s.new", path)), 0);
	assert_int_equal(file_write_atomic(path, "nameserver 10.0.0.1\n", 20, NULL), 0);
	char *got = tu_read(victim);
	assert_string_equal(got, "precious\n");
	free(got);
	got = tu_read(path);
	assert_string_equal(got, "nameserver 10.0.0.1\n");
	free(got);
	assert_false(is_symlink(path));
	assert_int_equal(access(tu_path("%s.new", path), F_OK), -1);
	/* a stale regular X.new is replaced too */
	tu_write(tu_path("%s.new", path), "half a file");
	assert_int_equal(file_write_atomic(path, "again\n", 6, NULL), 0);
	got = tu_read(path);
	assert_string_equal(got, "again\n");
	free(got);
	free(victim);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

/* systemd-resolved's /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf: the target is written, the
 * link stays. */
static void test_write_atomic_follows_symlink(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	tu_mkdirs(tu_path("%s/etc", dir));
	tu_mkdirs(tu_path("%s/run/systemd/resolve", dir));
	char *link = strdup(tu_path("%s/etc/resolv.conf", dir));
	char *target = strdup(tu_path("%s/run/systemd/resolve/stub-resolv.conf", dir));
	assert_int_equal(symlink("../run/systemd/resolve/stub-resolv.conf", link), 0);
	/* dangling (resolved not running): the target is created */
	const char *step = NULL;
	assert_int_equal(file_write_atomic(link, "nameserver 10.1.1.1\n", 20, &step), 0);
	assert_true(is_symlink(link));
	char *got = tu_read(target);
	assert_string_equal(got, "nameserver 10.1.1.1\n");
	free(got);
	/* existing target, through a chain of two links, one absolute */
	char *hop = strdup(tu_path("%s/etc/hop", dir));
	assert_int_equal(symlink(link, hop), 0);
	assert_int_equal(file_write_atomic(hop, "nameserver 10.2.2.2\n", 20, &step), 0);
	assert_true(is_symlink(hop));
	assert_true(is_symlink(link));
	got = tu_read(target);
	assert_string_equal(got, "nameserver 10.2.2.2\n");
	free(got);
	assert_int_equal(access(tu_path("%s.new", target), F_OK), -1);
	assert_int_equal(access(tu_path("%s.new", link), F_OK), -1);
	/* a loop is an error, not a hang */
	char *loop = strdup(tu_path("%s/etc/loop", dir));
	assert_int_equal(symlink("loop", loop), 0);
	assert_int_equal(file_write_atomic(loop, "x", 1, &step), -ELOOP);
	assert_string_equal(step, "resolve");
	free(loop);
	free(hop);
	free(link);
	free(target);
	tu_rmtree(dir);
	free(dir);
}

/* `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf: rename gives EBUSY, so the text
 * is written in place, which reaches the file behind the mount. */
static void test_write_atomic_mount_point(void **state)
{
	(void)state;
	private_mount_ns();
	char *dir = tu_tmpdir();
	char *path = strdup(tu_path("%s/resolv.conf", dir));
	char *source = strdup(tu_path("%s/netns-resolv.conf", dir));
	tu_write(path, "old under the mount\n");
	tu_write(source, "old\n");
	assert_int_equal(mount(source, path, NULL, MS_BIND, NULL), 0);
	/* the kernel's side of it, which the helper has to work around */
	tu_write(tu_path("%s/other", dir), "x");
	assert_int_equal(rename(tu_path("%s/other", dir), path), -1);
	assert_int_equal(errno, EBUSY);
	const char *step = NULL;
	assert_int_equal(file_write_atomic(path, "nameserver 10.3.3.3\n", 20, &step), 0);
	char *got = tu_read(path);
	assert_string_equal(got, "nameserver 10.3.3.3\n");
	free(got);
	got = tu_read(source);
	assert_string_equal(got, "nameserver 10.3.3.3\n");
	free(got);
	assert_int_equal(access(tu_path("%s.new", path), F_OK), -1);
	/* shorter text: truncated, no tail of the old one */
	assert_int_equal(file_write_atomic(path, "x\n", 2, &step), 0);
	got = tu_read(source);
	assert_string_equal(got, "x\n");
	free(got);
	assert_int_equal(umount2(path, MNT_DETACH), 0);
	got = tu_read(path);
	assert_string_equal(got, "old under the mount\n");
	free(got);
	free(path);
	free(source);
	tu_rmtree(dir);
	free(dir);
}

static void test_mkdir_p(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct stat st;
	assert_int_equal(mkdir_p(tu_path("%s/a/b/c", dir), 0755), 0);
	assert_int_equal(stat(tu_path("%s/a/b/c", dir), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mkdir_p(tu_path("%s/a/b/c", dir), 0755), 0); /* exists: fine */
	assert_int_equal(mkdir_p(tu_path("%s/a/b/d/", dir), 0755), 0); /* trailing slash */
	assert_int_equal(stat(tu_path("%s/a/b/d", dir), &st), 0);
	tu_write(tu_path("%s/file", dir), "x");
	assert_int_equal(mkdir_p(tu_path("%s/file/sub", dir), 0755), -ENOTDIR);
	assert_int_equal(mkdir_p("", 0755), -ENOENT);
	tu_rmtree(dir);
	free(dir);
}

/* ---- clock ---- */

static void test_clock(void **state)
{
	(void)state;
	int64_t ms0 = monotonic_ms(), us0 = monotonic_us(), boot0 = boottime_ms();
	nanosleep(&(struct timespec){ 0, 30 * 1000 * 1000 }, NULL);
	int64_t ms1 = monotonic_ms(), us1 = monotonic_us(), boot1 = boottime_ms();
	assert_true(ms1 - ms0 >= 30); /* never less than what was slept */
	assert_true(us1 - us0 >= 30000);
	assert_true(boot1 - boot0 >= 30);
	assert_true(us0 / 1000 >= ms0); /* the same clock at two resolutions */
	assert_true(boot0 >= ms0);      /* boottime = monotonic + time suspended */
}

/* ---- modload ---- */

static void test_modload(void **state)
{
	(void)state;
	assert_int_equal(modload_outcome(0), MODLOAD_LOADED);
	assert_int_equal(modload_outcome(-EEXIST), MODLOAD_ALREADY);
	assert_int_equal(modload_outcome(-ENODEV), MODLOAD_NO_DEVICE);
	assert_int_equal(modload_outcome(-ENXIO), MODLOAD_NO_DEVICE);
	assert_int_equal(modload_outcome(-ENOEXEC), MODLOAD_FAILED);
	assert_int_equal(modload_outcome(-ENOENT), MODLOAD_FAILED);
	assert_int_equal(modload_file("/nonexistent/x.ko", 0), -ENOENT);
	/* Not a module: the kernel refuses it (the real loads happen in the qemu boots of test_iso.py). */
	char *dir = tu_tmpdir();
	tu_write(tu_path("%s/junk.ko", dir), "this is not an ELF module\n");
	int rc = modload_file(tu_path("%s/junk.ko", dir), MODLOAD_ASYNC_PROBE);
	assert_true(rc < 0);
	assert_int_equal(modload_outcome(rc), MODLOAD_FAILED);
	tu_rmtree(dir);
	free(dir);
}

/* ---- pidfile ---- */

static void own_comm(char *buf, size_t n)
{
	FILE *f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)n, f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void test_pidfile(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = strdup(tu_path("%s/eth0.pid", dir));
	const char *cases[] = { "1234\n", "1234", "0\n", "-5\n", "12x\n", "", "99999999999\n" };
	pid_t want[] = { 1234, 1234, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tu_write(path, cases[i]);
		assert_int_equal(pidfile_read(path), want[i]);
	}
	assert_int_equal(pidfile_read(tu_path("%s/none.pid", dir)), -ENOENT);

	char comm[32];
	own_comm(comm, sizeof(comm));
	pid_t self = getpid();
	assert_true(pid_is("", self, comm));
	assert_false(pid_is("", self, "dhcpc"));
	/* a pid that is gone */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	assert_false(pid_is("", child, comm));
	/* no /proc under the root at all: the running process is trusted */
	assert_true(pid_is(dir, self, "dhcpc"));

	tu_write(path, tu_path("%d\n", (int)self));
	assert_int_equal(pidfile_read_checked(path, "", comm), self);
	assert_int_equal(pidfile_read_checked(path, "", "dhcpc"), -ESRCH); /* stale: names someone else */
	tu_write(path, tu_path("%d\n", (int)child));
	assert_int_equal(pidfile_read_checked(path, "", comm), -ESRCH);
	free(path);
	tu_rmtree(dir);
	free(dir);
}

/* ---- spawn ---- */

static char *drain(int master)
{
	static char out[8192];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(master, out + len, sizeof(out) - 1 - len);
		if (n <= 0)
			break; /* EIO once the slave side is closed */
		len += (size_t)n;
	}
	out[len] = '\0';
	return out;
}

static void test_spawn_shell(void **state)
{
	(void)state;
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	char tty[64];
	snprintf(tty, sizeof(tty), "%s", ptsname(master));
	char *dir = tu_tmpdir();
	sigset_t block, saved, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &saved);
	sigemptyset(&empty);
	char *const argv[] = { "sh", "-c",
			       "tty; pwd; echo \"$GREETING\"; set -- $(cat /proc/$$/stat); "
			       "echo \"pid=$1 sid=$6 tpgid=$8\"; grep SigBlk /proc/$$/status",
			       NULL };
	char *const envp[] = { "GREETING=hello from the child", "PATH=/usr/bin:/bin", NULL };
	const struct shell_spec spec = { .tty = tty, .path = "/bin/sh", .argv = argv, .envp = envp, .dir = dir,
					 .restore = &empty };
	pid_t pid = spawn_shell(&spec);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	assert_true(pid > 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	char *out = drain(master);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, tty));            /* stdin is the terminal */
	assert_non_null(strstr(out, dir));            /* started in dir */
	assert_non_null(strstr(out, "hello from the child"));
	char expect[96];
	snprintf(expect, sizeof(expect), "pid=%d sid=%d tpgid=%d", (int)pid, (int)pid, (int)pid);
	assert_non_null(strstr(out, expect));         /* own session, foreground of its terminal */
	assert_non_null(strstr(out, "SigBlk:\t0000000000000000"));
	close(master);

	/* exec failure: status 127 and a line naming the program */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
	snprintf(tty, sizeof(tty), "%s", ptsname(master));
	const struct shell_spec bad = { .tty = tty, .path = "/nonexistent/sh", .argv = argv, .envp = envp };
	pid = spawn_shell(&bad);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	out = drain(master);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 127);
	assert_non_null(strstr(out, "unable to run /nonexistent/sh on"));
	close(master);
	tu_rmtree(dir);
	free(dir);
}

/* ---- apimounts ---- */

static void test_api_mounts(void **state)
{
	(void)state;
	assert_string_equal(api_mounts[API_PROC].target, "/proc");
	assert_string_equal(api_mounts[API_SYS].target, "/sys");
	assert_string_equal(api_mounts[API_DEV].target, "/dev");
	assert_string_equal(api_mounts[API_RUN].target, "/run");
	private_mount_ns();
	char *root = tu_tmpdir();
	char msg[256];
	for (int i = 0; i < API_COUNT; i++)
		assert_int_equal(api_mount(root, &api_mounts[i], msg, sizeof(msg)), 0);
	struct statfs fs;
	assert_int_equal(statfs(tu_path("%s/proc", root), &fs), 0);
	assert_int_equal(fs.f_type, PROC_SUPER_MAGIC);
	assert_int_equal(access(tu_path("%s/proc/self/mountinfo", root), R_OK), 0);
	assert_int_equal(statfs(tu_path("%s/sys", root), &fs), 0);
	assert_int_equal(fs.f_type, SYSFS_MAGIC);
	assert_int_equal(access(tu_path("%s/dev/null", root), F_OK), 0); /* devtmpfs fills itself */
	assert_int_equal(statfs(tu_path("%s/run", root), &fs), 0);
	assert_int_equal(fs.f_type, TMPFS_MAGIC);
	struct statvfs vfs;
	assert_int_equal(statvfs(tu_path("%s/proc", root), &vfs), 0);
	assert_true(vfs.f_flag & ST_NOSUID);
	assert_true(vfs.f_flag & ST_NOEXEC);
	/* failure: one line naming the type, the path and the reason */
	const struct api_mount bogus = { "none", "/bogus", "nosuchfs", 0, NULL };
	assert_int_equal(api_mount(root, &bogus, msg, sizeof(msg)), -ENODEV);
	assert_string_equal(msg, tu_path("unable to mount nosuchfs on %s/bogus: %s", root, strerror(ENODEV)));
	for (int i = API_COUNT - 1; i >= 0; i--)
		assert_int_equal(umount2(tu_path("%s%s", root, api_mounts[i].target), MNT_DETACH), 0);
	tu_rmtree(root);
	free(root);
}

/* ---- netif ---- */

static void test_netif(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const char *ifs[][2] = {
		{ "lo", "772" }, { "vec0", "1" }, { "eth0", "1" }, { "sit0", "776" }, { "wlan0", "1" },
		{ "tun0", "65534" }, { "br-lan", "1" },
	};
	for (size_t i = 0; i < sizeof(ifs) / sizeof(ifs[0]); i++)
		tu_write(tu_path("%s/sys/class/net/%s/type", root, ifs[i][0]), tu_path("%s\n", ifs[i][1]));
	tu_write(tu_path("%s/sys/class/net/bad name/type", root), "1\n");
	tu_write(tu_path("%s/sys/class/net/waytoolongname0123/type", root), "1\n");
	tu_write(tu_path("%s/sys/class/net/.hidden/type", root), "1\n");
	tu_write(tu_path("%s/sys/class/net/notype/x", root), "");
	char names[16][NETIF_NAME_MAX];
	size_t n = netif_list(root, true, names, 16);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "br-lan");
	assert_string_equal(names[1], "eth0");
	assert_string_equal(names[2], "vec0");
	assert_string_equal(names[3], "wlan0");
	n = netif_list(root, false, names, 16);
	assert_int_equal(n, 7); /* everything but lo and the names the kernel cannot make */
	assert_string_equal(names[0], "br-lan");
	assert_string_equal(names[6], "wlan0");
	assert_int_equal(netif_list(root, true, names, 2), 2);
	assert_int_equal(netif_list("/nonexistent", true, names, 16), 0);
	assert_true(netif_name_ok("eth0"));
	assert_true(netif_name_ok("enp0s31f6"));
	assert_false(netif_name_ok(""));
	assert_false(netif_name_ok("a/b"));
	assert_false(netif_name_ok("eth0:1"));
	assert_false(netif_name_ok(".."));
	assert_false(netif_name_ok("sixteen_chars_xx"));
	tu_rmtree(root);
	free(root);
}

/* The real /sys of this machine: lo is never listed, every listed name exists. */
static void test_netif_real(void **state)
{
	(void)state;
	char names[64][NETIF_NAME_MAX];
	size_t n = netif_list("", false, names, 64);
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(names[i], "lo");
		assert_int_equal(access(tu_path("/sys/class/net/%s", names[i]), F_OK), 0);
		if (i)
			assert_true(strcmp(names[i - 1], names[i]) < 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_read),
		cmocka_unit_test(test_file_read_small),
		cmocka_unit_test(test_write_atomic_new_and_replace),
		cmocka_unit_test(test_write_atomic_never_follows_tmp),
		cmocka_unit_test(test_write_atomic_follows_symlink),
		cmocka_unit_test(test_write_atomic_mount_point),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_modload),
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_spawn_shell),
		cmocka_unit_test(test_api_mounts),
		cmocka_unit_test(test_netif),
		cmocka_unit_test(test_netif_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
