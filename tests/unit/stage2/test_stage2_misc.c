/* stage2: console choice, shell respawn rate limit, the signal table, the DHCP hook's interface and pid-file
 * discovery, /etc/securetty upkeep. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/netif.h"
#include "stage2/console.h"
#include "stage2/network.h"
#include "stage2/signals.h"
#include "testutil.h"

static void test_console_pick(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	char out[64];
	tu_mkdirs(tu_path("%s/dev", root));
	/* Nothing exists: always /dev/console. */
	console_pick(PLATFORM_UML, "", root, out, sizeof(out));
	assert_string_equal(out, "/dev/console");
	tu_write(tu_path("%s/dev/tty0", root), "");
	tu_write(tu_path("%s/dev/tty1", root), "");
	tu_write(tu_path("%s/dev/ttyS0", root), "");
	console_pick(PLATFORM_UML, "ttyS0", root, out, sizeof(out));
	assert_string_equal(out, "/dev/tty0");
	console_pick(PLATFORM_XEN, "", root, out, sizeof(out));
	assert_string_equal(out, "/dev/tty1");
	tu_write(tu_path("%s/dev/hvc0", root), "");
	console_pick(PLATFORM_XEN, "", root, out, sizeof(out));
	assert_string_equal(out, "/dev/hvc0");
	console_pick(PLATFORM_PC, "ttyS0", root, out, sizeof(out));
	assert_string_equal(out, "/dev/ttyS0");
	console_pick(PLATFORM_PC, "", root, out, sizeof(out));
	assert_string_equal(out, "/dev/console");
	console_pick(PLATFORM_PC, "ttyS9", root, out, sizeof(out)); /* absent */
	assert_string_equal(out, "/dev/console");
	/* console= must not lead out of /dev. */
	tu_write(tu_path("%s/etc/passwd", root), "");
	console_pick(PLATFORM_PC, "../etc/passwd", root, out, sizeof(out));
	assert_string_equal(out, "/dev/console");
	tu_rmtree(root);
	free(root);
}

static void test_respawn_rate_limit(void **state)
{
	(void)state;
	struct respawn r = { .pid = 10, .started_ms = 0 };
	/* A shell used for a while: back at once, and the count starts over. */
	assert_int_equal(respawn_exited(&r, 60000), 0);
	assert_int_equal(r.pid, 0);
	assert_int_equal(r.fast_exits, 0);
	/* A broken shell: a few free retries, then 1 s, 2 s, 4 s ... up to the cap. */
	long now = 100000, delays[12];
	for (int i = 0; i < 12; i++) {
		r.pid = 11;
		r.started_ms = now;
		now += 5;
		delays[i] = respawn_exited(&r, now);
		now = r.next_ms;
	}
	for (int i = 0; i < RESPAWN_FREE_TRIES; i++)
		assert_int_equal(delays[i], 0);
	assert_int_equal(delays[RESPAWN_FREE_TRIES], 1000);
	assert_int_equal(delays[RESPAWN_FREE_TRIES + 1], 2000);
	assert_int_equal(delays[RESPAWN_FREE_TRIES + 2], 4000);
	assert_int_equal(delays[11], RESPAWN_MAX_MS);
	/* Fixed again: no delay. */
	r.started_ms = now;
	assert_int_equal(respawn_exited(&r, now + RESPAWN_FAST_MS), 0);
	assert_int_equal(r.fast_exits, 0);
}

static void test_signal_table(void **state)
{
	(void)state;
	assert_int_equal(signal_action(SIGUSR1), SHUTDOWN_HALT);
	assert_int_equal(signal_action(SIGUSR2), SHUTDOWN_POWEROFF);
	assert_int_equal(signal_action(SIGTERM), SHUTDOWN_REBOOT);
	assert_int_equal(signal_action(SIGINT), SHUTDOWN_REBOOT);
	assert_int_equal(signal_action(SIGCHLD), SHUTDOWN_NONE);
	assert_int_equal(signal_action(SIGHUP), SHUTDOWN_NONE);
	assert_int_equal(signal_for(SHUTDOWN_HALT), SIGUSR1);
	assert_int_equal(signal_for(SHUTDOWN_POWEROFF), SIGUSR2);
	assert_int_equal(signal_for(SHUTDOWN_REBOOT), SIGTERM);
	assert_int_equal(signal_for(SHUTDOWN_NONE), 0);

	sigset_t handled, saved, now;
	sigemptyset(&saved);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	signals_block(&handled, &saved);
	sigprocmask(SIG_SETMASK, NULL, &now);
	int sigs[] = { SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGCHLD, SIGHUP };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		assert_true(sigismember(&handled, sigs[i]));
		assert_true(sigismember(&now, sigs[i]));
		assert_false(sigismember(&saved, sigs[i]));
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
}

static void test_ether_interfaces(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const char *ifs[][2] = {
		{ "lo", "772" }, { "vec0", "1" }, { "eth0", "1" }, { "sit0", "776" }, { "wlan0", "1" }, { "tun0", "65534" },
	};
	for (size_t i = 0; i < sizeof(ifs) / sizeof(ifs[0]); i++)
		tu_write(tu_path("%s/sys/class/net/%s/type", root, ifs[i][0]), tu_path("%s\n", ifs[i][1]));
	tu_write(tu_path("%s/sys/class/net/bad name/type", root), "1\n");
	tu_write(tu_path("%s/sys/class/net/waytoolongname0123/type", root), "1\n");
	char names[8][NETIF_NAME_MAX];
	size_t n = netif_list(root, true, names, 8);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "eth0");
	assert_string_equal(names[1], "vec0");
	assert_string_equal(names[2], "wlan0");
	assert_int_equal(netif_list("/nonexistent", true, names, 8), 0);
	tu_rmtree(root);
	free(root);
}

/* A running program called `name` (a copy of sleep, so /proc/PID/comm says name). */
static pid_t start_named(const char *dir, const char *name)
{
	char *exe = strdup(tu_path("%s/%s", dir, name));
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "cp /bin/sleep \"$0\" && exec \"$0\" 60", exe, (char *)NULL);
		_exit(127);
	}
	/* wait until the exec happened: comm changes from sh to name */
	for (int i = 0; i < 500; i++) {
		char comm[32] = "";
		FILE *f = fopen(tu_path("/proc/%d/comm", (int)pid), "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = 0;
			fclose(f);
		}
		if (strncmp(comm, name, strlen(name)) == 0)
			break;
		usleep(10000);
	}
	free(exe);
	return pid;
}

/* Only pid files that name a running dhcpc count: a stale one naming another process is not trusted. */
static void test_dhcpc_pidfiles(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *bin = tu_tmpdir();
	pid_t dhcpc = start_named(bin, "dhcpc");
	pid_t other = start_named(bin, "other");
	tu_write(tu_path("%s/vec0.pid", dir), tu_path("%d\n", (int)dhcpc));
	tu_write(tu_path("%s/eth0.pid", dir), tu_path("%d", (int)other)); /* stale: that pid is something else now */
	tu_write(tu_path("%s/bad.pid", dir), "12x\n");
	tu_write(tu_path("%s/one.pid", dir), "1\n"); /* never PID 1 */
	tu_write(tu_path("%s/eth1.lease", dir), tu_path("%d\n", (int)dhcpc));
	pid_t pids[8];
	size_t n = net_dhcpc_pids(dir, pids, 8);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], dhcpc);
	kill(dhcpc, SIGKILL);
	kill(other, SIGKILL);
	waitpid(dhcpc, NULL, 0);
	waitpid(other, NULL, 0);
	/* exited: not a running dhcpc any more */
	assert_int_equal(net_dhcpc_pids(dir, pids, 8), 0);
	tu_rmtree(dir);
	tu_rmtree(bin);
	free(dir);
	free(bin);
}

static void test_securetty(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	/* No file: nothing made. */
	assert_int_equal(console_securetty_add(root, "/dev/tty0"), 0);
	assert_int_equal(access(tu_path("%s/etc/securetty", root), F_OK), -1);
	tu_write(tu_path("%s/etc/securetty", root), "console\ntty1\ntty10");
	assert_int_equal(console_securetty_add(root, "/dev/tty0"), 0);
	char *t = tu_read(tu_path("%s/etc/securetty", root));
	assert_string_equal(t, "console\ntty1\ntty10\ntty0\n");
	free(t);
	assert_int_equal(console_securetty_add(root, "/dev/tty1"), 0); /* already there */
	assert_int_equal(console_securetty_add(root, "/dev/tty0"), 0);
	t = tu_read(tu_path("%s/etc/securetty", root));
	assert_string_equal(t, "console\ntty1\ntty10\ntty0\n");
	free(t);
	tu_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_console_pick),
		cmocka_unit_test(test_respawn_rate_limit),
		cmocka_unit_test(test_signal_table),
		cmocka_unit_test(test_ether_interfaces),
		cmocka_unit_test(test_dhcpc_pidfiles),
		cmocka_unit_test(test_securetty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
