/* mkfstab: the boot's partition scan on its own.
 *   mkfstab [--root PREFIX] [--output FILE|-] [--platform uml|xen|pc] [--no-mkdir]
 * Writes PREFIX/etc/fstab (or FILE; "-" prints it) exactly as PID 1 does at boot.  Exit 0 ok, 1 failure,
 * 2 usage. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/cmdline.h"
#include "stage2/applets.h"
#include "stage2/fstab.h"

static int usage(void)
{
	fprintf(stderr, "usage: mkfstab [--root PREFIX] [--output FILE|-] [--platform uml|xen|pc] [--no-mkdir]\n");
	return 2;
}

int mkfstab_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "platform", required_argument, NULL, 'p' },
		{ "no-mkdir", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "", *output = NULL, *platform = NULL;
	bool mkdirs = true;
	int c;
	while ((c = getopt_long(argc, argv, "r:o:p:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'o': output = optarg; break;
		case 'p': platform = optarg; break;
		case 'n': mkdirs = false; break;
		default: return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (strcmp(root, "/") == 0)
		root = "";

	enum platform p;
	if (!platform) {
		struct live_config cfg;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/proc/cmdline", root);
		cmdline_read(path, &cfg); /* unreadable: defaults, then detection */
		p = cfg.platform_given ? cfg.platform : platform_detect(root);
	} else if (strcmp(platform, "uml") == 0) {
		p = PLATFORM_UML;
	} else if (strcmp(platform, "xen") == 0) {
		p = PLATFORM_XEN;
	} else if (strcmp(platform, "pc") == 0) {
		p = PLATFORM_PC;
	} else {
		fprintf(stderr, "mkfstab: unknown platform \"%s\" (uml, xen or pc)\n", platform);
		return 2;
	}

	char def[PATH_MAX];
	if (!output) {
		snprintf(def, sizeof(def), "%s/etc/fstab", root);
		output = def;
	} else if (strcmp(output, "-") == 0) {
		output = NULL;
	}
	struct fstab_scan scan;
	char what[512];
	int r = fstab_generate(root, p, output, mkdirs, &scan, what, sizeof(what));
	for (size_t i = 0; i < scan.nnotes; i++)
		fprintf(stderr, "mkfstab: %s\n", scan.notes[i]);
	fstab_scan_free(&scan);
	if (r < 0) {
		fprintf(stderr, "mkfstab: unable to %s: %s\n", what, strerror(-r));
		return 1;
	}
	return 0;
}
