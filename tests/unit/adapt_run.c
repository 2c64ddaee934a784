/* Host driver for tests/test_adapt.py: run stage 1's root adaptation on a fixture tree, as stage 1 does
 * after mounting the overlay.
 *   adapt_run ROOT INITRD_DIR RUN_DIR CMDLINE
 * CMDLINE is parsed as /proc/cmdline (`uml`/`xen` choose the platform, else PC).  Prints the adapt log on
 * stdout ("init: KIND" first); an error on stderr and exit 1. */
#include <stdio.h>

#include "stage1/stage1.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: adapt_run ROOT INITRD_DIR RUN_DIR CMDLINE\n");
		return 2;
	}
	struct live_config cfg;
	cmdline_parse(argv[4], &cfg);
	const char *root = argv[1];
	struct adapt_log log = {0};
	struct s1_error err;
	int rc;
	printf("init: %s\n", root_init_name(adapt_classify(root, cfg.init)));
	if (cfg.stage2)
		rc = stage2_prepare(root, argv[2], argv[3], &log, &err);
	else if (cfg.adapt)
		rc = adapt_root(&cfg, root, &log, &err);
	else
		rc = 0;
	for (int i = 0; i < log.n; i++)
		printf("%s\n", log.line[i]);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}
