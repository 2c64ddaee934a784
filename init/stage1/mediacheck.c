/* `check`: compare the squashfs with the digest in "<file>.sha256" (sha256sum format) beside it,
 * like dracut's checkisomd5 or Finnix's media check, before anything is mounted from it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/sha256.h"
#include "stage1/stage1.h"

static int read_expected(const char *path, char hex[65], struct s1_error *err)
{
	char sumfile[800];
	snprintf(sumfile, sizeof sumfile, "%s.sha256", path);
	int fd = open(sumfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return s1_fail(err, "medium check: unable to open %s: %s", sumfile, strerror(errno));
	/* sha256sum's format: the digest first.  (A read, not fscanf: scanf would add ~10 KB to stage 1.) */
	ssize_t n = read(fd, hex, 64);
	close(fd);
	hex[n > 0 ? n : 0] = '\0';
	if (n != 64 || strspn(hex, "0123456789abcdefABCDEF") != 64)
		return s1_fail(err, "medium check: %s holds no SHA-256 digest", sumfile);
	return 0;
}

int media_check(const char *path, struct s1_error *err)
{
	char expected[65];
	if (read_expected(path, expected, err) < 0)
		return -1;
	return file_check_sha256(path, expected, err);
}

int file_check_sha256(const char *path, const char *expected, struct s1_error *err)
{
	char actual[65];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return s1_fail(err, "medium check: unable to open %s: %s", path, strerror(errno));
	struct sha256 s;
	sha256_init(&s);
	static char buf[1 << 16];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sha256_update(&s, buf, (size_t)n);
	int saved = errno;
	close(fd);
	if (n < 0)
		return s1_fail(err, "medium check: read error on %s: %s (the medium is damaged)", path, strerror(saved));
	uint8_t d[32];
	sha256_final(&s, d);
	for (int i = 0; i < 32; i++)
		snprintf(actual + 2 * i, 3, "%02x", d[i]);
	if (strcasecmp(actual, expected) != 0)
		return s1_fail(err, "medium check: %s is corrupt: SHA-256 %s, expected %s", path, actual, expected);
	return 0;
}
