#include "stage2/shutdown.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "stage2/network.h"
#include "stage2/swap.h"

#define PF_KTHREAD 0x00200000UL /* include/linux/sched.h */
#define KTHREADD_PID 2

/* ---- processes ---- */

int proc_stat_parse(const char *text, struct proc_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	char *end;
	long pid = strtol(text, &end, 10);
	if (end == text || pid <= 0)
		return -EINVAL;
	/* The command name is in parentheses and may itself contain ") ": the last ')' ends it. */
	const char *rp = strrchr(text, ')');
	if (!rp)
		return -EINVAL;
	int ppid, pgrp, session, tty_nr, tpgid;
	unsigned long flags;
	char state;
	if (sscanf(rp + 1, " %c %d %d %d %d %d %lu", &state, &ppid, &pgrp, &session, &tty_nr, &tpgid, &flags) != 7)
		return -EINVAL;
	pi->pid = (pid_t)pid;
	pi->ppid = ppid;
	pi->state = state;
	pi->tty_nr = tty_nr;
	pi->flags = flags;
	return 0;
}

bool proc_is_kernel_thread(const struct proc_info *pi)
{
	return (pi->flags & PF_KTHREAD) || pi->pid == KTHREADD_PID || pi->ppid == KTHREADD_PID;
}

bool proc_is_target(const struct proc_info *pi, pid_t self, const pid_t *spare, size_t nspare)
{
	if (pi->pid == 1 || pi->pid == self || proc_is_kernel_thread(pi))
		return false;
	if (pi->state == 'Z' || pi->state == 'X')
		return false;
	for (size_t i = 0; i < nspare; i++)
		if (spare[i] == pi->pid)
			return false;
	return true;
}

size_t procs_list_targets(const char *procroot, pid_t self, const pid_t *spare, size_t nspare,
			  struct proc_info *out, size_t max)
{
	DIR *d = opendir(procroot);
	if (!d)
		return 0;
	size_t count = 0;
	struct dirent *de;
	while (count < max && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[PATH_MAX], buf[1024];
		snprintf(path, sizeof(path), "%s/%s/stat", procroot, de->d_name);
		if (file_read_small(path, buf, sizeof(buf)) <= 0)
			continue; /* exited meanwhile */
		struct proc_info pi;
		if (proc_stat_parse(buf, &pi) == 0 && proc_is_target(&pi, self, spare, nspare))
			out[count++] = pi;
	}
	closedir(d);
	return count;
}

#define KILL_MAX 2048

static bool pid_in(const pid_t *set, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

size_t kill_and_wait(const struct kill_ops *ops, int sig, long timeout_ms)
{
	struct proc_info procs[KILL_MAX]; /* ~60 KiB of stack */
	pid_t signalled[KILL_MAX];
	size_t nsignalled = 0;
	long start = ops->now_ms(ops->ctx);
	long delay = 2;
	for (;;) {
		size_t n = ops->list(ops->ctx, procs, KILL_MAX);
		for (size_t i = 0; i < n; i++) {
			if (pid_in(signalled, nsignalled, procs[i].pid))
				continue;
			ops->send(ops->ctx, procs[i].pid, sig);
			if (sig == SIGTERM && procs[i].tty_nr != 0)
				ops->send(ops->ctx, procs[i].pid, SIGHUP);
			if (sig != SIGKILL && (procs[i].state == 'T' || procs[i].state == 't'))
				ops->send(ops->ctx, procs[i].pid, SIGCONT); /* stopped: it cannot act on TERM */
			if (nsignalled < KILL_MAX)
				signalled[nsignalled++] = procs[i].pid;
		}
		if (n == 0)
			return 0;
		long left = timeout_ms - (ops->now_ms(ops->ctx) - start);
		if (left <= 0)
			return n;
		ops->pause_ms(ops->ctx, delay < left ? delay : left);
		if (delay < 50)
			delay *= 2;
	}
}

/* ---- mounts ---- */

static bool path_at_or_under(const char *path, const char *top)
{
	size_t n = strlen(top);
	return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool mount_is_kept(const struct mount_entry *e)
{
	return strcmp(e->target, "/") == 0 || path_at_or_under(e->target, "/proc") ||
	       path_at_or_under(e->target, "/sys") || path_at_or_under(e->target, "/dev");
}

#define UMOUNT_MAX_PASSES 16

static void note_busy(struct umount_report *rep, const char *target, int err, bool ro, bool expected)
{
	if (!expected)
		rep->nunexpected++;
	if (rep->nbusy >= UMOUNT_REPORT_MAX)
		return;
	snprintf(rep->busy[rep->nbusy].target, sizeof(rep->busy[0].target), "%s", target);
	rep->busy[rep->nbusy].err = err;
	rep->busy[rep->nbusy].ro = ro;
	rep->busy[rep->nbusy].expected = expected;
	rep->nbusy++;
}

static bool has_child_mount(const struct mount_table *t, const struct mount_entry *e)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->entries[i].parent_id == e->id && &t->entries[i] != e)
			return true;
	return false;
}

bool fstype_in_memory(const char *fstype)
{
	static const char *const types[] = { "tmpfs", "ramfs", "proc", "sysfs", "devtmpfs", "devpts", "mqueue",
					     "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "configfs",
					     "pstore", "bpf", "hugetlbfs", "binfmt_misc", NULL };
	for (const char *const *t = types; *t; t++)
		if (strcmp(fstype, *t) == 0)
			return true;
	return false;
}

bool mount_can_hang(const struct mount_entry *e)
{
	bool ro = mount_option_present(e->options, "ro") || mount_option_present(e->super_options, "ro");
	return !fstype_in_memory(e->fstype) && !ro;
}

/* The last unmount error of each mount, by mount id: the report names it without trying once more. */
struct umount_errors {
	int id[64], err[64];
	size_t n;
};

static void remember_error(struct umount_errors *u, int id, int err)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->id[i] == id) {
			u->err[i] = err;
			return;
		}
	if (u->n < 64) {
		u->id[u->n] = id;
		u->err[u->n++] = err;
	}
}

static int recalled_error(const struct umount_errors *u, int id)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->id[i] == id)
			return u->err[i];
	return 0;
}

void unmount_all(const struct umount_ops *ops, struct umount_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	struct umount_errors errors = { .n = 0 };
	struct mount_table t;
	/* Newest first: a mount made on top of another goes before it.  Repeat while a pass freed something,
	 * since one unmount can make an older one possible (a loop-backed file on the medium, stacked mounts). */
	for (int pass = 0; pass < UMOUNT_MAX_PASSES; pass++) {
		if (ops->read(ops->ctx, &t) < 0)
			break;
		int progress = 0, candidates = 0;
		for (size_t i = t.count; i-- > 0;) {
			const struct mount_entry *e = &t.entries[i];
			if (mount_is_kept(e))
				continue;
			candidates++;
			int err = ops->umount(ops->ctx, e);
			if (err == 0)
				progress++;
			else
				remember_error(&errors, e->id, err);
		}
		mountinfo_free(&t);
		rep->passes++;
		rep->unmounted += progress;
		if (candidates == 0 || progress == 0)
			break;
	}
	/* What is left is busy: keep its data safe read-only, and name it. */
	struct mount_entry root = { .target = "/", .fstype = "", .options = "", .super_options = "" };
	if (ops->read(ops->ctx, &t) < 0) {
		rep->root_ro_err = ops->remount_ro(ops->ctx, &root);
		return;
	}
	const struct mount_entry *found_root = NULL;
	for (size_t i = t.count; i-- > 0;) {
		const struct mount_entry *e = &t.entries[i];
		if (strcmp(e->target, "/") == 0 && !found_root)
			found_root = e;
		if (mount_is_kept(e))
			continue;
		int err = recalled_error(&errors, e->id);
		if (err == 0 && (err = ops->umount(ops->ctx, e)) == 0) {
			rep->unmounted++; /* appeared after the passes */
			continue;
		}
		bool was_ro = mount_option_present(e->options, "ro") || mount_option_present(e->super_options, "ro");
		bool expected = was_ro || has_child_mount(&t, e);
		note_busy(rep, e->target, -err, ops->remount_ro(ops->ctx, e) == 0, expected);
	}
	rep->root_ro_err = ops->remount_ro(ops->ctx, found_root ? found_root : &root);
	mountinfo_free(&t);
}

/* ---- the real operations ---- */

int run_bounded(int (*fn)(void *arg), void *arg, long timeout_ms)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		return err;
	}
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	long deadline = monotonic_ms() + timeout_ms;
	int rc = ETIMEDOUT, status;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
			break;
		}
		long left = deadline - monotonic_ms();
		if (left <= 0) {
			kill(pid, SIGKILL); /* takes effect if it ever leaves the kernel */
			break;
		}
		struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
		sigtimedwait(&chld, NULL, &ts);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Processes the kill phases leave alone: the DHCP clients, stopped by the network step after them. */
struct spared {
	const pid_t *pids;
	size_t n;
};

static size_t real_list(void *ctx, struct proc_info *out, size_t max)
{
	const struct spared *s = ctx;
	return procs_list_targets("/proc", getpid(), s->pids, s->n, out, max);
}

static void real_send(void *ctx, pid_t pid, int sig)
{
	(void)ctx;
	kill(pid, sig);
}

static void real_pause(void *ctx, long ms)
{
	(void)ctx;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static long real_now(void *ctx)
{
	(void)ctx;
	return monotonic_ms();
}

#define UMOUNT_TIMEOUT_MS 5000
#define SYNC_TIMEOUT_MS 10000

static int do_umount(void *arg) { return umount2(arg, 0) == 0 ? 0 : errno; }
static int do_remount_ro(void *arg)
{
	return mount(NULL, arg, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0 ? 0 : errno;
}
static int do_sync(void *arg)
{
	(void)arg;
	sync();
	return 0;
}

static int real_read(void *ctx, struct mount_table *t)
{
	(void)ctx;
	return mountinfo_read("/proc/self/mountinfo", t);
}

/* A child per call only where the call can hang (a dead disk, an unreachable server): forks are not free,
 * least of all under UML, where every process is a host process. */
static int real_umount(void *ctx, const struct mount_entry *e)
{
	(void)ctx;
	if (!mount_can_hang(e))
		return -do_umount(e->target);
	return -run_bounded(do_umount, e->target, UMOUNT_TIMEOUT_MS);
}

static int real_remount_ro(void *ctx, const struct mount_entry *e)
{
	(void)ctx;
	if (!mount_can_hang(e))
		return -do_remount_ro(e->target);
	return -run_bounded(do_remount_ro, e->target, UMOUNT_TIMEOUT_MS);
}

static void freeze(void)
{
	for (;;)
		pause();
}

static void stop_processes(long timeout_ms)
{
	pid_t pids[16];
	struct spared spared = { pids, net_dhcpc_pids(DHCPC_RUNDIR, pids, 16) };
	struct kill_ops ops = { real_list, real_send, real_pause, real_now, &spared };

	log_step("Sent all processes the TERM signal...");
	size_t left = kill_and_wait(&ops, SIGTERM, timeout_ms);
	if (left)
		log_debug("%zu processes still there after %ld ms", left, timeout_ms);
	left = kill_and_wait(&ops, SIGKILL, 3000);
	log_step("Sent all processes the KILL signal...");
	if (left)
		log_warn("%zu processes survived SIGKILL (stuck in the kernel); going on", left);
}

static void swap_off(void)
{
	char failed[256];
	int err;
	int left = swap_off_all("/proc/swaps", failed, sizeof(failed), &err);
	log_begin("Turning off swap");
	log_done(left ? "failed" : "done");
	if (left)
		log_error("unable to turn off swap on %s: %s (%d still active)", failed, strerror(err), left);
}

static void unmount_filesystems(void)
{
	struct umount_ops ops = { real_read, real_umount, real_remount_ro, NULL };
	struct umount_report rep;
	unmount_all(&ops, &rep);
	log_begin("Unmounting remaining file systems");
	log_done(rep.nunexpected == 0 ? "done" : "failed");
	for (int i = 0; i < rep.nbusy; i++) {
		const char *ro = rep.busy[i].ro ? "remounted read-only" : "could not remount it read-only either";
		if (rep.busy[i].expected)
			log_debug("%s stays mounted (%s): %s", rep.busy[i].target, strerror(rep.busy[i].err), ro);
		else
			log_error("unable to unmount %s: %s; %s", rep.busy[i].target, strerror(rep.busy[i].err), ro);
	}
	if (rep.root_ro_err)
		log_error("unable to remount / read-only: %s", strerror(-rep.root_ro_err));
}

void shutdown_run(enum shutdown_kind kind, const struct live_config *cfg)
{
	long timeout_ms = (cfg->shutdown_timeout > 0 ? cfg->shutdown_timeout : 5) * 1000L;
	long t0 = monotonic_ms();
	stop_processes(timeout_ms);
	long t1 = monotonic_ms();
	net_stop(3000);
	long t2 = monotonic_ms();
	swap_off();
	long t3 = monotonic_ms();
	unmount_filesystems();
	long t4 = monotonic_ms();
	int err = run_bounded(do_sync, NULL, SYNC_TIMEOUT_MS);
	if (err)
		log_error("sync did not finish: %s", strerror(err));
	log_debug("shutdown took %ld ms: processes %ld, network %ld, swap %ld, unmount %ld, sync %ld", monotonic_ms() - t0,
		  t1 - t0, t2 - t1, t3 - t2, t4 - t3, monotonic_ms() - t4);
	log_step("Shutting down...");
	tcdrain(STDOUT_FILENO); /* a serial console still sending the last lines */
	int cmd = kind == SHUTDOWN_REBOOT ? RB_AUTOBOOT : kind == SHUTDOWN_HALT ? RB_HALT_SYSTEM : RB_POWER_OFF;
	reboot(cmd);
	log_error("unable to %s: reboot(2) failed: %s", kind == SHUTDOWN_REBOOT ? "reboot" : "power off",
		  strerror(errno));
	freeze();
	__builtin_unreachable();
}
