/* The rescue shell: busybox sh from the initrd (or, after the switch, the root's /bin/sh) on the console.
 * PID 1 must never exit: if even the shell cannot run, sleep forever. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "common/spawn.h"
#include "stage1/stage1.h"

static pid_t start_shell(void)
{
	static char *const argv[] = {"sh", NULL};
	static char *const envp[] = {"PATH=/sbin:/bin:/usr/sbin:/usr/bin", "HOME=/", "TERM=linux",
				     "PS1=(liveinit) # ", NULL};
	const struct shell_spec spec = {.tty = "/dev/console", .path = "/bin/sh", .argv = argv, .envp = envp};
	return spawn_shell(&spec);
}

void rescue_shell(const char *why)
{
	tcdrain(STDOUT_FILENO);
	fprintf(stderr, "liveinit: %s; starting a rescue shell (exit it to continue)\n", why);
	pid_t pid = start_shell();
	if (pid < 0) {
		log_error("unable to fork the rescue shell: %s", strerror(-pid));
		return;
	}
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
