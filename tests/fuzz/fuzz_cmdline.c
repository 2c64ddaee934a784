/* libFuzzer target: the kernel command line parser both stages and dhcpc share (common/cmdline.c).
 * Whatever the text, every string field stays NUL-terminated within its array, the warning count within
 * its table, and numbers within their documented ranges.  Seeds: tests/fuzz/cmdline-seeds/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cmdline.h"

#define TERMINATED(field) (memchr((field), 0, sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct live_config cfg;
	cmdline_parse(text, &cfg);
	free(text);
	if (!TERMINATED(cfg.root) || !TERMINATED(cfg.media_path) || !TERMINATED(cfg.init) ||
	    !TERMINATED(cfg.hostname) || !TERMINATED(cfg.console) || !TERMINATED(cfg.ip))
		abort();
	if (cfg.nwarnings < 0 || cfg.nwarnings > CMDLINE_MAX_WARNINGS)
		abort();
	for (int i = 0; i < cfg.nwarnings; i++)
		if (!TERMINATED(cfg.warnings[i]))
			abort();
	if (cfg.rootdelay < 0 || cfg.rootdelay > 3600 || cfg.shutdown_timeout < 0 || cfg.shutdown_timeout > 3600)
		abort();
	if (cfg.platform != PLATFORM_PC && cfg.platform != PLATFORM_UML && cfg.platform != PLATFORM_XEN)
		abort();
	/* Paths we would exec or mount are absolute. */
	if (cfg.init[0] != '/' || (cfg.media_path[0] && cfg.media_path[0] != '/'))
		abort();
	return 0;
}
