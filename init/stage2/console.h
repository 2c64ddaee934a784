/* The console the root shell runs on, and keeping that shell alive. */
#ifndef LIVEINIT_STAGE2_CONSOLE_H
#define LIVEINIT_STAGE2_CONSOLE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/cmdline.h"

/* Pick the shell's terminal: UML -> /dev/tty0; Xen -> /dev/hvc0 if it exists, else /dev/tty1; otherwise
 * the last console= (/dev/NAME) or /dev/console.  devroot is the prefix the existence checks use ("" normally).
 * A console= name that is not a plain device name is ignored.  Writes the path into out. */
void console_pick(enum platform p, const char *console_param, const char *devroot, char *out, size_t n);

/* At most this many root shells: on a PC, the screen and the serial port. */
#define CONSOLE_MAX 2

/* The shells' terminals: console_pick()'s choice first; on a PC also, when the kernel's active consoles
 * (DEVROOT/sys/class/tty/console/active, e.g. "tty0 ttyS0") hold both a virtual terminal and a serial port,
 * the other of the two (tty0, the current VT, is /dev/tty1).  Writes paths into out; returns the count. */
size_t console_pick_all(enum platform p, const char *console_param, const char *devroot, char out[][64], size_t max);

/* Respawn rate limit: a shell that lived less than RESPAWN_FAST_MS is a fast exit; after
 * RESPAWN_FREE_TRIES fast exits in a row each respawn waits twice as long as the last, up to RESPAWN_MAX_MS. */
#define RESPAWN_FAST_MS 3000
#define RESPAWN_FREE_TRIES 3
#define RESPAWN_MAX_MS 60000

struct respawn {
	pid_t pid;          /* running shell, 0 when none */
	long started_ms;    /* when it was started */
	int fast_exits;     /* consecutive short-lived runs */
	long next_ms;       /* earliest time for the next start */
};

/* Record that the shell exited at now_ms; returns the delay before the next start (0 = at once). */
long respawn_exited(struct respawn *r, long now_ms);

/* Start `/bin/sh -l` as a root login shell in its own session with tty as its controlling terminal.
 * restore is the signal mask the child gets back (PID 1 blocks everything it handles).
 * Returns the pid or -errno (fork failure; exec failures show up as exit status 127). */
pid_t console_spawn_shell(const char *tty, const sigset_t *restore);

/* If ROOT/etc/securetty exists, make sure it lists the tty name (e.g. "tty0").  Returns 0 or -errno. */
int console_securetty_add(const char *root, const char *tty_path);

#endif
