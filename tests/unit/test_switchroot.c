/* switch_root() for real, in a private mount and PID namespace: a tmpfs plays the initramfs (with /dev,
 * /proc, /sys and /run mounted in it and the new root mounted at /root), the test process is PID 1 there.
 * - a switch that fails after the root was moved (chroot denied: CAP_SYS_CHROOT dropped) leaves the
 *   initramfs' files in place, so the rescue shell still has its busybox;
 * - a switch that works empties the initramfs: the new root's shell (static busybox bound in as /bin/sh)
 *   lists the old root through a descriptor the test kept open and finds nothing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stage1/stage1.h"

#define OLDROOT_FD 5

/* Child exit codes say which step failed. */
static void must(int ok, int code, const char *what)
{
	if (!ok) {
		fprintf(stderr, "test_switchroot: %s: %s\n", what, strerror(errno));
		_exit(code);
	}
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	must(fd >= 0, 10, path);
	close(fd);
}

/* Build the fake initramfs under a fresh tmpfs and chroot into it. */
static void enter_initramfs(void)
{
	must(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, 11, "make / private");
	char dir[] = "/tmp/switchroot.XXXXXX";
	must(mkdtemp(dir) != NULL, 12, "mkdtemp");
	must(mount("initramfs", dir, "tmpfs", 0, "size=8m") == 0, 13, "mount tmpfs");
	must(chdir(dir) == 0, 14, "chdir");
	static const char *const dirs[] = {"dev", "proc", "sys", "run", "root", "bin"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		must(mkdir(dirs[i], 0755) == 0, 15, dirs[i]);
	touch("marker");
	touch("bin/busybox");
	must(mount("proc", "proc", "proc", 0, NULL) == 0, 16, "mount proc");
	must(mount("dev", "dev", "tmpfs", 0, "size=64k") == 0, 16, "mount dev");
	must(mount("sys", "sys", "tmpfs", 0, "size=64k") == 0, 16, "mount sys");
	must(mount("run", "run", "tmpfs", 0, "size=64k") == 0, 16, "mount run");
	must(mount("newroot", "root", "tmpfs", 0, "size=1m") == 0, 17, "mount new root");
	static const char *const sub[] = {"root/dev", "root/proc", "root/sys", "root/run", "root/bin"};
	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
		must(mkdir(sub[i], 0755) == 0, 18, sub[i]);
	touch("root/bin/sh");
	must(mount("/bin/busybox", "root/bin/sh", NULL, MS_BIND, NULL) == 0, 19, "bind busybox");
	must(chroot(".") == 0 && chdir("/") == 0, 20, "chroot into the fake initramfs");
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	must(fd >= 0 && dup2(fd, OLDROOT_FD) == OLDROOT_FD, 21, "keep the old root open");
}

static void drop_chroot_capability(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	must(syscall(SYS_capget, &h, d) == 0, 22, "capget");
	d[0].effective &= ~(1u << CAP_SYS_CHROOT);
	d[0].permitted &= ~(1u << CAP_SYS_CHROOT);
	must(syscall(SYS_capset, &h, d) == 0, 23, "capset");
}

/* Run body as PID 1 of a new PID and mount namespace; return its exit status. */
static int as_pid1(void (*body)(void))
{
	pid_t outer = fork();
	assert_true(outer >= 0);
	if (outer == 0) {
		must(unshare(CLONE_NEWNS | CLONE_NEWPID) == 0, 2, "unshare");
		pid_t init = fork();
		must(init >= 0, 3, "fork");
		if (init == 0) {
			body();
			_exit(99);
		}
		int st;
		must(waitpid(init, &st, 0) == init, 4, "waitpid");
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	int st;
	assert_int_equal(waitpid(outer, &st, 0), outer);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static struct live_config cfg_with_shell(void)
{
	struct live_config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.init, sizeof cfg.init, "/bin/sh");
	return cfg;
}

static void failing_switch(void)
{
	enter_initramfs();
	drop_chroot_capability();
	struct live_config cfg = cfg_with_shell();
	char *argv[] = {"init", NULL};
	struct s1_error err;
	if (switch_root(&cfg, argv, 0, &err) == 0)
		_exit(30);
	fprintf(stderr, "switch_root: %s\n", err.msg);
	if (!strstr(err.msg, "unable to chroot into the new root"))
		_exit(31);
	struct stat st;
	/* The initramfs is still whole: the rescue shell's busybox is there. */
	_exit(fstatat(OLDROOT_FD, "bin/busybox", &st, 0) == 0 && fstatat(OLDROOT_FD, "marker", &st, 0) == 0 ? 0 : 32);
}

static void good_switch(void)
{
	enter_initramfs();
	struct live_config cfg = cfg_with_shell();
	/* Runs in the new root: the old root (fd 5, left open by the test) must be empty. */
	char *argv[] = {"sh", "-c",
			"test -d /proc/self/fd/5/ || exit 40; n=$(ls -A /proc/self/fd/5/ | wc -l); "
			"ls -A /proc/self/fd/5/ >&2; test \"$n\" -eq 0 || exit 41; exit 0", NULL};
	struct s1_error err;
	switch_root(&cfg, argv, 0, &err);
	fprintf(stderr, "switch_root: %s\n", err.msg);
	_exit(50);
}

static void test_failed_switch_keeps_the_initramfs(void **state)
{
	(void)state;
	assert_int_equal(as_pid1(failing_switch), 0);
}

static void test_switch_empties_the_initramfs(void **state)
{
	(void)state;
	assert_int_equal(as_pid1(good_switch), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_switch_keeps_the_initramfs),
		cmocka_unit_test(test_switch_empties_the_initramfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
