/* liveinit-coldplug: load the modules for the devices the kernel has found (see common/coldplug.h).
 *   liveinit-coldplug [--sysroot DIR] [--moddir DIR] [--passes N] [--settle MS] [--dry-run] [--quiet]
 * --dry-run prints each module file it would insert instead of inserting it (for tests and curiosity).
 * Exit: 0 ok, 1 a module failed or the module directory is unreadable, 2 usage. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/coldplug.h"

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "liveinit-coldplug: %s\n", msg);
}

static int print_only(void *ctx, const char *path)
{
	(void)ctx;
	printf("%s\n", path);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: liveinit-coldplug [--sysroot DIR] [--moddir DIR] [--passes N] [--settle MS] "
			"[--dry-run] [--quiet]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct coldplug_opts o = {.sysroot = "", .settle_ms = 200, .warn = warn};
	bool quiet = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (!strcmp(a, "--sysroot") && has_value)
			o.sysroot = argv[++i];
		else if (!strcmp(a, "--moddir") && has_value)
			o.moddir = argv[++i];
		else if (!strcmp(a, "--passes") && has_value)
			o.max_passes = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--settle") && has_value)
			o.settle_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--dry-run"))
			o.load = print_only;
		else if (!strcmp(a, "--quiet"))
			quiet = true;
		else
			return usage();
	}
	if (o.load)
		o.settle_ms = 0; /* nothing was loaded, nothing will appear */
	struct coldplug_result r;
	char failed[600];
	int rc = coldplug_scan(&o, &r, failed, sizeof failed);
	if (rc < 0) {
		fprintf(stderr, "liveinit-coldplug: unable to read %s: %s\n", failed, strerror(-rc));
		return 1;
	}
	if (!quiet)
		fprintf(o.load ? stderr : stdout,
			"[*] coldplug: %u devices, %u with a module, %u modules loaded, %u declined, %u failed "
			"(%u passes)\n", r.devices, r.matched, r.loaded, r.declined, r.failed, r.passes);
	return r.failed ? 1 : 0;
}
