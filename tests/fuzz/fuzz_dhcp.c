/* libFuzzer target for everything dhcpc parses from the network or the command line:
 * IPv4/UDP frames, DHCP replies (all options, overload, RFC 3396/3397), ARP packets, and ip= text.
 * Seeds: tests/fuzz/dhcp-seeds/ (captured frames and payloads).  Run: make fuzz [FUZZ_SECONDS=N]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp/arp.h"
#include "dhcp/ipconfig.h"
#include "dhcp/lease.h"
#include "dhcp/packet.h"

static void payload(const uint8_t *data, size_t size)
{
	if (size < 34)
		return;
	/* Take xid and chaddr from the input itself so the fuzzer gets past those checks to the options. */
	uint32_t xid = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
	struct dhcp_info info;
	const char *why;
	if (dhcp_parse(data, size, xid, data + 28, &info, &why) != 0) {
		if (!why || !why[0])
			abort();   /* every rejection must say why */
		return;
	}
	/* What a parsed reply turns into must stay within its buffers and be printable text. */
	char out[2048];
	struct lease_record l = { .iface = "eth0", .state = "bound", .addr = info.yiaddr, .mask = info.mask,
				  .server = info.server_id, .info = &info, .obtained = 1, .lease = info.lease };
	size_t n = lease_format(out, sizeof(out), &l);
	if (n >= sizeof(out) || strlen(out) != n)
		abort();
	n = resolv_format(out, sizeof(out), "eth0", &info);
	if (n >= sizeof(out) || strlen(out) != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((out[i] < ' ' || out[i] > '~') && out[i] != '\n')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	size_t plen;
	const char *why;
	if (dhcp_frame_parse(data, size, true, &p, &plen, &why) == 0) {
		if (p < data || p + plen > data + size)
			abort();
		payload(p, plen);
	}
	payload(data, size);

	uint8_t who[6];
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	arp_conflict(data, size, mac, (struct in_addr){ 0x0100000a }, who);

	if (size < 600) {
		char text[600];
		memcpy(text, data, size);
		text[size] = 0;
		struct ipconfig cfg;
		if (ipconfig_parse(text, &cfg, &why) == 0 && cfg.mode == IPCONFIG_STATIC &&
		    (cfg.client.s_addr == 0 || netmask_prefix(cfg.mask) < 1))
			abort();
	}
	return 0;
}
