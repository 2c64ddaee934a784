#include "stage2/flush.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"

static long meminfo_field_kb(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			return strtol(line + n + 1, NULL, 10);
	return -1;
}

long meminfo_unwritten_kb(const char *text)
{
	long dirty = meminfo_field_kb(text, "Dirty"), writeback = meminfo_field_kb(text, "Writeback");
	if (dirty < 0 && writeback < 0)
		return -1;
	return (dirty > 0 ? dirty : 0) + (writeback > 0 ? writeback : 0);
}

static long unwritten_kb(void *arg)
{
	(void)arg;
	char *text;
	if (file_read("/proc/meminfo", &text, NULL) < 0)
		return -1;
	long kb = meminfo_unwritten_kb(text);
	free(text);
	return kb;
}

const struct progress_probe unwritten_probe = { unwritten_kb, NULL, "Writing %ld MB to disk..." };

void progress_watch_start(struct progress_watch *w, long now_ms, long value)
{
	w->best = value;
	w->last_progress = now_ms;
}

bool progress_watch_stalled(struct progress_watch *w, long now_ms, long value, long stall_ms)
{
	if (value >= 0 && (w->best < 0 || value < w->best)) {
		w->best = value;
		w->last_progress = now_ms;
	}
	return now_ms - w->last_progress >= stall_ms;
}

#define PROBE_INTERVAL_MS 250
#define LINE_INTERVAL_MS 1000

int run_while_progress(int (*fn)(void *arg), void *arg, const struct progress_probe *probe, long stall_ms)
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
	long start = monotonic_ms(), next_line = start + LINE_INTERVAL_MS;
	struct progress_watch w;
	progress_watch_start(&w, start, probe ? probe->measure(probe->arg) : -1);
	int rc = ETIMEDOUT, status;
	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);
		if (got == pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
			break;
		}
		long now = monotonic_ms();
		long value = probe ? probe->measure(probe->arg) : -1;
		if (progress_watch_stalled(&w, now, value, stall_ms)) {
			kill(pid, SIGKILL); /* takes effect if it ever leaves the kernel */
			break;
		}
		if (probe && probe->line && now >= next_line && value >= 1024) {
			log_step(probe->line, (value + 1023) / 1024);
			next_line = now + LINE_INTERVAL_MS;
		}
		long wait = stall_ms - (now - w.last_progress);
		if (wait > PROBE_INTERVAL_MS)
			wait = PROBE_INTERVAL_MS;
		struct timespec ts = { wait / 1000, (wait % 1000) * 1000000 };
		sigtimedwait(&chld, NULL, &ts);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int run_bounded(int (*fn)(void *arg), void *arg, long timeout_ms)
{
	return run_while_progress(fn, arg, NULL, timeout_ms);
}
