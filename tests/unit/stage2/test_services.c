/* stage2/services.c on a fixture service tree with real processes (sh scripts), the clock given by the test:
 * loading and order, the backoff rule, respawn through finish, stdin and the log file, stop with TERM and with
 * KILL after the timeout, the control requests; and stage2/dpkg.c's package count on a fixture status file. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "stage2/dpkg.h"
#include "stage2/services.h"
#include "testutil.h"

static void service(const char *root, const char *name, const char *run, const char *finish, bool down)
{
	tu_mkdirs(tu_path("%s/svc/%s", root, name));
	if (run) {
		char *p = tu_path("%s/svc/%s/run", root, name);
		tu_write(p, run);
		chmod(p, 0755);
	}
	if (finish) {
		char *p = tu_path("%s/svc/%s/finish", root, name);
		tu_write(p, finish);
		chmod(p, 0755);
	}
	if (down)
		tu_write(tu_path("%s/svc/%s/down", root, name), "");
}

static struct services S;

static void test_load_fixture_tree(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	service(root, "zeta", "#!/bin/sh\nexec sleep 100\n", NULL, false);
	service(root, "alpha", "#!/bin/sh\nexit 0\n", "#!/bin/sh\nexit 0\n", false);
	service(root, "mid", "#!/bin/sh\nexit 0\n", NULL, true);
	service(root, "norun", NULL, NULL, false);
	tu_mkdirs(tu_path("%s/svc/notexec", root));
	tu_write(tu_path("%s/svc/notexec/run", root), "#!/bin/sh\n");
	tu_write(tu_path("%s/svc/plainfile", root), "");
	char err[256];
	int n = services_load(&S, tu_path("%s/svc", root), tu_path("%s/log", root), err, sizeof(err));
	assert_int_equal(n, 3);
	assert_string_equal(S.svc[0].name, "alpha");
	assert_string_equal(S.svc[1].name, "mid");
	assert_string_equal(S.svc[2].name, "zeta");
	assert_true(S.svc[0].has_finish && !S.svc[2].has_finish);
	assert_true(S.svc[0].want_up && !S.svc[1].want_up && S.svc[2].want_up);
	assert_non_null(strstr(err, "run is missing or not executable"));
	/* No directory: no services, no error. */
	assert_int_equal(services_load(&S, tu_path("%s/none", root), "/x", err, sizeof(err)), 0);
	assert_string_equal(err, "");
	tu_rmtree(root);
	free(root);
}

static void test_backoff_rule(void **state)
{
	(void)state;
	struct service sv = { .backoff_ms = SVC_BACKOFF_MIN_MS, .started_ms = 1000 };
	long want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };
	long now = 1000;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		sv.started_ms = now;
		now += 500; /* died after half a second */
		assert_int_equal(svc_backoff_next(&sv, now), want[i]);
	}
	/* A run that stayed up for 60 s was healthy: back to 1 s. */
	sv.started_ms = now;
	assert_int_equal(svc_backoff_next(&sv, now + SVC_HEALTHY_MS), 1000);
	sv.started_ms = now + SVC_HEALTHY_MS; /* restarted, and died 10 ms later */
	assert_int_equal(svc_backoff_next(&sv, now + SVC_HEALTHY_MS + 10), 2000);
}

/* Wait for a child of ours and hand it to the table. */
static void reap_one(long now)
{
	int status;
	pid_t pid = waitpid(-1, &status, 0);
	assert_true(pid > 0);
	assert_true(services_reaped(&S, pid, status, now));
}

static long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_respawn_through_finish(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	tu_mkdirs(tu_path("%s/log", root));
	service(root, "flaky", "#!/bin/sh\necho \"run $$ stdin=$(readlink /proc/self/fd/0)\"\nexit 3\n",
		"#!/bin/sh\necho \"finish $1 $2\"\n", false);
	char err[256];
	assert_int_equal(services_load(&S, tu_path("%s/svc", root), tu_path("%s/log", root), err, sizeof(err)), 1);
	struct service *sv = services_find(&S, "flaky");
	assert_int_equal(services_tick(&S, 10000), -1);
	assert_int_equal(sv->state, SVC_RUNNING);
	pid_t first = sv->pid;
	assert_true(first > 0);
	reap_one(10100);                        /* run exits 3 after 100 ms */
	assert_int_equal(sv->state, SVC_FINISHING);
	reap_one(10200);                        /* finish done */
	assert_int_equal(sv->state, SVC_BACKOFF);
	assert_int_equal(services_tick(&S, 10500), 600); /* 1 s after the exit */
	assert_int_equal(sv->pid, 0);
	services_tick(&S, 11100);
	assert_int_equal(sv->state, SVC_RUNNING);
	assert_int_equal(sv->restarts, 1);
	char buf[512];
	services_status(&S, "flaky", 11100, buf, sizeof(buf));
	assert_non_null(strstr(buf, "flaky state=running pid="));
	assert_non_null(strstr(buf, "restarts=1 want=up last_exit=3"));
	reap_one(11150);
	reap_one(11200);
	assert_int_equal(services_tick(&S, 11200), 1950); /* second exit: 2 s */
	services_status(&S, NULL, 11200, buf, sizeof(buf));
	assert_non_null(strstr(buf, "flaky state=backoff next_start=2s restarts=1"));
	char *log = tu_read(tu_path("%s/log/flaky", root));
	assert_non_null(strstr(log, tu_path("run %d stdin=/dev/null\nfinish 3 -1\n", (int)first)));
	assert_non_null(strstr(log + 10, "finish 3 -1\n"));
	free(log);
	/* stop during the backoff: down, nothing started later. */
	services_stop(&S, sv, 11300);
	assert_int_equal(services_tick(&S, 20000), -1);
	assert_int_equal(sv->state, SVC_DOWN);
	tu_rmtree(root);
	free(root);
}

static bool gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Processes of process group pgrp that are not zombies, from /proc/PID/stat. */
static int live_members(pid_t pgrp)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *text = de->d_name[0] >= '1' && de->d_name[0] <= '9' ? tu_read(tu_path("/proc/%s/stat", de->d_name))
									 : NULL;
		const char *rp = text ? strrchr(text, ')') : NULL;
		char state;
		int ppid, group;
		if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &group) == 3 && group == pgrp && state != 'Z')
			n++;
		free(text);
	}
	closedir(d);
	return n;
}

static void test_stop_all_term_then_kill(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	tu_mkdirs(tu_path("%s/log", root));
	/* obeys TERM; ignores TERM (and its child too: both must go with the group's KILL); down. */
	service(root, "a-obeys", "#!/bin/sh\nexec sleep 100\n", NULL, false);
	service(root, "b-stubborn", "#!/bin/sh\ntrap '' TERM\nsleep 100 &\necho started\nwhile :; do sleep 1; done\n",
		NULL, false);
	service(root, "c-down", "#!/bin/sh\nexec sleep 100\n", NULL, true);
	char err[256];
	assert_int_equal(services_load(&S, tu_path("%s/svc", root), tu_path("%s/log", root), err, sizeof(err)), 3);
	S.stop_timeout_ms = 400;
	services_tick(&S, 1);
	assert_int_equal(services_find(&S, "c-down")->pid, 0);
	pid_t obeys = services_find(&S, "a-obeys")->pid, stubborn = services_find(&S, "b-stubborn")->pid;
	for (int i = 0; i < 200; i++) { /* until the trap is set */
		char *log = tu_read(tu_path("%s/log/b-stubborn", root));
		bool ready = log && strstr(log, "started");
		free(log);
		if (ready)
			break;
		usleep(10000);
	}
	long t0 = wall_ms();
	services_stop_all(&S);
	long took = wall_ms() - t0;
	assert_true(gone(obeys) && gone(stubborn));
	/* Its background sleep went with it (dead: at most a zombie waiting for whoever adopted it). */
	for (int i = 0; i < 100 && live_members(stubborn) > 0; i++) /* SIGKILL is delivered asynchronously */
		usleep(10000);
	assert_int_equal(live_members(stubborn), 0);
	assert_true(took >= 400);            /* the stubborn one had its full TERM period */
	for (size_t i = 0; i < S.count; i++)
		assert_int_equal(S.svc[i].state, SVC_DOWN);
	tu_rmtree(root);
	free(root);
}

static void test_requests(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	tu_mkdirs(tu_path("%s/log", root));
	service(root, "web", "#!/bin/sh\nexec sleep 100\n", NULL, true);
	char err[256], reply[1024];
	services_load(&S, tu_path("%s/svc", root), tu_path("%s/log", root), err, sizeof(err));
	S.stop_timeout_ms = 2000;
	assert_int_equal(services_request(&S, "status", 5, reply, sizeof(reply)), 0);
	assert_string_equal(reply, "ok\nweb state=down restarts=0 want=down\n");
	assert_int_equal(services_request(&S, "start nothere", 5, reply, sizeof(reply)), -1);
	assert_non_null(strstr(reply, "error: no service nothere"));
	assert_int_equal(services_request(&S, "frobnicate web", 5, reply, sizeof(reply)), -1);
	assert_int_equal(services_request(&S, "stop", 5, reply, sizeof(reply)), -1);
	assert_int_equal(services_request(&S, "start web", 1000, reply, sizeof(reply)), 0);
	struct service *sv = services_find(&S, "web");
	pid_t first = sv->pid;
	assert_true(first > 0 && sv->state == SVC_RUNNING);
	assert_int_equal(services_request(&S, "restart web", 4000, reply, sizeof(reply)), 0);
	assert_non_null(strstr(reply, "web state=stopping"));
	reap_one(4100);                               /* TERM took it */
	services_tick(&S, 4100);                      /* and the restart starts it again */
	assert_true(sv->state == SVC_RUNNING && sv->pid != first && sv->restarts == 1);
	assert_int_equal(services_request(&S, "stop web", 5000, reply, sizeof(reply)), 0);
	reap_one(5100);
	services_status(&S, "web", 5100, reply, sizeof(reply));
	assert_string_equal(reply, "web state=down restarts=1 want=down last_exit=signal:15\n");
	tu_rmtree(root);
	free(root);
}

static void test_dpkg_count(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	char *p = tu_path("%s/status", root);
	tu_write(p, "Package: a\nStatus: install ok installed\nVersion: 1\n\n"
		    "Package: b\nStatus: deinstall ok config-files\n\n"
		    "Package: c\nStatus: hold ok installed\n\n"
		    "Package: d\nStatus: install reinstreq half-installed\n\n"
		    "Package: e\nDescription: Status: install ok installed (not a field)\nStatus: install ok installed\n");
	assert_int_equal(dpkg_installed_count(p), 3);
	assert_int_equal(dpkg_installed_count(tu_path("%s/none", root)), -ENOENT);
	tu_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_fixture_tree),
		cmocka_unit_test(test_backoff_rule),
		cmocka_unit_test(test_respawn_through_finish),
		cmocka_unit_test(test_stop_all_term_then_kill),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_dpkg_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
