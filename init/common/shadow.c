/* shadow(5): one line per user, "name:hash:lastchange:min:max:warn:inactive:expire:reserved". */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/fileio.h"
#include "common/sha512.h"
#include "common/shadow.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char B64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void add_repeated(struct sha512 *c, const uint8_t *block, size_t len)
{
	for (; len > 64; len -= 64)
		sha512_update(c, block, 64);
	sha512_update(c, block, len);
}

/* SHA-crypt as specified by Ulrich Drepper ("Unix crypt using SHA-256 and SHA-512", 2007), 5000 rounds. */
void shadow_sha512_crypt(const char *key, const char *salt, char out[SHADOW_HASH_MAX])
{
	size_t kl = strlen(key), sl = strcspn(salt, "$");
	if (sl > 16)
		sl = 16;
	struct sha512 c;
	uint8_t a[64], b[64], dp[64], ds[64];

	/* B = H(key salt key) */
	sha512_init(&c);
	sha512_update(&c, key, kl);
	sha512_update(&c, salt, sl);
	sha512_update(&c, key, kl);
	sha512_final(&c, b);

	/* A = H(key salt B-repeated-to-key-length, then B or key for each bit of the key's length) */
	sha512_init(&c);
	sha512_update(&c, key, kl);
	sha512_update(&c, salt, sl);
	add_repeated(&c, b, kl);
	for (size_t n = kl; n > 0; n >>= 1)
		if (n & 1)
			sha512_update(&c, b, 64);
		else
			sha512_update(&c, key, kl);
	sha512_final(&c, a);

	/* P (dp repeated to the key's length): H(key repeated key-length times); S: H(salt repeated 16 + A[0]
	 * times), its first salt-length bytes. */
	sha512_init(&c);
	for (size_t i = 0; i < kl; i++)
		sha512_update(&c, key, kl);
	sha512_final(&c, dp);
	sha512_init(&c);
	for (size_t i = 0; i < 16u + a[0]; i++)
		sha512_update(&c, salt, sl);
	sha512_final(&c, ds);
	uint8_t sseq[16];
	memcpy(sseq, ds, sl);

	for (int r = 0; r < 5000; r++) {
		sha512_init(&c);
		if (r & 1)
			add_repeated(&c, dp, kl);
		else
			sha512_update(&c, a, 64);
		if (r % 3)
			sha512_update(&c, sseq, sl);
		if (r % 7)
			add_repeated(&c, dp, kl);
		if (r & 1)
			sha512_update(&c, a, 64);
		else
			add_repeated(&c, dp, kl);
		sha512_final(&c, a);
	}

	/* "$6$salt$" and the 64 bytes in the specification's order: 21 groups of three (bytes i, i+21, i+42
	 * with the roles rotating), 4 characters each, then byte 63 in 2 characters. */
	static const uint8_t order[21][3] = {
		{0, 21, 42},  {22, 43, 1},  {44, 2, 23},  {3, 24, 45},  {25, 46, 4},  {47, 5, 26},  {6, 27, 48},
		{28, 49, 7},  {50, 8, 29},  {9, 30, 51},  {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
		{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41},
	};
	char *o = out + sprintf(out, "$6$%.*s$", (int)sl, salt);
	for (int g = 0; g < 21; g++) {
		uint32_t w = (uint32_t)a[order[g][0]] << 16 | (uint32_t)a[order[g][1]] << 8 | a[order[g][2]];
		for (int i = 0; i < 4; i++, w >>= 6)
			*o++ = B64[w & 63];
	}
	for (uint32_t w = a[63], i = 0; i < 2; i++, w >>= 6)
		*o++ = B64[w & 63];
	*o = '\0';
}

int shadow_hash(const char *password, char hash[SHADOW_HASH_MAX], char *err, size_t errlen)
{
	unsigned char rnd[16];
	char salt[17];

	/* The salt only has to differ between hashes, but getrandom(2) is the one source that does that even on
	 * the first boot of an identical image; 0 flags: it waits for the kernel's pool, seconds at worst. */
	size_t got = 0;
	while (got < sizeof rnd) {
		ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(err, errlen, "unable to read a salt from getrandom: %s", strerror(errno));
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		salt[i] = B64[rnd[i] & 63];
	salt[16] = '\0';
	shadow_sha512_crypt(password, salt, hash);
	return 0;
}

static int valid_field(const char *s)
{
	return *s && !strpbrk(s, ":\n");
}

int shadow_set_hash(const char *path, const char *user, const char *hash, char *err, size_t errlen)
{
	if (!valid_field(user) || !valid_field(hash))
		return fail(err, errlen, "unable to update %s: user name or hash empty or holds ':' or a newline", path);
	char *old;
	size_t len;
	int r = file_read(path, &old, &len);
	if (r < 0)
		return fail(err, errlen, "unable to read %s: %s", path, strerror(-r));
	/* The new text: every line as it was but the user's (fields 2 and 3 replaced), or the user appended. */
	size_t cap = len + strlen(user) + strlen(hash) + 64;
	char *text = malloc(cap);
	if (!text) {
		free(old);
		return fail(err, errlen, "unable to update %s: out of memory", path);
	}
	long today = (long)(time(NULL) / 86400);
	size_t ulen = strlen(user), n = 0;
	bool found = false;
	for (const char *line = old; *line;) {
		size_t llen = strcspn(line, "\n");
		if (!found && llen > ulen && !strncmp(line, user, ulen) && line[ulen] == ':') {
			/* Keep fields 4 and on. */
			const char *f3 = memchr(line + ulen + 1, ':', llen - ulen - 1);
			const char *f4 = f3 ? memchr(f3 + 1, ':', (size_t)(line + llen - f3 - 1)) : NULL;
			if (f4)
				n += (size_t)snprintf(text + n, cap - n, "%s:%s:%ld%.*s\n", user, hash, today,
						      (int)(line + llen - f4), f4);
			else
				n += (size_t)snprintf(text + n, cap - n, "%s:%s:%ld:0:99999:7:::\n", user, hash, today);
			found = true;
		} else {
			n += (size_t)snprintf(text + n, cap - n, "%.*s\n", (int)llen, line);
		}
		line += llen + (line[llen] == '\n');
	}
	if (!found)
		n += (size_t)snprintf(text + n, cap - n, "%s:%s:%ld:0:99999:7:::\n", user, hash, today);
	free(old);
	const char *step;
	/* file_write_atomic keeps the file's mode and owner (0640 root:shadow on Debian). */
	r = n < cap ? file_write_atomic(path, text, n, &step) : (step = "format", -E2BIG);
	free(text);
	if (r < 0)
		return fail(err, errlen, "unable to replace %s (%s): %s", path, step, strerror(-r));
	return 0;
}

int shadow_set_password(const char *path, const char *user, const char *password, char *err, size_t errlen)
{
	char hash[SHADOW_HASH_MAX];
	if (shadow_hash(password, hash, err, errlen) < 0)
		return -1;
	return shadow_set_hash(path, user, hash, err, errlen);
}
