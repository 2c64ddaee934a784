/* The client's clock arithmetic, pure so the unit tests can check it: retransmission backoff, the
 * RENEWING/REBINDING retransmission times, and T1/T2 from a lease.  Times in milliseconds. */
#ifndef LIVEINIT_DHCP_TIMING_H
#define LIVEINIT_DHCP_TIMING_H

#include <stdint.h>

#define DHCP_DEFAULT_LEASE 3600u   /* when an ACK carries no lease time */

/* RFC 2131 4.1: 4 s before the first retransmission, doubling up to 64 s, each randomised by -1..+1 s.
 * random is any 32-bit random number. */
int64_t dhcp_backoff_ms(int tries, uint32_t random);

/* RENEWING/REBINDING (RFC 2131 4.4.5): next retransmission at half the time left until deadline, but not
 * sooner than a minute -- for what is left under a minute, at the deadline itself. */
int64_t dhcp_retransmit_at(int64_t now, int64_t deadline);

/* T1/T2 in seconds: the server's options 58/59 when they are in order (t1 <= t2 <= lease), else 1/2 and
 * 7/8 of the lease.  lease 0 means none given (DHCP_DEFAULT_LEASE).  Returns the lease used. */
uint32_t dhcp_lease_times(uint32_t lease, uint32_t opt_t1, uint32_t opt_t2, uint32_t *t1, uint32_t *t2);

#endif
