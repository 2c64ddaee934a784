/* DNS messages for a stub resolver: an A query for one name, and the A records of its reply (RFC 1035).
 * Pure: no I/O, for unit tests and fuzzing; the sockets are the caller's (stage1/fetch.c). */
#ifndef LIVEINIT_COMMON_DNS_H
#define LIVEINIT_COMMON_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_MSG 512     /* UDP without EDNS */
#define DNS_MAX_ADDRS 8

enum dns_result { DNS_OK = 0, DNS_NXDOMAIN = 1, DNS_NODATA = 2, DNS_SERVFAIL = 3, DNS_BAD = -1 };

/* Build a recursive A query for name (dots between labels, a trailing dot allowed).  Returns its length,
 * or 0 when the name is not a valid DNS name or cap is too small. */
size_t dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name);

/* Parse a reply to the query with id for name: A records for the name (following a CNAME chain inside
 * the reply) into addrs.  Returns DNS_OK with *n >= 1, DNS_NXDOMAIN, DNS_NODATA (the name exists, no A),
 * DNS_SERVFAIL (any other rcode, or truncated), or DNS_BAD with *why (not the reply we asked for,
 * malformed, compression loop). */
int dns_parse_reply(const uint8_t *buf, size_t len, uint16_t id, const char *name, struct in_addr *addrs,
		    int *n, const char **why);

#endif
