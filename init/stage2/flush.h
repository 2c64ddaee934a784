/* Waiting for calls that write to disk (sync, umount, remount read-only, swapoff) for as long as they make
 * progress, not for a fixed time: a slow USB stick takes minutes to take a large copy, and giving up early
 * loses the end of the file.  Progress is a number that shrinks while the work gets done -- for writes,
 * Dirty + Writeback in /proc/meminfo (the page cache not yet on a disk); for swapoff, the swap still used.
 * Only a call that makes no progress for stall_ms is abandoned (a dead disk, an unreachable server). */
#ifndef LIVEINIT_STAGE2_FLUSH_H
#define LIVEINIT_STAGE2_FLUSH_H

#include <stdbool.h>

/* Dirty + Writeback, in kB, from the text of /proc/meminfo; -1 when neither is there. */
long meminfo_unwritten_kb(const char *text);

/* The no-progress rule: progress is a new lowest value; stalled after stall_ms without one. */
struct progress_watch {
	long best;          /* lowest value seen */
	long last_progress; /* ms: when it was seen */
};
void progress_watch_start(struct progress_watch *w, long now_ms, long value);
/* Feed the current value (-1: unknown, which counts as no progress). */
bool progress_watch_stalled(struct progress_watch *w, long now_ms, long value, long stall_ms);

/* What to watch while waiting, and how to say so on the console. */
struct progress_probe {
	long (*measure)(void *arg); /* kB, or -1 */
	void *arg;
	const char *line; /* printf format taking the MB left, printed every second once 1 s passed; NULL: none */
};

/* The page cache not yet written: probe for sync and for unmounting or remounting a filesystem read-only. */
extern const struct progress_probe unwritten_probe;

/* Run fn(arg) in a child and wait while it runs and probe (may be NULL: no progress, a plain timeout) makes
 * progress; kill it after stall_ms without.  Returns fn's result (0 or an errno number), ETIMEDOUT, or the fork
 * error.  A child stuck in the kernel (D state) cannot be killed: it is left behind, which is harmless at
 * shutdown.  The caller's SIGCHLD is blocked meanwhile and other children are not reaped here. */
int run_while_progress(int (*fn)(void *arg), void *arg, const struct progress_probe *probe, long stall_ms);

/* run_while_progress without a probe: a fixed timeout. */
int run_bounded(int (*fn)(void *arg), void *arg, long timeout_ms);

#endif
