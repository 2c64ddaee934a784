#include "stage2/signals.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

static const struct {
	int sig;
	enum shutdown_kind kind;
} sigmap[] = {
	{ SIGUSR1, SHUTDOWN_HALT },
	{ SIGUSR2, SHUTDOWN_POWEROFF },
	{ SIGTERM, SHUTDOWN_REBOOT },
	{ SIGINT, SHUTDOWN_REBOOT },
	{ SIGCHLD, SHUTDOWN_NONE },
	{ SIGHUP, SHUTDOWN_NONE },
	{ SIGQUIT, SHUTDOWN_NONE },
	{ SIGPWR, SHUTDOWN_NONE },
};

#define NSIGMAP (sizeof(sigmap) / sizeof(sigmap[0]))

enum shutdown_kind signal_action(int sig)
{
	for (size_t i = 0; i < NSIGMAP; i++)
		if (sigmap[i].sig == sig)
			return sigmap[i].kind;
	return SHUTDOWN_NONE;
}

int signal_for(enum shutdown_kind kind)
{
	/* The first entry wins: SIGTERM, not SIGINT, asks for a reboot. */
	for (size_t i = 0; i < NSIGMAP; i++)
		if (kind != SHUTDOWN_NONE && sigmap[i].kind == kind)
			return sigmap[i].sig;
	return 0;
}

void signals_block(sigset_t *handled, sigset_t *saved)
{
	sigemptyset(handled);
	for (size_t i = 0; i < NSIGMAP; i++)
		sigaddset(handled, sigmap[i].sig);
	sigprocmask(SIG_BLOCK, handled, saved);
}

static void reap(struct respawn *shell, const char *tty)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != shell->pid)
			continue;
		long delay = respawn_exited(shell, monotonic_ms());
		if (delay > 0)
			log_warn("the shell on %s keeps exiting (status %d); next start in %ld s", tty,
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), delay / 1000);
	}
}

static void start_shell(const sigset_t *restore, struct respawn *shell, const char *tty)
{
	long now = monotonic_ms();
	pid_t pid = console_spawn_shell(tty, restore);
	if (pid < 0) {
		log_error("unable to start the shell on %s: fork: %s", tty, strerror((int)-pid));
		shell->next_ms = now + 1000;
		return;
	}
	shell->pid = pid;
	shell->started_ms = now;
}

enum shutdown_kind signal_loop(const sigset_t *handled, const sigset_t *restore, struct respawn *shell,
			       const char *tty)
{
	for (;;) {
		reap(shell, tty);
		long now = monotonic_ms();
		if (!shell->pid && now >= shell->next_ms)
			start_shell(restore, shell, tty);
		struct timespec ts, *timeout = NULL;
		if (!shell->pid) {
			long wait = shell->next_ms > now ? shell->next_ms - now : 1;
			ts.tv_sec = wait / 1000;
			ts.tv_nsec = (wait % 1000) * 1000000;
			timeout = &ts;
		}
		siginfo_t info;
		int sig = sigtimedwait(handled, &info, timeout);
		if (sig < 0)
			continue; /* EAGAIN: time to respawn; EINTR */
		enum shutdown_kind kind = signal_action(sig);
		if (kind != SHUTDOWN_NONE) {
			log_debug("signal %d from pid %d: shutting down", sig, (int)info.si_pid);
			return kind;
		}
	}
}
