/* poweroff, halt, reboot, shutdown: ask PID 1 by signal (signals.h has the table), or with -f do it here. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "stage2/applets.h"
#include "stage2/signals.h"

static int ask_init(const char *prog, enum shutdown_kind kind, bool force, bool nosync)
{
	if (force) {
		if (!nosync)
			sync();
		int cmd = kind == SHUTDOWN_REBOOT ? RB_AUTOBOOT : kind == SHUTDOWN_HALT ? RB_HALT_SYSTEM : RB_POWER_OFF;
		reboot(cmd);
		fprintf(stderr, "%s: reboot(2) failed: %s\n", prog, strerror(errno));
		return 1;
	}
	if (kill(1, signal_for(kind)) < 0) {
		fprintf(stderr, "%s: unable to signal init (PID 1): %s\n", prog, strerror(errno));
		return 1;
	}
	return 0;
}

int halt_main(int argc, char **argv)
{
	const char *prog = basename(argv[0]);
	enum shutdown_kind kind = strcmp(prog, "reboot") == 0 ? SHUTDOWN_REBOOT
				  : strcmp(prog, "halt") == 0 ? SHUTDOWN_HALT
							      : SHUTDOWN_POWEROFF;
	bool force = false, nosync = false;
	int c;
	while ((c = getopt(argc, argv, "fndw")) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'n': nosync = true; break;
		case 'd': case 'w': break; /* no wtmp here */
		default:
			fprintf(stderr, "usage: %s [-f] [-n]\n  -f  do it now, without the ordered shutdown\n"
					"  -n  with -f: do not sync\n", prog);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument %s\n", prog, argv[optind]);
		return 2;
	}
	return ask_init(prog, kind, force, nosync);
}

int shutdown_main(int argc, char **argv)
{
	enum shutdown_kind kind = SHUTDOWN_NONE;
	bool halt = false;
	int c;
	while ((c = getopt(argc, argv, "hrPH")) != -1) {
		switch (c) {
		case 'h': if (kind == SHUTDOWN_NONE) kind = SHUTDOWN_POWEROFF; break;
		case 'P': kind = SHUTDOWN_POWEROFF; break;
		case 'H': halt = true; kind = SHUTDOWN_HALT; break;
		case 'r': kind = SHUTDOWN_REBOOT; break;
		default: kind = SHUTDOWN_NONE; optind = argc + 1; break;
		}
	}
	if (halt && kind == SHUTDOWN_POWEROFF)
		kind = SHUTDOWN_HALT;
	const char *when = optind < argc ? argv[optind] : NULL;
	if (kind == SHUTDOWN_NONE || optind > argc || !when) {
		fprintf(stderr, "usage: shutdown -h|-P|-H|-r now [message]\n"
				"  -h, -P  power off   -H  halt   -r  reboot\n");
		return 2;
	}
	if (strcmp(when, "now") != 0 && strcmp(when, "+0") != 0 && strcmp(when, "0") != 0) {
		fprintf(stderr, "shutdown: only \"now\" is supported, not \"%s\"\n", when);
		return 2;
	}
	for (int i = optind + 1; i < argc; i++)
		fprintf(stderr, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
	return ask_init("shutdown", kind, false, false);
}
