/* SHA-512 (FIPS 180-4), for SHA-512 crypt in shadow.c (musl as Debian builds it has no crypt()). */
#ifndef LIVEINIT_SHA512_H
#define LIVEINIT_SHA512_H

#include <stddef.h>
#include <stdint.h>

struct sha512 {
	uint64_t h[8];
	uint64_t len; /* bytes; the 128-bit length field's high half stays 0 (inputs below 2^61 bytes) */
	uint8_t buf[128];
	size_t used;
};

void sha512_init(struct sha512 *s);
void sha512_update(struct sha512 *s, const void *data, size_t len);
void sha512_final(struct sha512 *s, uint8_t out[64]);

#endif
