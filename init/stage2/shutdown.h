/* Ordered shutdown: TERM and KILL (sparing storage daemons, FUSE daemons and the DHCP clients), unmount the
 * filesystems that need a process or the network, stop their daemons, network down, swapoff, sync; then leave
 * the root (exitrd.h) and unmount everything from outside it, sync, reboot(2).
 * The decisions (who gets a signal, when to stop waiting, what to unmount in which order) are pure
 * functions over injected operations, so the unit tests drive them with fake process and mount tables. */
#ifndef LIVEINIT_STAGE2_SHUTDOWN_H
#define LIVEINIT_STAGE2_SHUTDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/cmdline.h"
#include "common/mountinfo.h"
#include "stage2/flush.h"

enum shutdown_kind { SHUTDOWN_NONE = 0, SHUTDOWN_HALT, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT };

/* ---- processes ---- */

struct proc_info {
	pid_t pid, ppid;
	char state;          /* R S D Z T ... */
	int tty_nr;          /* controlling terminal, 0 = none */
	unsigned long flags; /* PF_* */
	bool storage;        /* argv[0][0] == '@': a storage daemon (systemd's convention), never signalled */
};

/* Parse the text of /proc/PID/stat (the command name may hold spaces and parentheses).  0 or -EINVAL. */
int proc_stat_parse(const char *text, struct proc_info *pi);

/* Kernel threads: PF_KTHREAD, or kthreadd (pid 2) and its children on kernels that hide the flag. */
bool proc_is_kernel_thread(const struct proc_info *pi);

/* Should the shutdown signal this process?  Not PID 1, not ourselves, no kernel thread, no zombie (it is
 * already gone; its parent or we reap it), no storage daemon, none of the spared pids (DHCP clients and FUSE
 * daemons, stopped later). */
bool proc_is_target(const struct proc_info *pi, pid_t self, const pid_t *spare, size_t nspare);

/* Targets under procroot ("/proc" normally).  Returns how many were written to out (at most max). */
size_t procs_list_targets(const char *procroot, pid_t self, const pid_t *spare, size_t nspare,
			  struct proc_info *out, size_t max);

/* Processes under procroot with dev (e.g. "/dev/fuse") open: the daemons of FUSE filesystems.
 * Returns how many were written to out (at most max). */
size_t procs_holding(const char *procroot, const char *dev, pid_t *out, size_t max);

/* Append to pids[0..n) the children of those pids (one level: sshfs's ssh), up to max.  Returns the new count. */
size_t procs_add_children(const char *procroot, pid_t *pids, size_t n, size_t max);

struct kill_ops {
	/* Current targets. */
	size_t (*list)(void *ctx, struct proc_info *out, size_t max);
	void (*send)(void *ctx, pid_t pid, int sig);
	/* Sleep up to ms, reaping our own zombies meanwhile. */
	void (*pause_ms)(void *ctx, long ms);
	long (*now_ms)(void *ctx);
	/* Is pid still there, a zombie included (not reaped yet)? */
	bool (*exists)(void *ctx, pid_t pid);
	void *ctx;
};

/* Signal every target with sig (after SIGTERM also SIGHUP to those with a controlling terminal -- interactive
 * shells ignore TERM but leave on HUP), then poll until none are left or timeout_ms passes; targets that appear
 * meanwhile get the same signals.  The sweep is frozen: every target is sent SIGSTOP first, listing again until
 * no new one appears (a fork loop cannot outrun it), then sig, then SIGCONT to all (so that the stopped ones,
 * the user's included, can act on it).  After SIGKILL it also waits (within timeout_ms) until the killed are
 * reaped: a dying process holds its files open until then, and would keep a filesystem busy.
 * Returns how many are left. */
size_t kill_and_wait(const struct kill_ops *ops, int sig, long timeout_ms);

/* ---- mounts ---- */

/* Left mounted: "/" (remounted read-only at the end) and the API trees /proc, /sys, /dev, which hold no data
 * and which the shutdown itself still reads. */
bool mount_is_kept(const struct mount_entry *e);

/* Filesystems that live in memory only: unmounting them cannot wait on a device or a server. */
bool fstype_in_memory(const char *fstype);

/* Filesystems that need a process or the network: FUSE (ntfs-3g, sshfs), NFS, CIFS.  They are unmounted
 * before their daemons are killed and before the interfaces go down. */
bool mount_needs_process(const struct mount_entry *e);

/* Can unmounting (or remounting read-only) this mount wait on a device or a server?  Not when it lives in
 * memory, and not when it is mounted read-only: there is nothing to write back. */
bool mount_can_hang(const struct mount_entry *e);

struct umount_ops {
	int (*read)(void *ctx, struct mount_table *t); /* 0 or -errno */
	int (*umount)(void *ctx, const struct mount_entry *e);     /* 0 or -errno */
	int (*remount_ro)(void *ctx, const struct mount_entry *e); /* 0 or -errno */
	/* A short pause between passes: lets the last unmount's side effects settle (a loop device detaching
	 * itself, a FUSE daemon leaving). */
	void (*pause_ms)(void *ctx, long ms);
	/* NULL: every mount that is not kept; else only those it selects (and no read-only remount of /). */
	bool (*only)(const struct mount_entry *e);
	void *ctx;
};

#define UMOUNT_REPORT_MAX 32
struct umount_report {
	int unmounted;
	char done[UMOUNT_REPORT_MAX][256]; /* the first UMOUNT_REPORT_MAX of them, in unmount order */
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

/* Unmount everything not kept, newest first, repeating while a pass made progress (pausing between passes);
 * remount read-only what stays; finally remount / read-only. */
void unmount_all(const struct umount_ops *ops, struct umount_report *rep);

/* ---- the whole sequence (PID 1 only) ---- */

/* How long a write (sync, umount, swapoff) may go without progress before it is given up. */
#define FLUSH_STALL_MS 10000

/* Everything but the root: processes, filesystems that need a process or the network, the network, swap, a
 * first sync (waited for while the dirty data shrinks).  Prints the console lines. */
void shutdown_run(enum shutdown_kind kind, const struct live_config *cfg);

/* Unmount what can be, newest first, remount the rest read-only, and print both lists; a mount point under
 * hide ("/oldroot" in the exitrd, "" in place) is shown without it.  Returns how many stayed unexpectedly. */
int shutdown_unmount(const char *hide);

/* sync (waited for while the dirty data shrinks), then reboot(2).  Never returns. */
void shutdown_reboot(enum shutdown_kind kind) __attribute__((noreturn));

#endif
