/* Swap partitions: turn on what the scan found, turned off one by one at shutdown (shutdown.c). */
#ifndef LIVEINIT_STAGE2_SWAP_H
#define LIVEINIT_STAGE2_SWAP_H

#include <stddef.h>

/* Device paths listed in a /proc/swaps text (header skipped, \ooo escapes decoded), in file order.
 * Returns the count (at most max) written to paths[i] (each n bytes). */
size_t swaps_parse(const char *text, char (*paths)[256], size_t max);

/* swapon(2) one device.  Returns 0 or -errno. */
int swap_on(const char *dev);

/* The sum of the Used column (kB) of the text of /proc/swaps: what swapoff still has to read back. */
long swaps_used_kb(const char *text);

#endif
