/* Stage 2's side of the DHCP client contract (the client itself is init/dhcp, installed as /sbin/dhcpc).
 * Start: for each Ethernet interface (common/netif.h), `/sbin/dhcpc IFACE` (it daemonizes and writes /run/dhcpc/IFACE.pid);
 * ip=STATIC: `/sbin/dhcpc --static TEXT` once; ip=off / nodhcp: nothing.
 * Stop (shutdown step 3): SIGTERM each client (it releases its lease and removes the address), wait for it,
 * then bring every interface but lo down with SIOCSIFFLAGS. */
#ifndef LIVEINIT_STAGE2_NETWORK_H
#define LIVEINIT_STAGE2_NETWORK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/cmdline.h"

#define DHCPC_PATH "/sbin/dhcpc"
#define DHCPC_RUNDIR "/run/dhcpc"
#define DHCPC_COMM "dhcpc"

/* Pids from RUNDIR/IFACE.pid files that name a running dhcpc (/proc/PID/comm; a stale pid file may name an
 * unrelated process by now, which must be neither spared nor signalled).  Returns the count. */
size_t net_dhcpc_pids(const char *rundir, pid_t *out, size_t max);

/* Start the DHCP clients as described above; prints "Starting background DHCP request... IFACE". */
void net_start(const struct live_config *cfg, const sigset_t *restore);

/* Shutdown step 3; prints "Shutting down network device... IFACE" for every interface it brings down. */
void net_stop(long timeout_ms);

#endif
