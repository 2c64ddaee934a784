/* The DHCP client state machine (RFC 2131 figure 5) for one interface, run in one poll loop. */
#ifndef LIVEINIT_DHCP_CLIENT_H
#define LIVEINIT_DHCP_CLIENT_H

#include <stdbool.h>

struct client_opts {
	const char *iface;
	const char *lease_dir;     /* IFACE.lease (and the pid file, written by main) */
	const char *resolv_conf;
	const char *hostname;      /* sent as option 12; NULL or "" for none */
	bool once;                 /* return 0 as soon as the first lease is configured */
	int timeout_s;             /* with once: return 1 when no lease after this long */
	int arp_wait_ms;           /* how long to listen for a conflict after the ARP probe; 0 = no probe */
	bool quiet;                /* no state-change lines on stdout */
};

/* Run until SIGTERM/SIGINT (read from sigfd, a signalfd for TERM, INT, USR1 and HUP) or, with once, until
 * bound or timed out.  SIGUSR1 renews at once.  Returns the exit code: 0 ok, 1 failure. */
int client_run(const struct client_opts *o, int sigfd);

#endif
