#include "common/config.h"

#include <string.h>

#include "common/log.h"

void config_load(struct live_config *cfg, bool print_warnings)
{
	int rc = cmdline_read("/proc/cmdline", cfg);
	log_set_quiet(cfg->quiet);
	log_set_debug(cfg->debug);
	if (rc < 0)
		log_warn("unable to read /proc/cmdline: %s; using the defaults", strerror(-rc));
	for (int i = 0; print_warnings && i < cfg->nwarnings; i++)
		log_warn("%s", cfg->warnings[i]);
	if (!cfg->platform_given)
		cfg->platform = platform_detect("");
}
