/* stage2/shutdown: who gets signalled, how the waiting ends, the unmount order and repeat-until-no-progress,
 * driven through fake process and mount tables with a fake clock. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>

#include "common/clock.h"
#include "stage2/exitrd.h"
#include "stage2/flush.h"
#include "stage2/shutdown.h"
#include "stage2/swap.h"
#include "testutil.h"

/* ---- /proc/PID/stat ---- */

static void test_stat_parse(void **state)
{
	(void)state;
	struct proc_info pi;
	assert_int_equal(proc_stat_parse("52 (a) b (c) S 1 52 52 34816 52 4194560 100 0", &pi), 0);
	assert_int_equal(pi.pid, 52);
	assert_int_equal(pi.state, 'S');
	assert_int_equal(pi.ppid, 1);
	assert_int_equal(pi.tty_nr, 34816);
	assert_int_equal(pi.flags, 4194560);
	assert_int_equal(proc_stat_parse("7 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0", &pi), 0);
	assert_true(proc_is_kernel_thread(&pi));
	assert_int_equal(proc_stat_parse("garbage", &pi), -EINVAL);
	assert_int_equal(proc_stat_parse("12 (x) S 1", &pi), -EINVAL);
}

static void test_kernel_threads_and_targets(void **state)
{
	(void)state;
	struct proc_info kthreadd = { .pid = 2, .ppid = 0, .state = 'S' };
	struct proc_info kworker = { .pid = 9, .ppid = 2, .state = 'I' };
	struct proc_info flagged = { .pid = 40, .ppid = 1, .state = 'S', .flags = 0x00200000 };
	struct proc_info sh = { .pid = 50, .ppid = 1, .state = 'S', .tty_nr = 1024 };
	struct proc_info zombie = { .pid = 51, .ppid = 50, .state = 'Z' };
	struct proc_info init = { .pid = 1, .ppid = 0, .state = 'S' };
	struct proc_info dhcpc = { .pid = 60, .ppid = 1, .state = 'S' };
	pid_t spare[] = { 60 };
	assert_true(proc_is_kernel_thread(&kthreadd));
	assert_true(proc_is_kernel_thread(&kworker));
	assert_true(proc_is_kernel_thread(&flagged));
	assert_false(proc_is_kernel_thread(&sh));
	assert_true(proc_is_target(&sh, 1, spare, 1));
	assert_false(proc_is_target(&sh, 50, spare, 1)); /* ourselves */
	assert_false(proc_is_target(&zombie, 1, spare, 1));
	assert_false(proc_is_target(&init, 77, spare, 1));
	assert_false(proc_is_target(&kworker, 1, spare, 1));
	assert_false(proc_is_target(&dhcpc, 1, spare, 1));
	assert_true(proc_is_target(&dhcpc, 1, NULL, 0));
}

static void test_list_targets_fake_proc(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const char *stats[][2] = {
		{ "1", "1 (init) S 0 1 1 0 -1 4194560 0" },
		{ "2", "2 (kthreadd) S 0 0 0 0 -1 2129984 0" },
		{ "3", "3 (kworker/0:0) I 2 0 0 0 -1 69238880 0" },
		{ "50", "50 (sh) S 1 50 50 1024 50 4194560 0" },
		{ "51", "51 (sleep) Z 50 50 50 1024 50 4194560 0" },
		{ "52", "52 (a) (S 1 2) R 1 52 52 0 -1 4194560 0" },
		{ "60", "60 (dhcpc) S 1 60 60 0 -1 4194560 0" },
		{ "77", "77 (liveinit) S 1 77 77 0 -1 4194560 0" },
		{ "80", "80 (ntfs-3g) S 1 80 80 0 -1 4194560 0" },
	};
	for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
		tu_write(tu_path("%s/%s/stat", root, stats[i][0]), stats[i][1]);
	tu_write(tu_path("%s/50/cmdline", root), "-sh");
	tu_write(tu_path("%s/80/cmdline", root), "@ntfs-3g"); /* a storage daemon: never signalled */
	tu_mkdirs(tu_path("%s/net", root));
	tu_mkdirs(tu_path("%s/999", root)); /* exited between readdir and open */
	pid_t spare[] = { 60 };
	struct proc_info out[16];
	size_t n = procs_list_targets(root, 77, spare, 1, out, 16);
	assert_int_equal(n, 2);
	pid_t got[2] = { out[0].pid, out[1].pid };
	assert_true((got[0] == 50 && got[1] == 52) || (got[0] == 52 && got[1] == 50));
	tu_rmtree(root);
	free(root);
}

static void test_fuse_daemons_found_by_open_dev_fuse(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	tu_mkdirs(tu_path("%s/90/fd", root));
	tu_mkdirs(tu_path("%s/91/fd", root));
	tu_mkdirs(tu_path("%s/self", root));
	assert_int_equal(symlink("/dev/null", tu_path("%s/90/fd/0", root)), 0);
	assert_int_equal(symlink("/dev/fuse", tu_path("%s/90/fd/3", root)), 0);
	assert_int_equal(symlink("/dev/fuse0", tu_path("%s/91/fd/3", root)), 0);
	pid_t out[4];
	assert_int_equal(procs_holding(root, "/dev/fuse", out, 4), 1);
	assert_int_equal(out[0], 90);
	/* sshfs's ssh: spared with its daemon */
	tu_write(tu_path("%s/90/stat", root), "90 (sshfs) S 1 90 90 0 -1 4194560 0");
	tu_write(tu_path("%s/95/stat", root), "95 (ssh) S 90 90 90 0 -1 4194560 0");
	tu_write(tu_path("%s/96/stat", root), "96 (sh) S 1 96 96 0 -1 4194560 0");
	assert_int_equal(procs_add_children(root, out, 1, 4), 2);
	assert_int_equal(out[1], 95);
	tu_rmtree(root);
	free(root);
}

/* ---- waiting while writes make progress ---- */

static void test_meminfo_unwritten(void **state)
{
	(void)state;
	const char *text = "MemTotal:         468000 kB\nDirty:             26112 kB\nWriteback:          4096 kB\n"
			   "WritebackTmp:          0 kB\n";
	assert_int_equal(meminfo_unwritten_kb(text), 30208);
	assert_int_equal(meminfo_unwritten_kb("MemTotal: 1 kB\nDirtyish: 5 kB\n"), -1);
	assert_int_equal(meminfo_unwritten_kb("Writeback: 7 kB\n"), 7);
}

static void test_progress_rule(void **state)
{
	(void)state;
	struct progress_watch w;
	progress_watch_start(&w, 0, 30000);
	/* A slow disk: 2 MB/s for a minute is progress all along, however long it takes. */
	long kb = 30000;
	for (long t = 1000; t <= 60000; t += 1000) {
		kb -= 400;
		assert_false(progress_watch_stalled(&w, t, kb, 10000));
	}
	/* Then nothing moves (a dead disk): given up 10 s after the last progress, not before. */
	assert_false(progress_watch_stalled(&w, 69999, kb, 10000));
	assert_true(progress_watch_stalled(&w, 70000, kb, 10000));
	/* Going up (someone writes more) is no progress; unknown neither. */
	progress_watch_start(&w, 0, 100);
	assert_false(progress_watch_stalled(&w, 5000, 200, 10000));
	assert_true(progress_watch_stalled(&w, 10000, -1, 10000));
}

static long shrinking(void *arg)
{
	long *v = arg;
	return *v > 0 ? (*v -= 512) : 0;
}
static int slow_exit(void *arg)
{
	(void)arg;
	usleep(600 * 1000);
	return 0;
}

static void test_run_while_progress_outlives_the_stall_time(void **state)
{
	(void)state;
	/* 600 ms of work with a 300 ms stall time: it finishes because it keeps making progress. */
	long v = 1 << 20;
	struct progress_probe p = { shrinking, &v, NULL };
	assert_int_equal(run_while_progress(slow_exit, NULL, &p, 300), 0);
	/* Without progress the same call is given up. */
	assert_int_equal(run_while_progress(slow_exit, NULL, NULL, 300), ETIMEDOUT);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

static void test_swaps_used(void **state)
{
	(void)state;
	const char *text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
			   "/dev/vdb                                partition\t1048572\t\t2048\t\t-2\n"
			   "/swapfile                               file\t\t1024\t\t100\t\t-3\n";
	assert_int_equal(swaps_used_kb(text), 2148);
	assert_int_equal(swaps_used_kb("Filename\tType\tSize\tUsed\tPriority\n"), 0);
}

/* ---- exitrd's look at devices ---- */

static void test_cdrom_and_loops(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	tu_write(tu_path("%s/sys/class/block/sr0/device/type", root), "5\n");
	tu_write(tu_path("%s/sys/class/block/sda/device/type", root), "0\n");
	assert_true(block_is_cdrom(root, "sr0"));
	assert_false(block_is_cdrom(root, "sda"));  /* a hybrid ISO on a disk or stick: never ejected */
	assert_false(block_is_cdrom(root, "ubda")); /* UML: no SCSI type */
	tu_write(tu_path("%s/sys/block/loop0/loop/backing_file", root), "/run/live/medium/live/filesystem.squashfs\n");
	tu_mkdirs(tu_path("%s/sys/block/loop1", root)); /* free */
	tu_mkdirs(tu_path("%s/sys/block/sr0", root));
	char names[4][32];
	assert_int_equal(loops_attached(root, names, 4), 1);
	assert_string_equal(names[0], "loop0");
	tu_rmtree(root);
	free(root);
}

/* ---- kill_and_wait against a simulated system ---- */

struct fproc {
	pid_t pid;
	int tty;
	bool ignores_term, leaves_on_hup, alive, dying, stopped, zombie;
	long exit_at;
	pid_t spawns_on_term; /* forks a child while it shuts down */
};

struct world {
	struct fproc p[32];
	size_t n;
	long now;
	bool ran_during_sweep; /* a target was running (not stopped) when another got the sweep's signal */
};

static size_t w_list(void *ctx, struct proc_info *out, size_t max)
{
	struct world *w = ctx;
	size_t k = 0;
	for (size_t i = 0; i < w->n && k < max; i++)
		if (w->p[i].alive)
			out[k++] = (struct proc_info){ .pid = w->p[i].pid, .ppid = 1, .state = w->p[i].stopped ? 'T' : 'S',
						       .tty_nr = w->p[i].tty };
	return k;
}

static void w_send(void *ctx, pid_t pid, int sig)
{
	struct world *w = ctx;
	if (sig == SIGTERM || sig == SIGKILL)
		for (size_t i = 0; i < w->n; i++)
			if (w->p[i].alive && !w->p[i].stopped)
				w->ran_during_sweep = true;
	for (size_t i = 0; i < w->n; i++) {
		struct fproc *p = &w->p[i];
		if (p->pid != pid || !p->alive)
			continue;
		bool leaves = sig == SIGKILL || (sig == SIGTERM && !p->ignores_term) || (sig == SIGHUP && p->leaves_on_hup);
		if (sig == SIGCONT)
			p->stopped = false;
		if (sig == SIGSTOP)
			p->stopped = true;
		if (sig == SIGKILL) {
			p->alive = false;
			p->zombie = true; /* until init reaps it */
		} else if (leaves && !p->dying) {
			p->dying = true;
			p->exit_at = w->now + 7; /* cleans up for 7 ms, once it runs */
			if (p->spawns_on_term)
				w->p[w->n++] = (struct fproc){ .pid = p->spawns_on_term, .alive = true };
		}
	}
}

static void w_pause(void *ctx, long ms)
{
	struct world *w = ctx;
	assert_true(ms > 0);
	w->now += ms;
	for (size_t i = 0; i < w->n; i++) {
		w->p[i].zombie = false; /* reaped while pausing */
		if (w->p[i].stopped && w->p[i].dying)
			w->p[i].exit_at = w->now + 7; /* a stopped process does not run its TERM handling */
		if (w->p[i].alive && w->p[i].dying && w->p[i].exit_at <= w->now) {
			w->p[i].alive = false;
			w->p[i].zombie = true;
		}
	}
}

static bool w_exists(void *ctx, pid_t pid)
{
	struct world *w = ctx;
	for (size_t i = 0; i < w->n; i++)
		if (w->p[i].pid == pid && (w->p[i].alive || w->p[i].zombie))
			return true;
	return false;
}

static size_t left_alive(const struct world *w)
{
	size_t n = 0;
	for (size_t i = 0; i < w->n; i++)
		n += w->p[i].alive || w->p[i].zombie;
	return n;
}

static long w_now(void *ctx) { return ((struct world *)ctx)->now; }

static struct kill_ops ops_for(struct world *w)
{
	return (struct kill_ops){ w_list, w_send, w_pause, w_now, w_exists, w };
}

static void test_all_obey_term(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 30; i++)
		w.p[w.n++] = (struct fproc){ .pid = 100 + i, .alive = true };
	struct kill_ops ops = ops_for(&w);
	assert_int_equal(kill_and_wait(&ops, SIGTERM, 5000), 0);
	/* Back as soon as the last one left (7 ms of clean-up), not after a fixed sleep. */
	assert_true(w.now >= 7);
	assert_true(w.now <= 20);
	for (size_t i = 0; i < w.n; i++)
		assert_false(w.p[i].alive);
	assert_false(w.ran_during_sweep); /* the sweep was frozen */
}

static void test_one_ignores_term(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof(w));
	w.p[w.n++] = (struct fproc){ .pid = 100, .alive = true };
	w.p[w.n++] = (struct fproc){ .pid = 101, .alive = true, .ignores_term = true };
	struct kill_ops ops = ops_for(&w);
	assert_int_equal(kill_and_wait(&ops, SIGTERM, 5000), 1);
	assert_true(w.now >= 5000);
	assert_true(w.now <= 5000 + 50); /* the poll interval is capped at 50 ms */
	assert_false(w.p[0].alive);
	assert_true(w.p[1].alive);
	assert_false(w.p[1].stopped); /* continued after the sweep */
	long before = w.now;
	assert_int_equal(kill_and_wait(&ops, SIGKILL, 3000), 0);
	assert_true(w.now - before < 50);
	/* Gone and reaped: a killed process holds its files until then. */
	assert_int_equal(left_alive(&w), 0);
}

static void test_shell_on_terminal_leaves_on_term(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof(w));
	/* An interactive shell ignores TERM and leaves on HUP. */
	w.p[w.n++] = (struct fproc){ .pid = 50, .tty = 1024, .alive = true, .ignores_term = true, .leaves_on_hup = true };
	struct kill_ops ops = ops_for(&w);
	assert_int_equal(kill_and_wait(&ops, SIGTERM, 5000), 0);
	assert_true(w.now < 50);
	assert_false(w.p[0].alive);
}

static void test_stopped_process_leaves_on_term(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof(w));
	w.p[w.n++] = (struct fproc){ .pid = 60, .alive = true, .stopped = true }; /* Ctrl-Z'd by the user */
	w.p[w.n++] = (struct fproc){ .pid = 61, .alive = true };
	struct kill_ops ops = ops_for(&w);
	assert_int_equal(kill_and_wait(&ops, SIGTERM, 5000), 0);
	assert_true(w.now < 50);
	assert_false(w.p[0].alive);
	assert_false(w.p[1].alive);
}

static void test_late_child_is_signalled(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof(w));
	w.p[w.n++] = (struct fproc){ .pid = 100, .alive = true, .spawns_on_term = 200 };
	struct kill_ops ops = ops_for(&w);
	assert_int_equal(kill_and_wait(&ops, SIGTERM, 5000), 0);
	assert_int_equal(w.n, 2);
	assert_false(w.p[1].alive);
}

static void test_nothing_to_kill(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof(w));
	struct kill_ops ops = ops_for(&w);
	assert_int_equal(kill_and_wait(&ops, SIGTERM, 5000), 0);
	assert_int_equal(w.now, 0);
}

/* ---- unmount_all against a simulated mount table ---- */

struct fmount {
	const char *target, *fstype;
	bool mounted, ro, stuck, ro_fails;
	const char *needs_gone; /* busy while this other target is still mounted */
	int parent;             /* index of the mount it sits on (0: the root) */
};

#define M(t, f, ...) { .target = (t), .fstype = (f), .mounted = true, __VA_ARGS__ }

struct mworld {
	struct fmount m[32];
	size_t n;
	char order[32][64];
	size_t norder;
	long paused;
	bool root_ro;
	char kept_touched[64];
};

static int m_read(void *ctx, struct mount_table *t)
{
	struct mworld *w = ctx;
	t->entries = calloc(w->n, sizeof(*t->entries));
	t->count = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (!w->m[i].mounted)
			continue;
		char *line;
		const char *opts = w->m[i].ro ? "ro" : "rw";
		assert_true(asprintf(&line, "%zu %d 0:%zu / %s %s - %s src%zu %s", i + 10, w->m[i].parent + 10, i,
				     w->m[i].target, opts, w->m[i].fstype, i, opts) > 0);
		struct mount_entry *e = &t->entries[t->count];
		assert_int_equal(mountinfo_parse_line(line, e), 0);
		e->line = line;
		t->count++;
	}
	return 0;
}

static bool mounted_target(struct mworld *w, const char *target)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->m[i].mounted && strcmp(w->m[i].target, target) == 0)
			return true;
	return false;
}

static int m_umount(void *ctx, const struct mount_entry *e)
{
	const char *target = e->target;
	struct mworld *w = ctx;
	if (strcmp(target, "/") == 0 || strncmp(target, "/proc", 5) == 0 || strncmp(target, "/sys", 4) == 0 ||
	    strncmp(target, "/dev", 4) == 0)
		snprintf(w->kept_touched, sizeof(w->kept_touched), "%s", target);
	for (size_t i = w->n; i-- > 0;) { /* the topmost mount on target */
		struct fmount *m = &w->m[i];
		if (!m->mounted || strcmp(m->target, target) != 0)
			continue;
		if (m->stuck || (m->needs_gone && mounted_target(w, m->needs_gone)))
			return -EBUSY;
		for (size_t j = 0; j < w->n; j++) /* the kernel: nothing may be mounted on it */
			if (j != i && w->m[j].mounted && w->m[j].parent == (int)i)
				return -EBUSY;
		m->mounted = false;
		snprintf(w->order[w->norder++], 64, "%s", target);
		return 0;
	}
	return -EINVAL;
}

static int m_remount_ro(void *ctx, const struct mount_entry *e)
{
	const char *target = e->target;
	struct mworld *w = ctx;
	if (strcmp(target, "/") == 0) {
		w->root_ro = true;
		return 0;
	}
	for (size_t i = w->n; i-- > 0;) {
		struct fmount *m = &w->m[i];
		if (m->mounted && strcmp(m->target, target) == 0) {
			if (m->ro_fails)
				return -EBUSY;
			m->ro = true;
			return 0;
		}
	}
	return -EINVAL;
}

static void m_pause(void *ctx, long ms) { ((struct mworld *)ctx)->paused += ms; }

#define MOPS(w) { m_read, m_umount, m_remount_ro, m_pause, NULL, (w) }

/* In place, on a live root: / is an overlay whose lower layer is the squashfs, whose loop device holds the
 * medium: none of those can go while / is there, and /run has them mounted on it. */
static void test_unmount_in_place_live_root(void **state)
{
	(void)state;
	static struct mworld w;
	memset(&w, 0, sizeof(w));
	const struct fmount ms[] = {
		M("/", "overlay"),
		M("/proc", "proc"),
		M("/sys", "sysfs"),
		M("/dev", "devtmpfs"),
		M("/run", "tmpfs"),
		M("/run/live/medium", "iso9660", .ro = true, .parent = 4, .needs_gone = "/run/live/rootfs"),
		M("/run/live/rootfs", "squashfs", .ro = true, .parent = 4, .needs_gone = "/"),
		M("/dev/pts", "devpts", .parent = 3),
		M("/tmp", "tmpfs"),
		/* An older mount that keeps a newer one busy (a loop device's backing file, say): needs a 2nd pass. */
		M("/mnt/ubdc1", "ext4"),
		M("/mnt/ubdc2", "vfat", .needs_gone = "/mnt/ubdc1"),
		M("/mnt/s", "tmpfs"),
		M("/mnt/s", "tmpfs"), /* stacked on the same point */
		M("/sys/fs/cgroup", "cgroup2", .parent = 2),
	};
	memcpy(w.m, ms, sizeof(ms));
	w.n = sizeof(ms) / sizeof(ms[0]);
	struct umount_ops ops = MOPS(&w);
	struct umount_report rep;
	unmount_all(&ops, &rep);

	/* What the user mounted is gone, newest first; what holds the root stays, read-only, named. */
	const char *gone[] = { "/mnt/s", "/mnt/ubdc1", "/mnt/ubdc2", "/tmp" };
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		assert_false(mounted_target(&w, gone[i]));
	assert_string_equal(w.order[0], "/mnt/s");
	assert_string_equal(w.order[1], "/mnt/s");
	assert_int_equal(rep.unmounted, 5);
	assert_string_equal(rep.done[4], "/mnt/ubdc2"); /* after ubdc1, in a later pass */
	assert_true(w.paused > 0);                      /* a pause before that pass */
	const char *stay[] = { "/run/live/medium", "/run/live/rootfs", "/run" };
	for (size_t i = 0; i < sizeof(stay) / sizeof(stay[0]); i++) {
		assert_true(mounted_target(&w, stay[i]));
		bool named = false;
		for (int k = 0; k < rep.nbusy; k++)
			named |= strcmp(rep.busy[k].target, stay[i]) == 0 && rep.busy[k].expected && rep.busy[k].ro;
		assert_true(named);
	}
	assert_int_equal(rep.nunexpected, 0);
	assert_true(w.m[4].ro); /* /run read-only */
	assert_true(w.root_ro);
	assert_string_equal(w.kept_touched, "");
	assert_true(mounted_target(&w, "/proc"));
	assert_true(mounted_target(&w, "/sys/fs/cgroup"));
}

/* From the exitrd: the old root's mounts moved out of it (exitrd.c), so the old root goes, then its lower
 * layer, then the medium: nothing stays. */
static void test_unmount_from_exitrd(void **state)
{
	(void)state;
	static struct mworld w;
	memset(&w, 0, sizeof(w));
	const struct fmount ms[] = {
		M("/", "tmpfs"),
		M("/oldroot", "overlay"),
		M("/proc", "proc"),
		M("/oldroot/mnt/sdb1", "vfat", .parent = 1),
		M("/run", "tmpfs"),
		M("/run/live/medium", "iso9660", .ro = true, .parent = 4, .needs_gone = "/run/live/rootfs"),
		M("/run/live/rootfs", "squashfs", .ro = true, .parent = 4, .needs_gone = "/oldroot"),
		M("/run/live/overlay", "ext4", .parent = 4, .needs_gone = "/oldroot"), /* a persistent upper */
	};
	memcpy(w.m, ms, sizeof(ms));
	w.n = sizeof(ms) / sizeof(ms[0]);
	struct umount_ops ops = MOPS(&w);
	struct umount_report rep;
	unmount_all(&ops, &rep);
	assert_int_equal(rep.nbusy, 0);
	for (size_t i = 0; i < w.n; i++)
		if (i != 0 && i != 2)
			assert_false(w.m[i].mounted);
	assert_int_equal(rep.unmounted, 6);
	assert_true(mounted_target(&w, "/proc"));
}

static bool only_network(const struct mount_entry *e) { return mount_needs_process(e); }

/* Before the kill sweep: only what needs a process or the network, and / stays read-write. */
static void test_unmount_process_backed_first(void **state)
{
	(void)state;
	static struct mworld w;
	memset(&w, 0, sizeof(w));
	const struct fmount ms[] = {
		M("/", "ext4"),
		M("/mnt/ubdc1", "ext4"),
		M("/mnt/win", "fuseblk"),
		M("/mnt/ssh", "fuse.sshfs"),
		M("/mnt/nfs", "nfs4"),
		M("/mnt/smb", "cifs", .stuck = true),
	};
	memcpy(w.m, ms, sizeof(ms));
	w.n = sizeof(ms) / sizeof(ms[0]);
	struct umount_ops ops = { m_read, m_umount, m_remount_ro, m_pause, only_network, &w };
	struct umount_report rep;
	unmount_all(&ops, &rep);
	assert_true(mounted_target(&w, "/mnt/ubdc1"));
	assert_false(w.m[1].ro);
	assert_false(mounted_target(&w, "/mnt/win"));
	assert_false(mounted_target(&w, "/mnt/ssh"));
	assert_false(mounted_target(&w, "/mnt/nfs"));
	assert_true(mounted_target(&w, "/mnt/smb"));
	assert_int_equal(rep.nbusy, 1);
	assert_string_equal(rep.busy[0].target, "/mnt/smb");
	assert_false(w.root_ro);
}

static void test_unmount_busy_named_and_read_only(void **state)
{
	(void)state;
	static struct mworld w;
	memset(&w, 0, sizeof(w));
	const struct fmount ms[] = {
		M("/", "ext4"),
		M("/proc", "proc"),
		M("/mnt/ubdc1", "ext4", .stuck = true),
		M("/mnt/ubdc2", "vfat", .stuck = true, .ro_fails = true),
		M("/run", "tmpfs"),
	};
	memcpy(w.m, ms, sizeof(ms));
	w.n = sizeof(ms) / sizeof(ms[0]);
	struct umount_ops ops = MOPS(&w);
	struct umount_report rep;
	unmount_all(&ops, &rep);
	assert_int_equal(rep.unmounted, 1);
	assert_false(mounted_target(&w, "/run"));
	assert_int_equal(rep.nbusy, 2);
	assert_int_equal(rep.nunexpected, 2);
	assert_string_equal(rep.busy[0].target, "/mnt/ubdc2");
	assert_int_equal(rep.busy[0].err, EBUSY);
	assert_false(rep.busy[0].ro);
	assert_string_equal(rep.busy[1].target, "/mnt/ubdc1");
	assert_true(rep.busy[1].ro);
	assert_true(w.m[2].ro);
	assert_true(w.root_ro);
}

/* A live root: the overlay's medium cannot go while / exists; it is read-only, and /run holds it. */
static void test_unmount_live_root_leftovers(void **state)
{
	(void)state;
	static struct mworld w;
	memset(&w, 0, sizeof(w));
	const struct fmount ms[] = {
		M("/", "overlay"),
		M("/run", "tmpfs", .needs_gone = "/run/live/medium"),
		M("/run/live/medium", "iso9660", .stuck = true, .ro = true, .parent = 1),
		M("/run/live/rootfs", "squashfs", .ro = true, .parent = 1),
		M("/mnt/ubdc1", "ext4", .stuck = true), /* a user's busy filesystem: worth a warning */
	};
	memcpy(w.m, ms, sizeof(ms));
	w.n = sizeof(ms) / sizeof(ms[0]);
	struct umount_ops ops = MOPS(&w);
	struct umount_report rep;
	unmount_all(&ops, &rep);
	assert_int_equal(rep.unmounted, 1);
	assert_int_equal(rep.nbusy, 3);
	assert_int_equal(rep.nunexpected, 1);
	assert_string_equal(rep.busy[0].target, "/mnt/ubdc1");
	assert_false(rep.busy[0].expected);
	assert_string_equal(rep.busy[1].target, "/run/live/medium");
	assert_true(rep.busy[1].expected);
	assert_string_equal(rep.busy[2].target, "/run");
	assert_true(rep.busy[2].expected);
}

static void test_in_memory_types(void **state)
{
	(void)state;
	assert_true(fstype_in_memory("tmpfs"));
	assert_true(fstype_in_memory("devpts"));
	assert_false(fstype_in_memory("ext4"));
	assert_false(fstype_in_memory("nfs"));
	assert_false(fstype_in_memory("overlay")); /* its upper may be on a disk */
	assert_false(fstype_in_memory(""));
}

static void test_can_hang(void **state)
{
	(void)state;
	struct mount_entry ext4_rw = { .target = "/mnt/a", .fstype = "ext4", .options = "rw", .super_options = "rw" };
	struct mount_entry iso_ro = { .target = "/m", .fstype = "iso9660", .options = "ro", .super_options = "ro" };
	struct mount_entry nfs = { .target = "/n", .fstype = "nfs4", .options = "rw", .super_options = "rw" };
	struct mount_entry tmp = { .target = "/tmp", .fstype = "tmpfs", .options = "rw", .super_options = "rw" };
	assert_true(mount_can_hang(&ext4_rw));
	assert_true(mount_can_hang(&nfs));
	assert_false(mount_can_hang(&iso_ro));
	assert_false(mount_can_hang(&tmp));
}

static void test_kept_mounts(void **state)
{
	(void)state;
	const char *kept[] = { "/", "/proc", "/proc/sys/fs/binfmt_misc", "/sys", "/sys/kernel/debug", "/dev", "/dev/pts",
			       "/dev/shm" };
	const char *not_kept[] = { "/run", "/tmp", "/devices", "/process", "/mnt/ubdc1", "/system", "/run/live/medium" };
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		struct mount_entry e = { .target = (char *)kept[i] };
		assert_true(mount_is_kept(&e));
	}
	for (size_t i = 0; i < sizeof(not_kept) / sizeof(not_kept[0]); i++) {
		struct mount_entry e = { .target = (char *)not_kept[i] };
		assert_false(mount_is_kept(&e));
	}
}

static void test_swaps_parse(void **state)
{
	(void)state;
	char paths[4][256];
	const char *text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
			   "/dev/ubdb                               partition\t1048572\t\t0\t\t-2\n"
			   "/swap\\040file                           file\t\t1024\t\t0\t\t-3\n";
	assert_int_equal(swaps_parse(text, paths, 4), 2);
	assert_string_equal(paths[0], "/dev/ubdb");
	assert_string_equal(paths[1], "/swap file");
	assert_int_equal(swaps_parse("Filename\tType\tSize\tUsed\tPriority\n", paths, 4), 0);
	assert_int_equal(swaps_parse("", paths, 4), 0);
	assert_int_equal(swaps_parse(text, paths, 1), 1);
}

static int chld_exit(void *arg) { return *(int *)arg; }
static int chld_hang(void *arg)
{
	(void)arg;
	sleep(60);
	return 0;
}

static void test_run_bounded(void **state)
{
	(void)state;
	int v = 0;
	assert_int_equal(run_bounded(chld_exit, &v, 2000), 0);
	v = EBUSY;
	assert_int_equal(run_bounded(chld_exit, &v, 2000), EBUSY);
	long t0 = monotonic_ms();
	assert_int_equal(run_bounded(chld_hang, NULL, 200), ETIMEDOUT);
	long took = monotonic_ms() - t0;
	assert_true(took >= 200);
	assert_true(took < 2000);
	while (waitpid(-1, NULL, 0) > 0) /* the killed child */
		;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_parse),
		cmocka_unit_test(test_kernel_threads_and_targets),
		cmocka_unit_test(test_list_targets_fake_proc),
		cmocka_unit_test(test_fuse_daemons_found_by_open_dev_fuse),
		cmocka_unit_test(test_meminfo_unwritten),
		cmocka_unit_test(test_progress_rule),
		cmocka_unit_test(test_run_while_progress_outlives_the_stall_time),
		cmocka_unit_test(test_swaps_used),
		cmocka_unit_test(test_cdrom_and_loops),
		cmocka_unit_test(test_all_obey_term),
		cmocka_unit_test(test_one_ignores_term),
		cmocka_unit_test(test_shell_on_terminal_leaves_on_term),
		cmocka_unit_test(test_stopped_process_leaves_on_term),
		cmocka_unit_test(test_late_child_is_signalled),
		cmocka_unit_test(test_nothing_to_kill),
		cmocka_unit_test(test_unmount_in_place_live_root),
		cmocka_unit_test(test_unmount_from_exitrd),
		cmocka_unit_test(test_unmount_process_backed_first),
		cmocka_unit_test(test_unmount_busy_named_and_read_only),
		cmocka_unit_test(test_unmount_live_root_leftovers),
		cmocka_unit_test(test_in_memory_types),
		cmocka_unit_test(test_can_hang),
		cmocka_unit_test(test_kept_mounts),
		cmocka_unit_test(test_swaps_parse),
		cmocka_unit_test(test_run_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
