/* Network interfaces as sysfs lists them: names, and which of them are Ethernet (eth0, vec0, veth, tap...).
 * Takes a root prefix so the unit tests feed it fixture trees. */
#ifndef LIVEINIT_COMMON_NETIF_H
#define LIVEINIT_COMMON_NETIF_H

#include <stdbool.h>
#include <stddef.h>

#define NETIF_NAME_MAX 16 /* IFNAMSIZ */

/* A name the kernel could have made: 1..15 printable bytes, no '/', ':' or space, not starting with '.'. */
bool netif_name_ok(const char *name);

/* Interfaces under SYSROOT/sys/class/net, lo never, sorted by name; with ether_only only those whose
 * `type` is 1 (ARPHRD_ETHER).  Returns the count (0 when the directory cannot be read). */
size_t netif_list(const char *sysroot, bool ether_only, char (*names)[NETIF_NAME_MAX], size_t max);

#endif
