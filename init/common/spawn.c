#include "common/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static void child(const struct shell_spec *s)
{
	if (s->restore)
		sigprocmask(SIG_SETMASK, s->restore, NULL);
	if (setsid() < 0)
		dprintf(2, "liveinit: unable to start a session for the shell: %s\n", strerror(errno));
	int fd = open(s->tty, O_RDWR | O_NOCTTY);
	if (fd < 0) {
		dprintf(2, "liveinit: unable to open the console %s: %s\n", s->tty, strerror(errno));
		_exit(127);
	}
	/* arg 1: steal the terminal from a session that still holds it (fails harmlessly on some consoles). */
	if (ioctl(fd, TIOCSCTTY, 1) < 0)
		dprintf(fd, "liveinit: unable to make %s the controlling terminal: %s\n", s->tty, strerror(errno));
	for (int i = 0; i < 3; i++)
		dup2(fd, i); /* dup2 leaves O_CLOEXEC off the copies */
	if (fd > 2)
		close(fd);
	tcsetpgrp(0, getpid());
	if (s->dir && chdir(s->dir) < 0 && chdir("/") < 0)
		dprintf(2, "liveinit: unable to change to %s or /: %s\n", s->dir, strerror(errno));
	execve(s->path, s->argv, s->envp);
	dprintf(2, "liveinit: unable to run %s on %s: %s\n", s->path, s->tty, strerror(errno));
	_exit(127);
}

pid_t spawn_shell(const struct shell_spec *s)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(s);
	return pid;
}
