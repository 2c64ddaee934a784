/* PID 1's signals as data: blocked from the start, taken one at a time in one loop (sigtimedwait), looked up
 * in a table.  The conventions are busybox init's, so its poweroff/halt/reboot work against us too:
 *   SIGUSR1 halt, SIGUSR2 poweroff, SIGTERM reboot,
 *   SIGINT  Ctrl-Alt-Del (the kernel sends it once reboot(RB_DISABLE_CAD) is set): reboot, as on a PC,
 *   SIGCHLD reap (every wake-up reaps with a WNOHANG loop anyway); SIGHUP, SIGQUIT, SIGPWR: ignored. */
#ifndef LIVEINIT_STAGE2_SIGNALS_H
#define LIVEINIT_STAGE2_SIGNALS_H

#include <signal.h>

#include "stage2/console.h"
#include "stage2/services.h"
#include "stage2/shutdown.h"

/* What a signal asks for; SHUTDOWN_NONE for the ones that only wake the loop up. */
enum shutdown_kind signal_action(int sig);

/* The signal each shutdown kind is requested with (for poweroff/halt/reboot); 0 for none. */
int signal_for(enum shutdown_kind kind);

/* Block every signal in the table; *saved gets the mask children must be given back. */
void signals_block(sigset_t *handled, sigset_t *saved);

/* What PID 1 keeps alive between the ready line and the shutdown. */
struct pid1_state {
	struct respawn shell[CONSOLE_MAX]; /* a root shell on each of tty[] */
	char tty[CONSOLE_MAX][64];
	size_t nshells;
	struct services *services;         /* NULL: none */
	int control_fd;                    /* liveinit-svc's socket, -1: none */
};

/* Keep the shells and services alive, answer liveinit-svc, and reap zombies until a shutdown is asked for;
 * returns which.  One poll loop: the handled signals arrive on a signalfd. */
enum shutdown_kind signal_loop(const sigset_t *handled, const sigset_t *restore, struct pid1_state *st);

#endif
