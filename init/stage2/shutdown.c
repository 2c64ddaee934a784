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
#include <sys/swap.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "stage2/fstab.h"
#include "stage2/network.h"
#include "stage2/swap.h"

#define PF_KTHREAD 0x00200000UL /* include/linux/sched.h */
#define KTHREADD_PID 2

/* ---- processes ---- */

static bool pid_in(const pid_t *set, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

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
	if (pi->state == 'Z' || pi->state == 'X' || pi->storage)
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
		if (proc_stat_parse(buf, &pi) < 0)
			continue;
		/* argv[0] as the process left it; empty for kernel threads and zombies */
		snprintf(path, sizeof(path), "%s/%s/cmdline", procroot, de->d_name);
		pi.storage = file_read_small(path, buf, 2) > 0 && buf[0] == '@';
		if (proc_is_target(&pi, self, spare, nspare))
			out[count++] = pi;
	}
	closedir(d);
	return count;
}

static bool holds(const char *procroot, const char *pid, const char *dev)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s/fd", procroot, pid);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		char path[PATH_MAX + 256], link[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, dev) == 0;
		}
	}
	closedir(d);
	return found;
}

size_t procs_add_children(const char *procroot, pid_t *pids, size_t n, size_t max)
{
	DIR *d = opendir(procroot);
	if (!d)
		return n;
	size_t parents = n;
	struct dirent *de;
	while (n < max && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[PATH_MAX], buf[1024];
		snprintf(path, sizeof(path), "%s/%s/stat", procroot, de->d_name);
		if (file_read_small(path, buf, sizeof(buf)) <= 0)
			continue;
		struct proc_info pi;
		if (proc_stat_parse(buf, &pi) == 0 && pid_in(pids, parents, pi.ppid) && !pid_in(pids, n, pi.pid))
			pids[n++] = pi.pid;
	}
	closedir(d);
	return n;
}

size_t procs_holding(const char *procroot, const char *dev, pid_t *out, size_t max)
{
	DIR *d = opendir(procroot);
	if (!d)
		return 0;
	size_t count = 0;
	struct dirent *de;
	while (count < max && (de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && holds(procroot, de->d_name, dev))
			out[count++] = (pid_t)strtol(de->d_name, NULL, 10);
	closedir(d);
	return count;
}

#define KILL_MAX 2048

/* Stop every target not in the set yet and add it, listing again until a listing brings no new one: a stopped
 * process cannot fork, so a fork loop runs dry.  Returns the last listing's count (all current targets). */
static size_t freeze_targets(const struct kill_ops *ops, struct proc_info *procs, pid_t *set, int *tty, size_t *nset)
{
	size_t n = 0;
	for (int round = 0; round < 100; round++) {
		n = ops->list(ops->ctx, procs, KILL_MAX);
		bool fresh = false;
		for (size_t i = 0; i < n && *nset < KILL_MAX; i++) {
			if (pid_in(set, *nset, procs[i].pid))
				continue;
			ops->send(ops->ctx, procs[i].pid, SIGSTOP);
			tty[*nset] = procs[i].tty_nr;
			set[(*nset)++] = procs[i].pid;
			fresh = true;
		}
		if (!fresh)
			break;
	}
	return n;
}

/* After KILL: until the killed are reaped (zombies included) or the time is up. */
static void wait_reaped(const struct kill_ops *ops, const pid_t *pids, size_t n, long start, long timeout_ms)
{
	for (size_t i = 0; i < n; i++)
		while (ops->exists(ops->ctx, pids[i])) {
			long left = timeout_ms - (ops->now_ms(ops->ctx) - start);
			if (left <= 0)
				return;
			ops->pause_ms(ops->ctx, left < 10 ? left : 10);
		}
}

size_t kill_and_wait(const struct kill_ops *ops, int sig, long timeout_ms)
{
	struct proc_info procs[KILL_MAX]; /* ~70 KiB of stack */
	pid_t signalled[KILL_MAX];
	int tty[KILL_MAX];
	size_t nsignalled = 0;
	long start = ops->now_ms(ops->ctx);
	long delay = 2;
	for (;;) {
		size_t first = nsignalled;
		size_t n = freeze_targets(ops, procs, signalled, tty, &nsignalled);
		for (size_t i = first; i < nsignalled; i++) {
			ops->send(ops->ctx, signalled[i], sig);
			if (sig == SIGTERM && tty[i] != 0)
				ops->send(ops->ctx, signalled[i], SIGHUP);
		}
		if (sig != SIGKILL) /* KILL needs no CONT: it ends a stopped process too */
			for (size_t i = first; i < nsignalled; i++)
				ops->send(ops->ctx, signalled[i], SIGCONT);
		if (n == 0)
			break;
		long left = timeout_ms - (ops->now_ms(ops->ctx) - start);
		if (left <= 0)
			return n;
		ops->pause_ms(ops->ctx, delay < left ? delay : left);
		if (delay < 50)
			delay *= 2;
	}
	if (sig == SIGKILL)
		wait_reaped(ops, signalled, nsignalled, start, timeout_ms);
	return 0;
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
#define UMOUNT_PASS_PAUSE_MS 50

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

static void note_done(struct umount_report *rep, const char *target)
{
	if (rep->unmounted < UMOUNT_REPORT_MAX)
		snprintf(rep->done[rep->unmounted], sizeof(rep->done[0]), "%s", target);
	rep->unmounted++;
}

static bool selected(const struct umount_ops *ops, const struct mount_entry *e)
{
	return !mount_is_kept(e) && (!ops->only || ops->only(e));
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

bool mount_needs_process(const struct mount_entry *e)
{
	static const char *const types[] = { "fuse", "fuseblk", "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", NULL };
	if (strncmp(e->fstype, "fuse.", 5) == 0)
		return true;
	for (const char *const *t = types; *t; t++)
		if (strcmp(e->fstype, *t) == 0)
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
		if (pass > 0)
			ops->pause_ms(ops->ctx, UMOUNT_PASS_PAUSE_MS);
		if (ops->read(ops->ctx, &t) < 0)
			break;
		int progress = 0, candidates = 0;
		for (size_t i = t.count; i-- > 0;) {
			const struct mount_entry *e = &t.entries[i];
			if (!selected(ops, e))
				continue;
			candidates++;
			int err = ops->umount(ops->ctx, e);
			if (err == 0) {
				progress++;
				note_done(rep, e->target);
			} else {
				remember_error(&errors, e->id, err);
			}
		}
		mountinfo_free(&t);
		rep->passes++;
		if (candidates == 0 || progress == 0)
			break;
	}
	/* What is left is busy: keep its data safe read-only, and name it. */
	struct mount_entry root = { .target = "/", .fstype = "", .options = "", .super_options = "" };
	if (ops->read(ops->ctx, &t) < 0) {
		if (!ops->only)
			rep->root_ro_err = ops->remount_ro(ops->ctx, &root);
		return;
	}
	const struct mount_entry *found_root = NULL;
	for (size_t i = t.count; i-- > 0;) {
		const struct mount_entry *e = &t.entries[i];
		if (strcmp(e->target, "/") == 0 && !found_root)
			found_root = e;
		if (!selected(ops, e))
			continue;
		int err = recalled_error(&errors, e->id);
		if (err == 0 && (err = ops->umount(ops->ctx, e)) == 0) {
			note_done(rep, e->target); /* appeared after the passes */
			continue;
		}
		bool was_ro = mount_option_present(e->options, "ro") || mount_option_present(e->super_options, "ro");
		bool expected = was_ro || has_child_mount(&t, e);
		note_busy(rep, e->target, -err, ops->remount_ro(ops->ctx, e) == 0, expected);
	}
	if (!ops->only)
		rep->root_ro_err = ops->remount_ro(ops->ctx, found_root ? found_root : &root);
	mountinfo_free(&t);
}

/* ---- the real operations ---- */

/* Processes the kill phases leave alone: the DHCP clients (stopped by the network step) and, in the first
 * round, the FUSE daemons (their filesystems are unmounted first). */
struct spared {
	pid_t pids[64];
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

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void real_pause(void *ctx, long ms)
{
	(void)ctx;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	reap();
}

static long real_now(void *ctx)
{
	(void)ctx;
	return monotonic_ms();
}

static bool real_exists(void *ctx, pid_t pid)
{
	(void)ctx;
	reap(); /* all orphans are ours: a zombie of a killed parent is reaped here */
	return kill(pid, 0) == 0 || errno == EPERM;
}

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
 * least of all under UML, where every process is a host process.  It is waited for while the page cache
 * drains: unmounting a slow USB stick with a large copy on it takes as long as the writing takes. */
static int real_umount(void *ctx, const struct mount_entry *e)
{
	(void)ctx;
	if (!mount_can_hang(e))
		return -do_umount(e->target);
	return -run_while_progress(do_umount, e->target, &unwritten_probe, FLUSH_STALL_MS);
}

static int real_remount_ro(void *ctx, const struct mount_entry *e)
{
	(void)ctx;
	if (!mount_can_hang(e))
		return -do_remount_ro(e->target);
	return -run_while_progress(do_remount_ro, e->target, &unwritten_probe, FLUSH_STALL_MS);
}

static void freeze(void)
{
	for (;;)
		pause();
}

/* TERM, wait up to timeout_ms, KILL, wait until reaped.  The DHCP clients and the extra pids are spared. */
static void stop_processes(long timeout_ms, const pid_t *extra, size_t nextra, bool say)
{
	static struct spared spared;
	spared.n = net_dhcpc_pids(DHCPC_RUNDIR, spared.pids, 16);
	for (size_t i = 0; i < nextra && spared.n < 64; i++)
		spared.pids[spared.n++] = extra[i];
	struct kill_ops ops = { real_list, real_send, real_pause, real_now, real_exists, &spared };

	if (say)
		log_step("Sent all processes the TERM signal...");
	size_t left = kill_and_wait(&ops, SIGTERM, timeout_ms);
	if (left)
		log_debug("%zu processes still there after %ld ms", left, timeout_ms);
	left = kill_and_wait(&ops, SIGKILL, 3000);
	if (say)
		log_step("Sent all processes the KILL signal...");
	if (left)
		log_warn("%zu processes survived SIGKILL (stuck in the kernel); going on", left);
}

/* The swap still in use, in kB (the Used column of /proc/swaps): what swapoff has left to read back. */
static long swap_used_kb(void *arg)
{
	(void)arg;
	char *text;
	if (file_read("/proc/swaps", &text, NULL) < 0)
		return -1;
	long kb = swaps_used_kb(text);
	free(text);
	return kb;
}

static const struct progress_probe swap_probe = { swap_used_kb, NULL, "Reading %ld MB back from swap..." };

static int do_swapoff(void *arg) { return swapoff(arg) == 0 ? 0 : errno; }

static void swap_off(void)
{
	char *text;
	int r = file_read("/proc/swaps", &text, NULL);
	if (r < 0) {
		log_error("unable to read /proc/swaps: %s", strerror(-r));
		return;
	}
	static char paths[64][256];
	size_t n = swaps_parse(text, paths, 64);
	free(text);
	int left = 0;
	for (size_t i = 0; i < n; i++) {
		int err = run_while_progress(do_swapoff, paths[i], &swap_probe, FLUSH_STALL_MS);
		if (err) {
			log_error("unable to turn off swap on %s: %s", paths[i], strerror(err));
			left++;
		}
	}
	log_begin("Turning off swap");
	log_done(left ? "failed" : "done");
}

static const char *shown(const char *target, const char *hide)
{
	size_t n = strlen(hide);
	if (n == 0 || strncmp(target, hide, n) != 0)
		return target;
	return target[n] ? target + n : "/";
}

static void print_report(const struct umount_report *rep, const char *hide)
{
	if (rep->unmounted > 0) {
		char line[1024] = "";
		size_t len = 0;
		for (int i = 0; i < rep->unmounted && i < UMOUNT_REPORT_MAX && len < sizeof(line); i++)
			len += snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", shown(rep->done[i], hide));
		log_step("Unmounted %s%s", line, rep->unmounted > UMOUNT_REPORT_MAX ? " ..." : "");
	}
	for (int i = 0; i < rep->nbusy; i++) {
		const char *ro = rep->busy[i].ro ? "remounted read-only" : "could not remount it read-only either";
		const char *name = shown(rep->busy[i].target, hide);
		if (rep->busy[i].expected)
			log_step("Left mounted %s (%s): %s", name, strerror(rep->busy[i].err), ro);
		else
			log_error("unable to unmount %s: %s; %s", name, strerror(rep->busy[i].err), ro);
	}
}

static void real_pause_only(void *ctx, long ms) { real_pause(ctx, ms); }

/* FUSE, NFS, CIFS: while their daemons and the network are still there. */
static void unmount_process_backed(void)
{
	struct umount_ops ops = { real_read, real_umount, real_remount_ro, real_pause_only, mount_needs_process, NULL };
	struct umount_report rep;
	unmount_all(&ops, &rep);
	if (rep.unmounted == 0 && rep.nbusy == 0)
		return;
	log_begin("Unmounting FUSE and network file systems");
	log_done(rep.nunexpected == 0 ? "done" : "failed");
	print_report(&rep, "");
}

int shutdown_unmount(const char *hide)
{
	struct umount_ops ops = { real_read, real_umount, real_remount_ro, real_pause_only, NULL, NULL };
	struct umount_report rep;
	unmount_all(&ops, &rep);
	log_begin("Unmounting remaining file systems");
	log_done(rep.nunexpected == 0 ? "done" : "failed");
	print_report(&rep, hide);
	if (rep.root_ro_err)
		log_error("unable to remount / read-only: %s", strerror(-rep.root_ro_err));
	return rep.nunexpected;
}

/* sync, then wait while the page cache drains: sync(2) returns when the writes were issued on some kernels
 * and filesystems, and a FUSE or network filesystem may write back later still. */
static void flush(void)
{
	int err = run_while_progress(do_sync, NULL, &unwritten_probe, FLUSH_STALL_MS);
	if (err)
		log_error("sync did not finish: %s (no progress for %d s)", strerror(err), FLUSH_STALL_MS / 1000);
}

/* A FUSE daemon writes its caches back after its filesystem is unmounted (fuse2fs, fuse-zip), then leaves by
 * itself: wait for that while it runs or the page cache drains, up to timeout_ms without progress. */
static void wait_exited(const pid_t *pids, size_t n, long timeout_ms)
{
	struct progress_watch w;
	progress_watch_start(&w, monotonic_ms(), unwritten_probe.measure(NULL));
	for (size_t i = 0; i < n; i++)
		while (real_exists(NULL, pids[i])) {
			long now = monotonic_ms();
			if (progress_watch_stalled(&w, now, unwritten_probe.measure(NULL), timeout_ms))
				return;
			real_pause(NULL, 20);
		}
}

void shutdown_run(enum shutdown_kind kind, const struct live_config *cfg)
{
	(void)kind;
	long timeout_ms = (cfg->shutdown_timeout > 0 ? cfg->shutdown_timeout : 5) * 1000L;
	long t0 = monotonic_ms();
	/* FUSE daemons (they hold /dev/fuse) and their children (sshfs's ssh) live until their filesystems are
	 * gone, which needs their users gone first. */
	pid_t fuse[48];
	size_t nfuse = procs_add_children("/proc", fuse, procs_holding("/proc", "/dev/fuse", fuse, 16), 48);
	stop_processes(timeout_ms, fuse, nfuse, true);
	unmount_process_backed();
	wait_exited(fuse, nfuse, timeout_ms);
	stop_processes(timeout_ms, NULL, 0, false); /* FUSE daemons whose filesystems stayed, and the rest */
	long t1 = monotonic_ms();
	net_stop(3000);
	long t2 = monotonic_ms();
	swap_off();
	long t3 = monotonic_ms();
	flush();
	log_debug("shutdown took %ld ms: processes %ld, network %ld, swap %ld, sync %ld", monotonic_ms() - t0, t1 - t0,
		  t2 - t1, t3 - t2, monotonic_ms() - t3);
}

void shutdown_reboot(enum shutdown_kind kind)
{
	flush();
	log_step("Shutting down...");
	tcdrain(STDOUT_FILENO); /* a serial console still sending the last lines */
	int cmd = kind == SHUTDOWN_REBOOT ? RB_AUTOBOOT : kind == SHUTDOWN_HALT ? RB_HALT_SYSTEM : RB_POWER_OFF;
	reboot(cmd);
	log_error("unable to %s: reboot(2) failed: %s", kind == SHUTDOWN_REBOOT ? "reboot" : "power off",
		  strerror(errno));
	freeze();
	__builtin_unreachable();
}
