#include "stage2/signals.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static void reap(struct pid1_state *st)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		long now = monotonic_ms();
		if (st->services && services_reaped(st->services, pid, status, now))
			continue;
		for (size_t i = 0; i < st->nshells; i++) {
			if (pid != st->shell[i].pid)
				continue;
			long delay = respawn_exited(&st->shell[i], now);
			if (delay > 0)
				log_warn("the shell on %s keeps exiting (status %d); next start in %ld s", st->tty[i],
					 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), delay / 1000);
		}
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

static long earlier(long timeout, long ms)
{
	if (ms < 0)
		return timeout;
	return timeout < 0 || ms < timeout ? ms : timeout;
}

enum shutdown_kind signal_loop(const sigset_t *handled, const sigset_t *restore, struct pid1_state *st)
{
	/* The signals stay blocked; the signalfd only wakes poll up, sigtimedwait takes them one by one. */
	int sfd = signalfd(-1, handled, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		log_error("unable to make a signalfd: %s; checking for signals every 200 ms", strerror(errno));
	for (;;) {
		reap(st);
		long now = monotonic_ms(), timeout = sfd < 0 ? 200 : -1;
		for (size_t i = 0; i < st->nshells; i++) {
			struct respawn *sh = &st->shell[i];
			if (!sh->pid && now >= sh->next_ms)
				start_shell(restore, sh, st->tty[i]);
			if (!sh->pid)
				timeout = earlier(timeout, sh->next_ms > now ? sh->next_ms - now : 1);
		}
		if (st->services)
			timeout = earlier(timeout, services_tick(st->services, now));
		struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN }, { .fd = st->control_fd, .events = POLLIN } };
		int n = poll(fds, 2, timeout > INT_MAX ? INT_MAX : (int)timeout);
		if (n > 0 && (fds[1].revents & POLLIN) && st->services)
			services_control_handle(st->services, st->control_fd, monotonic_ms());
		struct timespec zero = { 0, 0 };
		siginfo_t info;
		int sig;
		while ((sig = sigtimedwait(handled, &info, &zero)) > 0) {
			enum shutdown_kind kind = signal_action(sig);
			if (kind != SHUTDOWN_NONE) {
				log_debug("signal %d from pid %d: shutting down", sig, (int)info.si_pid);
				if (sfd >= 0)
					close(sfd);
				return kind;
			}
		}
	}
}
