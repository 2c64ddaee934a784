/* Swap partitions: turn on what the scan found, turn everything off at shutdown. */
#ifndef LIVEINIT_STAGE2_SWAP_H
#define LIVEINIT_STAGE2_SWAP_H

#include <stddef.h>

/* Device paths listed in a /proc/swaps text (header skipped, \ooo escapes decoded), in file order.
 * Returns the count (at most max) written to paths[i] (each n bytes). */
size_t swaps_parse(const char *text, char (*paths)[256], size_t max);

/* swapon(2) one device.  Returns 0 or -errno. */
int swap_on(const char *dev);

/* swapoff(2) everything in the swaps file (normally "/proc/swaps").  Returns how many stayed active;
 * the first failure is in *failed / *err (failed "" when all went). */
int swap_off_all(const char *swaps_path, char *failed, size_t n, int *err);

#endif
