/* libFuzzer target for what fetch= parses from the network and the command line: HTTP response heads,
 * DNS replies, URLs, and lease files read back.  Run: make fuzz-netparse [FUZZ_SECONDS=N]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dns.h"
#include "common/http.h"
#include "common/url.h"
#include "dhcp/lease.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	const char *why = NULL;
	switch (data[0] % 4) {
	case 0: {
		struct http_response r;
		int rc = http_parse_response((const char *)p, n, &r, &why);
		if (rc < 0 && !why)
			abort();
		if (rc == 1 && (r.header_len > n || r.status < 100 || r.status > 999))
			abort();
		if (rc == 1 && r.has_range && r.range_last < r.range_first)
			abort();
		break;
	}
	case 1: {
		struct in_addr a[DNS_MAX_ADDRS];
		int count = -1;
		if (n < 2)
			break;
		uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
		/* Ask for the name the input's own question holds, so the fuzzer gets to the answers. */
		char name[256] = "x";
		size_t o = 12, k = 0;
		while (o < n && p[o] && p[o] < 64 && k + p[o] + 1 < sizeof name) {
			memcpy(name + k, p + o + 1 < p + n ? p + o + 1 : p, o + 1 + p[o] <= n ? p[o] : 0);
			k += p[o];
			name[k++] = '.';
			o += 1 + p[o];
		}
		if (k)
			name[k - 1] = 0;
		int rc = dns_parse_reply(p, n, id, name, a, &count, &why);
		if (rc == DNS_BAD && !why)
			abort();
		if (count < 0 || count > DNS_MAX_ADDRS || (rc == DNS_OK && count == 0))
			abort();
		uint8_t q[DNS_MAX_MSG];
		dns_build_query(q, sizeof q, id, name);
		break;
	}
	case 2: {
		char text[1024];
		size_t m = n < sizeof text - 1 ? n : sizeof text - 1;
		memcpy(text, p, m);
		text[m] = 0;
		struct url u;
		if (url_parse(text, &u, &why) == 0 && (u.path[0] != '/' || !u.host[0] || !u.port))
			abort();
		break;
	}
	default: {
		char text[4096];
		size_t m = n < sizeof text - 1 ? n : sizeof text - 1;
		memcpy(text, p, m);
		text[m] = 0;
		struct lease_file f;
		lease_parse(text, &f, &why);
		break;
	}
	}
	return 0;
}
