/* shadow(5): one line per user, "name:hash:lastchange:min:max:warn:inactive:expire:reserved". */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "common/sha512.h"
#include "common/shadow.h"

#define SHADOW_MAX (1 << 20)

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

/* Whole file into a NUL-terminated buffer (shadow files are small; more than SHADOW_MAX is refused). */
static char *read_all(int fd, const char *path, size_t *len, char *err, size_t errlen)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fail(err, errlen, "unable to read %s: out of memory", path);
		return NULL;
	}
	for (;;) {
		if (n + 1 == cap) {
			char *nb = cap < SHADOW_MAX ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				fail(err, errlen, "unable to read %s: too large", path);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			fail(err, errlen, "unable to read %s: %s", path, strerror(errno));
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int shadow_set_hash(const char *path, const char *user, const char *hash, char *err, size_t errlen)
{
	if (!valid_field(user) || !valid_field(hash))
		return fail(err, errlen, "unable to update %s: user name or hash empty or holds ':' or a newline", path);

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "unable to open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return fail(err, errlen, "unable to stat %s: %s", path, strerror(errno));
	}
	size_t len;
	char *old = read_all(fd, path, &len, err, errlen);
	close(fd);
	if (!old)
		return -1;

	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp) {
		free(old);
		return fail(err, errlen, "unable to update %s: path too long", path);
	}
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		free(old);
		return fail(err, errlen, "unable to create %s: %s", tmp, strerror(errno));
	}

	long today = (long)(time(NULL) / 86400);
	char entry[SHADOW_HASH_MAX + 512];
	size_t ulen = strlen(user);
	int found = 0, rc = 0;
	for (char *line = old; *line && rc == 0;) {
		char *nl = strchr(line, '\n');
		size_t llen = nl ? (size_t)(nl - line) : strlen(line);
		if (!found && llen > ulen && strncmp(line, user, ulen) == 0 && line[ulen] == ':') {
			/* Keep fields 4 and on; replace 2 and 3. */
			const char *rest = line + ulen + 1;
			const char *f3 = memchr(rest, ':', llen - ulen - 1);
			const char *f4 = f3 ? memchr(f3 + 1, ':', (size_t)(line + llen - f3 - 1)) : NULL;
			int n;
			if (f4)
				n = snprintf(entry, sizeof entry, "%s:%s:%ld%.*s\n", user, hash, today,
					     (int)(line + llen - f4), f4);
			else
				n = snprintf(entry, sizeof entry, "%s:%s:%ld:0:99999:7:::\n", user, hash, today);
			rc = n < (int)sizeof entry ? write_all(out, entry, (size_t)n) : (errno = E2BIG, -1);
			found = 1;
		} else {
			rc = write_all(out, line, llen) || write_all(out, "\n", 1) ? -1 : 0;
		}
		line += llen + (nl ? 1 : 0);
	}
	if (!found && rc == 0) {
		int n = snprintf(entry, sizeof entry, "%s:%s:%ld:0:99999:7:::\n", user, hash, today);
		rc = n < (int)sizeof entry ? write_all(out, entry, (size_t)n) : (errno = E2BIG, -1);
	}
	free(old);
	if (rc < 0) {
		int e = errno;
		close(out);
		unlink(tmp);
		return fail(err, errlen, "unable to write %s: %s", tmp, strerror(e));
	}
	/* The old file's permissions (0640 root:shadow on Debian), so login and passwd keep working. */
	if (fchmod(out, st.st_mode & 07777) < 0 || fchown(out, st.st_uid, st.st_gid) < 0 || fsync(out) < 0) {
		int e = errno;
		close(out);
		unlink(tmp);
		return fail(err, errlen, "unable to set up %s: %s", tmp, strerror(e));
	}
	if (close(out) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return fail(err, errlen, "unable to replace %s: %s", path, strerror(e));
	}
	return 0;
}

int shadow_set_password(const char *path, const char *user, const char *password, char *err, size_t errlen)
{
	char hash[SHADOW_HASH_MAX];
	if (shadow_hash(password, hash, err, errlen) < 0)
		return -1;
	return shadow_set_hash(path, user, hash, err, errlen);
}
