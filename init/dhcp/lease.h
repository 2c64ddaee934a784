/* What the client leaves on disk: the lease (/run/dhcpc/IFACE.lease, `cat`-able), the pid file
 * (/run/dhcpc/IFACE.pid) and resolv.conf.  Every file is written with common/fileio.h's file_write_atomic
 * (X.new, fsync, rename; a symlinked resolv.conf is written through the link, a bind-mounted one in place). */
#ifndef LIVEINIT_DHCP_LEASE_H
#define LIVEINIT_DHCP_LEASE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "dhcp/packet.h"

struct lease_record {
	const char *iface;
	const char *state;              /* "bound", "renewing", "rebinding", "expired", "released", "static" */
	struct in_addr addr, mask, server;
	const struct dhcp_info *info;   /* router, DNS, domain, MTU...; NULL for a bare state change */
	time_t obtained;                /* wall clock when the server's ACK was requested */
	uint32_t lease, t1, t2;         /* seconds from obtained; lease DHCP_LEASE_INFINITE = forever */
};

/* Format a lease as "key=value" lines into buf.  Returns the length (truncated to cap - 1). */
size_t lease_format(char *buf, size_t cap, const struct lease_record *l);
/* Format resolv.conf ("search"/"nameserver" lines).  Returns the length, 0 when there is nothing to say. */
size_t resolv_format(char *buf, size_t cap, const char *iface, const struct dhcp_info *info);

/* A lease file read back (what lease_format wrote): stage 1 reads the DNS servers from it, and a client
 * started later on the same interface resumes the lease from it instead of starting over. */
struct lease_file {
	char state[16];
	struct in_addr addr, mask, server;
	struct dhcp_info info;          /* router, broadcast, dns, domain, search, hostname, mtu */
	time_t obtained;
	uint32_t lease, t1, t2;         /* seconds from obtained, as in struct lease_record */
};

/* Parse lease_format's text.  Unknown keys are skipped.  Returns 0, or -1 with *why when the text has no
 * state or no address. */
int lease_parse(const char *text, struct lease_file *out, const char **why);

/* "dir/iface.suffix" into buf.  Returns 0, or -ENAMETOOLONG. */
int lease_path(char *buf, size_t cap, const char *dir, const char *iface, const char *suffix);

#endif
