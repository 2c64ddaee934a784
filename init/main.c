/* The multi-call binary: one static executable, installed under several names, dispatching on argv[0]
 * (or on its first argument when called as `liveinit NAME ...`). */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stage2/applets.h"

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} applets[] = {
	{ "init", init_main },
	{ "poweroff", halt_main },
	{ "halt", halt_main },
	{ "reboot", halt_main },
	{ "shutdown", shutdown_main },
	{ "mkfstab", mkfstab_main },
	{ "exitrd", exitrd_main },
};

static int usage(void)
{
	fprintf(stderr, "usage: liveinit NAME [ARGS...], or run it as NAME; NAME is one of:");
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++)
		fprintf(stderr, " %s", applets[i].name);
	fputc('\n', stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 1)
		return usage();
	const char *name = basename(argv[0]);
	if (strcmp(name, "liveinit") == 0) {
		if (argc < 2)
			return getpid() == 1 ? init_main(argc, argv) : usage(); /* init=/sbin/liveinit */
		argc--;
		argv++;
		name = basename(argv[0]);
	}
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++)
		if (strcmp(name, applets[i].name) == 0)
			return applets[i].main(argc, argv);
	fprintf(stderr, "liveinit: unknown program name \"%s\"\n", name);
	return usage();
}
