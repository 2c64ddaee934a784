#include "dhcp/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dhcp/packet.h"

/* Classic BPF over the IPv4 header (SOCK_DGRAM: no link header): UDP, not a fragment, dport 68. */
static struct sock_filter dhcp_filter[] = {
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),                /* protocol */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 5),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),                /* flags + fragment offset */
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 3, 0),
	BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),               /* X = header length */
	BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),                /* UDP destination port */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DHCP_CLIENT_PORT, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_RET | BPF_K, 0x40000),
};

/* Protocol 0 at socket() and the real one at bind(): the socket hooks into the stack once, for this
 * interface only, instead of hooking for all interfaces and re-hooking at bind (which waits for an RCU grace
 * period, ~15 ms).  Frames that arrive before the filter is attached are checked like any other. */
int raw_open(int ifindex)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sock_fprog prog = { sizeof(dhcp_filter) / sizeof(dhcp_filter[0]), dhcp_filter };
	int one = 1;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = ifindex };
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int raw_send(int fd, int ifindex, const uint8_t *payload, size_t len)
{
	uint8_t frame[DHCP_MAX_MSG + 28];
	size_t n = dhcp_frame_build(frame, sizeof(frame), payload, len, (struct in_addr){ 0 },
				    (struct in_addr){ INADDR_BROADCAST });
	if (n == 0)
		return -EMSGSIZE;
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				  .sll_ifindex = ifindex, .sll_halen = 6 };
	memset(to.sll_addr, 0xff, 6);
	if (sendto(fd, frame, n, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

ssize_t raw_recv(int fd, uint8_t *buf, size_t cap, const uint8_t **payload, const char **why)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct iovec iov = { buf, cap };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
			      .msg_controllen = sizeof(ctl) };
	ssize_t n = recvmsg(fd, &msg, MSG_TRUNC);
	if (n < 0)
		return -errno;
	if ((size_t)n > cap) {
		*why = "frame larger than the receive buffer";
		return -EAGAIN;
	}
	/* On veth/tap a locally generated frame may carry a not-yet-computed UDP checksum. */
	bool check_sum = true;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
			struct tpacket_auxdata aux;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if (aux.tp_status & TP_STATUS_CSUMNOTREADY)
				check_sum = false;
		}
	}
	size_t plen;
	if (dhcp_frame_parse(buf, (size_t)n, check_sum, payload, &plen, why))
		return -EAGAIN;
	return (ssize_t)plen;
}

int udp_open(const char *ifname)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(DHCP_CLIENT_PORT) };
	/* Bound to the device, several clients (one per interface) can each own port 68. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int udp_send(int fd, struct in_addr dst, const uint8_t *payload, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(DHCP_SERVER_PORT), .sin_addr = dst };
	if (sendto(fd, payload, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

int udp_drain(int fd, int timeout_ms)
{
	/* A datagram waiting for ARP resolution still counts against the socket's send buffer. */
	for (int waited = 0;; waited += 5) {
		int queued = 0;
		if (ioctl(fd, SIOCOUTQ, &queued) < 0)
			return -errno;
		if (queued == 0)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ 0, 5 * 1000000 }, NULL);
	}
}
