/* Address conflict detection (RFC 5227): probe an address before using it, announce it after. */
#ifndef LIVEINIT_DHCP_ARP_H
#define LIVEINIT_DHCP_ARP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* A packet socket for ARP on ifindex, or -errno. */
int arp_open(int ifindex);

/* Broadcast a probe ("who has ADDR?" from sender address 0.0.0.0).  0 or -errno. */
int arp_probe(int fd, int ifindex, const uint8_t mac[6], struct in_addr addr);
/* Broadcast an announcement (gratuitous ARP: sender and target ADDR).  0 or -errno. */
int arp_announce(int fd, int ifindex, const uint8_t mac[6], struct in_addr addr);

/* Does this ARP packet show that another host uses (or probes for) addr?  Returns 1 and copies its hardware
 * address into who, else 0.  Pure: the unit tests feed it packets. */
int arp_conflict(const uint8_t *pkt, size_t len, const uint8_t mac[6], struct in_addr addr, uint8_t who[6]);

#endif
