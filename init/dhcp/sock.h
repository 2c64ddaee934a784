/* The client's sockets: a packet socket for the exchange before the interface has an address (RFC 2131
 * section 4.1: the client cannot use normal IP until configured), and a UDP socket on port 68 bound to the
 * interface for RENEWING/REBINDING/RELEASE once it has one. */
#ifndef LIVEINIT_DHCP_SOCK_H
#define LIVEINIT_DHCP_SOCK_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Packet socket for IPv4 on ifindex, filtered in the kernel to UDP to port 68.  fd or -errno. */
int raw_open(int ifindex);
/* Broadcast a DHCP payload from 0.0.0.0:68 to 255.255.255.255:67 as one Ethernet frame.  0 or -errno. */
int raw_send(int fd, int ifindex, const uint8_t *payload, size_t len);
/* Receive one frame and return its DHCP payload (a pointer into buf).  Returns the payload length,
 * -EAGAIN when the frame was not a valid UDP datagram for us (*why says why), or -errno. */
ssize_t raw_recv(int fd, uint8_t *buf, size_t cap, const uint8_t **payload, const char **why);

/* UDP socket on port 68 bound to the interface, broadcast allowed.  fd or -errno. */
int udp_open(const char *ifname);
/* Send to dst:67.  0 or -errno. */
int udp_send(int fd, struct in_addr dst, const uint8_t *payload, size_t len);

/* Wait until everything sent on fd has left (the RELEASE must be out before the address is removed: taking
 * the last address off the interface flushes its ARP queue).  0, -ETIMEDOUT or -errno. */
int udp_drain(int fd, int timeout_ms);

#endif
