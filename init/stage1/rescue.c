/* The rescue shell: busybox sh from the initrd (or, after the switch, the root's /bin/sh) on the console.
 * PID 1 must never exit: if even the shell cannot run, sleep forever. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "stage1/stage1.h"

static void child_shell(void)
{
	setsid();
	int fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		ioctl(fd, TIOCSCTTY, 1); /* job control; fails harmlessly on some consoles */
		for (int i = 0; i < 3; i++)
			dup2(fd, i);
		if (fd > 2)
			close(fd);
	}
	char *const argv[] = {"sh", NULL};
	char *const envp[] = {"PATH=/sbin:/bin:/usr/sbin:/usr/bin", "HOME=/", "TERM=linux", "PS1=(liveinit) # ", NULL};
	execve("/bin/sh", argv, envp);
	log_error("unable to execute the rescue shell /bin/sh: %s", strerror(errno));
	_exit(127);
}

void rescue_shell(const char *why)
{
	tcdrain(STDOUT_FILENO);
	fprintf(stderr, "liveinit: %s; starting a rescue shell (exit it to continue)\n", why);
	pid_t pid = fork();
	if (pid < 0) {
		log_error("unable to fork the rescue shell: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		child_shell();
	/* As PID 1 we also reap anything the shell orphaned. */
	for (pid_t w; (w = wait(NULL)) != pid;)
		if (w < 0 && errno != EINTR)
			break;
}

void rescue_forever(const char *why)
{
	for (int tries = 0;; tries++) {
		rescue_shell(tries ? "the rescue shell exited; the system cannot continue" : why);
		sleep(1); /* a broken shell must not spin */
	}
}
