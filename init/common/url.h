/* http:// URLs as fetch= takes them: http://HOST[:PORT][/PATH].  Pure: no I/O, for unit tests and fuzzing. */
#ifndef LIVEINIT_COMMON_URL_H
#define LIVEINIT_COMMON_URL_H

#include <stdint.h>

struct url {
	char host[254];         /* a DNS name or a dotted IPv4 address */
	uint16_t port;          /* 80 when not given */
	char path[512];         /* starts with '/', "/" when not given; sent as is */
};

/* Parse text.  Returns 0, or -1 with *why naming the problem (not http, empty host, bad port, too long,
 * characters that must not go into a request line). */
int url_parse(const char *text, struct url *out, const char **why);

#endif
