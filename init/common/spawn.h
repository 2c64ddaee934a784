/* Starting a shell on a console: stage 1's rescue shell and stage 2's root shell. */
#ifndef LIVEINIT_COMMON_SPAWN_H
#define LIVEINIT_COMMON_SPAWN_H

#include <signal.h>
#include <sys/types.h>

struct shell_spec {
	const char *tty;           /* terminal to run on: /dev/console, /dev/tty0, /dev/hvc0... */
	const char *path;          /* program to exec: /bin/sh */
	char *const *argv;
	char *const *envp;
	const char *dir;           /* working directory to try first (then /); NULL: stay */
	const sigset_t *restore;   /* signal mask the child gets back (PID 1 blocks what it handles); NULL: keep */
};

/* Fork a child that starts its own session, makes tty its controlling terminal (stealing it: a shell that
 * died may leave it assigned to its dead session), puts it on fds 0-2 and in the foreground, and execs path.
 * Returns the pid, or -errno when fork fails; failures in the child are printed on stderr (then the tty) and
 * end it with status 127. */
pid_t spawn_shell(const struct shell_spec *s);

#endif
