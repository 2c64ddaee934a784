/* DHCP messages (RFC 2131/2132): build what the client sends, parse and validate what it receives,
 * and the IPv4/UDP framing used on the packet socket before the interface has an address.
 * Pure functions over byte buffers: no sockets, no global state (the fuzzer and unit tests call them). */
#ifndef LIVEINIT_DHCP_PACKET_H
#define LIVEINIT_DHCP_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dhcp_msg_type {
	DHCPDISCOVER = 1,
	DHCPOFFER = 2,
	DHCPREQUEST = 3,
	DHCPDECLINE = 4,
	DHCPACK = 5,
	DHCPNAK = 6,
	DHCPRELEASE = 7,
};

#define DHCP_FIXED_LEN 236        /* op .. file, before the magic cookie */
#define DHCP_MIN_LEN (DHCP_FIXED_LEN + 4)
#define DHCP_MAX_MSG 1500         /* largest reply we accept (one Ethernet frame) */
#define DHCP_MAX_DNS 4
#define DHCP_CLIENT_PORT 68
#define DHCP_SERVER_PORT 67
#define DHCP_LEASE_INFINITE 0xffffffffu

/* What a server told us.  Addresses are in network byte order; s_addr 0 means "not given". */
struct dhcp_info {
	uint8_t type;                   /* enum dhcp_msg_type */
	struct in_addr yiaddr;
	struct in_addr server_id;       /* option 54 */
	struct in_addr mask;            /* option 1 (contiguous), 0 when absent or invalid */
	struct in_addr router;          /* first address of option 3 */
	struct in_addr broadcast;       /* option 28 */
	struct in_addr dns[DHCP_MAX_DNS];
	int ndns;
	char domain[256];               /* option 15, checked to be a plain host-name string */
	char search[256];               /* option 119 (RFC 3397) decoded, space-separated; else "" */
	char hostname[64];              /* option 12 */
	uint32_t lease;                 /* option 51, seconds; 0 when absent */
	uint32_t t1, t2;                /* options 58/59, 0 when absent */
	uint16_t mtu;                   /* option 26, 0 when absent */
};

/* What the client is sending.  Fields a message type must not carry (RFC 2131 table 5) are left out
 * by dhcp_build() whatever is set here. */
struct dhcp_request {
	uint8_t type;
	uint32_t xid;
	uint16_t secs;
	uint8_t mac[6];
	struct in_addr ciaddr;          /* RENEWING/REBINDING/RELEASE */
	struct in_addr requested;       /* option 50: SELECTING REQUEST, DECLINE */
	struct in_addr server_id;       /* option 54: SELECTING REQUEST, DECLINE, RELEASE */
	const char *hostname;           /* option 12, NULL or "" for none */
};

/* Build a BOOTREQUEST into buf (cap >= 548).  Returns its length, or 0 if cap is too small. */
size_t dhcp_build(uint8_t *buf, size_t cap, const struct dhcp_request *rq);

/* Parse a BOOTREPLY for our xid and mac.  Accepts only OFFER, ACK and NAK, well-formed in every field and
 * option (RFC 3396 long options are concatenated; option overload 52 is followed into file/sname).
 * Returns 0 and fills *out, or -1 with *why naming the first problem found. */
int dhcp_parse(const uint8_t *buf, size_t len, uint32_t xid, const uint8_t mac[6], struct dhcp_info *out,
	       const char **why);

/* Wrap a DHCP payload in IPv4 + UDP (68 -> 67).  Returns the frame length, or 0 if cap is too small. */
size_t dhcp_frame_build(uint8_t *out, size_t cap, const uint8_t *payload, size_t len, struct in_addr src,
			struct in_addr dst);

/* Check an IPv4 datagram carrying UDP to port 68 and find its payload.  check_udp_sum is false when the
 * kernel reports the checksum not yet computed (veth/tap offload; PACKET_AUXDATA TP_STATUS_CSUMNOTREADY).
 * Returns 0 and sets the payload pointer and length, or -1 with *why. */
int dhcp_frame_parse(const uint8_t *frame, size_t len, bool check_udp_sum, const uint8_t **payload,
		     size_t *plen, const char **why);

/* Prefix length of a contiguous netmask (network order), or -1 if it is not contiguous. */
int netmask_prefix(struct in_addr mask);
/* The classful default mask of an address (A/B/C), as the kernel's ipconfig assumes. */
struct in_addr netmask_classful(struct in_addr addr);

#endif
