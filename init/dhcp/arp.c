#include "dhcp/arp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Ethernet/IPv4 ARP body (RFC 826) as seen on a SOCK_DGRAM packet socket: no link header. */
enum { ARP_LEN = 28, AR_OP = 6, AR_SHA = 8, AR_SPA = 14, AR_THA = 18, AR_TPA = 24 };

int arp_open(int ifindex)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
				   .sll_ifindex = ifindex };
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int arp_send(int fd, int ifindex, const uint8_t mac[6], struct in_addr spa, struct in_addr tpa)
{
	uint8_t p[ARP_LEN] = { 0, 1, 8, 0, 6, 4, 0, 1 };   /* Ethernet, IPv4, request */
	memcpy(p + AR_SHA, mac, 6);
	memcpy(p + AR_SPA, &spa, 4);
	memcpy(p + AR_TPA, &tpa, 4);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
				  .sll_ifindex = ifindex, .sll_halen = 6 };
	memset(to.sll_addr, 0xff, 6);
	if (sendto(fd, p, sizeof(p), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

int arp_probe(int fd, int ifindex, const uint8_t mac[6], struct in_addr addr)
{
	return arp_send(fd, ifindex, mac, (struct in_addr){ 0 }, addr);
}

int arp_announce(int fd, int ifindex, const uint8_t mac[6], struct in_addr addr)
{
	return arp_send(fd, ifindex, mac, addr, addr);
}

int arp_conflict(const uint8_t *p, size_t len, const uint8_t mac[6], struct in_addr addr, uint8_t who[6])
{
	static const uint8_t eth_ipv4[6] = { 0, 1, 8, 0, 6, 4 };
	if (len < ARP_LEN || memcmp(p, eth_ipv4, 6) != 0)
		return 0;
	if (memcmp(p + AR_SHA, mac, 6) == 0)   /* our own probe, looped back */
		return 0;
	unsigned op = (unsigned)(p[AR_OP] << 8 | p[AR_OP + 1]);
	if (op != 1 && op != 2)
		return 0;
	/* Someone claims the address as sender (reply, announcement or ordinary request), or probes for it at
	 * the same time as we do (sender 0.0.0.0, target addr: RFC 5227 section 2.1.1). */
	bool sender_is = memcmp(p + AR_SPA, &addr, 4) == 0;
	static const uint8_t zero[4];
	bool rival_probe = op == 1 && memcmp(p + AR_SPA, zero, 4) == 0 && memcmp(p + AR_TPA, &addr, 4) == 0;
	if (!sender_is && !rival_probe)
		return 0;
	memcpy(who, p + AR_SHA, 6);
	return 1;
}
