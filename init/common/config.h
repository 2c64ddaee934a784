/* The boot configuration as both stages take it: /proc/cmdline parsed, log modes set, warnings printed,
 * the platform decided (given, or detected). */
#ifndef LIVEINIT_CONFIG_H
#define LIVEINIT_CONFIG_H

#include <stdbool.h>

#include "common/cmdline.h"

/* print_warnings: false when an earlier stage already printed them on this boot. */
void config_load(struct live_config *cfg, bool print_warnings);

#endif
