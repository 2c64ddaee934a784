/* dhcpc: the background DHCP client -- its program interface, for stage 2 and for people.
 *
 *   dhcpc [-f] [-q] [-1] [-v] [--resolv-conf PATH] [--lease-dir DIR] [--hostname H] [--timeout S]
 *         [--arp-wait MS] IFACE
 *   dhcpc --static IPSPEC [--resolv-conf PATH] [--lease-dir DIR]
 *   dhcpc --release [--lease-dir DIR] [--timeout S] IFACE
 *   dhcpc --help
 *
 * Exit codes: 0 ok, 1 failure, 2 usage.
 *
 * Contract with stage 2 (init/stage2):
 * - Start: run `/sbin/dhcpc IFACE` once per Ethernet-type interface (ARPHRD_ETHER: eth0, vec0, ...).
 *   Without -f it checks the interface, forks a daemon (setsid, stdin /dev/null, stdout/stderr kept for
 *   the console) and returns 0 as soon as the daemon has written DIR/IFACE.pid -- it never waits for a
 *   server.  Exit 1 means the interface is missing or not Ethernet, or a client already runs on it.
 *   The daemon brings the link up, logs one line per state change ("dhcpc: eth0: bound 10.0.2.15/24 via
 *   10.0.2.2 lease 86400s") unless -q, and keeps trying quietly (backoff up to 64 s) while no server answers.
 * - State: DIR/IFACE.lease holds "key=value" lines (interface, state, address, prefix, server, router,
 *   dns, domain, mtu, obtained/renew/rebind/expires as Unix times).  DIR defaults to /run/dhcpc.
 * - Stop: send SIGTERM to the pid in DIR/IFACE.pid (or run `dhcpc --release IFACE`, which does that and
 *   waits).  The daemon sends DHCPRELEASE, removes the address and default route, restores the MTU,
 *   writes state=released, removes the pid file as its last step and exits 0.  It does NOT bring the
 *   link down: stage 2 does that ("Shutting down network device... eth0").  The pid file disappearing
 *   is the signal that the release is done (a zombie the caller has not reaped yet does not matter).
 * - Resume: a still-valid state=bound lease in DIR/IFACE.lease whose address is on the interface (stage 1's
 *   fetch= leaves one) is taken over at start: BOUND at once with its T1/T2/expiry, no DISCOVER.
 * - SIGUSR1 renews the lease at once (or retries at once when there is none).
 * - Kernel ip=: ip=dhcp (default) -> the above; ip=off/nodhcp -> do not start dhcpc; any other value
 *   -> `dhcpc --static VALUE` (see ipconfig.h): the static form configures the interface and exits; the
 *   DHCP forms without a client address (":::::eth1:dhcp") start daemons as above (returns once their pid
 *   files exist), on the named device or on every Ethernet interface.
 */
#ifndef LIVEINIT_DHCP_DHCPC_H
#define LIVEINIT_DHCP_DHCPC_H

#define DHCPC_LEASE_DIR "/run/dhcpc"
#define DHCPC_RESOLV_CONF "/etc/resolv.conf"
/* How long to listen for a conflicting host after the ARP probe.  Hosts answer ARP from the kernel in well
 * under a millisecond on a LAN, and the server has usually checked the address before offering it (dnsmasq
 * pings, udhcpd arpings); a full RFC 5227 probe (1-2 s x 3) would multiply the time to network at boot.
 * The probe goes out with the REQUEST, so the server's answer time overlaps this wait. */
#define DHCPC_ARP_WAIT_MS 50

int dhcpc_main(int argc, char **argv);

#endif
