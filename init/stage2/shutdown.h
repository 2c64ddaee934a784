/* Ordered shutdown: TERM, KILL, network down, swapoff, unmount, sync, reboot(2).
 * The decisions (who gets a signal, when to stop waiting, what to unmount in which order) are pure
 * functions over injected operations, so the unit tests drive them with fake process and mount tables. */
#ifndef LIVEINIT_STAGE2_SHUTDOWN_H
#define LIVEINIT_STAGE2_SHUTDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/cmdline.h"
#include "common/mountinfo.h"

enum shutdown_kind { SHUTDOWN_NONE = 0, SHUTDOWN_HALT, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT };

/* ---- processes ---- */

struct proc_info {
	pid_t pid, ppid;
	char state;          /* R S D Z T ... */
	int tty_nr;          /* controlling terminal, 0 = none */
	unsigned long flags; /* PF_* */
};

/* Parse the text of /proc/PID/stat (the command name may hold spaces and parentheses).  0 or -EINVAL. */
int proc_stat_parse(const char *text, struct proc_info *pi);

/* Kernel threads: PF_KTHREAD, or kthreadd (pid 2) and its children on kernels that hide the flag. */
bool proc_is_kernel_thread(const struct proc_info *pi);

/* Should the shutdown signal this process?  Not PID 1, not ourselves, no kernel thread, no zombie (it is
 * already gone; its parent or we reap it), none of the spared pids (DHCP clients, stopped later). */
bool proc_is_target(const struct proc_info *pi, pid_t self, const pid_t *spare, size_t nspare);

/* Targets under procroot ("/proc" normally).  Returns how many were written to out (at most max). */
size_t procs_list_targets(const char *procroot, pid_t self, const pid_t *spare, size_t nspare,
			  struct proc_info *out, size_t max);

struct kill_ops {
	/* Current targets. */
	size_t (*list)(void *ctx, struct proc_info *out, size_t max);
	void (*send)(void *ctx, pid_t pid, int sig);
	/* Sleep up to ms, reaping our own zombies meanwhile. */
	void (*pause_ms)(void *ctx, long ms);
	long (*now_ms)(void *ctx);
	void *ctx;
};

/* Signal every target with sig (after SIGTERM also SIGHUP to those with a controlling terminal -- interactive
 * shells ignore TERM but leave on HUP -- and SIGCONT to stopped ones so they can act), then poll until none are
 * left or timeout_ms passes; targets that appear meanwhile get the same signals.  Returns how many are left. */
size_t kill_and_wait(const struct kill_ops *ops, int sig, long timeout_ms);

/* ---- mounts ---- */

/* Left mounted: "/" (remounted read-only at the end) and the API trees /proc, /sys, /dev, which hold no data
 * and which the shutdown itself still reads. */
bool mount_is_kept(const struct mount_entry *e);

/* Filesystems that live in memory only: unmounting them cannot wait on a device or a server. */
bool fstype_in_memory(const char *fstype);

/* Can unmounting (or remounting read-only) this mount wait on a device or a server?  Not when it lives in
 * memory, and not when it is mounted read-only: there is nothing to write back. */
bool mount_can_hang(const struct mount_entry *e);

struct umount_ops {
	int (*read)(void *ctx, struct mount_table *t); /* 0 or -errno */
	int (*umount)(void *ctx, const struct mount_entry *e);     /* 0 or -errno */
	int (*remount_ro)(void *ctx, const struct mount_entry *e); /* 0 or -errno */
	void *ctx;
};

#define UMOUNT_REPORT_MAX 16
struct umount_report {
	int unmounted;
	int passes;
	/* Still mounted at the end, by name, with the unmount error and whether a read-only remount worked.
	 * expected: it was read-only already (the live medium under the overlay root) or something is still
	 * mounted on it (/run above the medium) -- normal for a live system, nothing there can lose data. */
	int nbusy, nunexpected;
	struct {
		char target[256];
		int err;
		bool ro;
		bool expected;
	} busy[UMOUNT_REPORT_MAX];
	int root_ro_err;   /* remounting / read-only: 0 or -errno */
};

/* Unmount everything not kept, newest first, repeating while a pass made progress; remount read-only what
 * stays; finally remount / read-only. */
void unmount_all(const struct umount_ops *ops, struct umount_report *rep);

/* ---- the whole sequence (PID 1 only) ---- */

/* Never returns: runs the steps, prints the console lines, then reboot(2). */
void shutdown_run(enum shutdown_kind kind, const struct live_config *cfg) __attribute__((noreturn));

/* Run fn(arg) in a child; give up after timeout_ms.  Returns fn's result (0 or an errno number), or
 * ETIMEDOUT, or the fork error.  Used for the calls that can hang: umount of a dead device, sync. */
int run_bounded(int (*fn)(void *arg), void *arg, long timeout_ms);

#endif
