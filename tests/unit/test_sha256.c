/* Unit tests of SHA-256 (init/common/sha256.c): the FIPS 180-4 / NIST example vectors, streaming in odd
 * chunk sizes against one-shot, every length around the padding boundaries and a random 1 MiB file against
 * coreutils' sha256sum; and stage 1's `check` (init/stage1/mediacheck.c) on files whose .sha256 was written
 * by sha256sum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sha256.h"
#include "stage1/stage1.h"

static void hex(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void digest(const void *data, size_t len, char out[65])
{
	struct sha256 s;
	uint8_t d[32];
	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, d);
	hex(d, out);
}

/* Random bytes from a fixed-seed generator (xorshift), so a failure reproduces. */
static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* ---- NIST vectors ---- */

static void test_nist_vectors(void **state)
{
	(void)state;
	/* FIPS 180-4 examples (csrc.nist.gov "SHA256.pdf", "SHA2_Additional.pdf"). */
	static const struct {
		const char *msg, *digest;
	} v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
		 "nopqrstu",
		 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char out[65];
		digest(v[i].msg, strlen(v[i].msg), out);
		assert_string_equal(out, v[i].digest);
	}
}

static void test_million_a(void **state)
{
	(void)state;
	char *a = malloc(1000000);
	assert_non_null(a);
	memset(a, 'a', 1000000);
	char out[65];
	digest(a, 1000000, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* The same, fed one byte at a time. */
	struct sha256 s;
	uint8_t d[32];
	sha256_init(&s);
	for (int i = 0; i < 1000000; i++)
		sha256_update(&s, "a", 1);
	sha256_final(&s, d);
	hex(d, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* ---- streaming ---- */

static void test_streaming_chunks(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	fill_random(buf, len, 1);
	char whole[65];
	digest(buf, len, whole);
	static const size_t chunks[] = {1, 2, 3, 7, 13, 55, 56, 57, 63, 64, 65, 127, 128, 129, 1000, 4097, 65535};
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct sha256 s;
		uint8_t d[32];
		char out[65];
		sha256_init(&s);
		for (size_t off = 0; off < len; off += chunks[c])
			sha256_update(&s, buf + off, len - off < chunks[c] ? len - off : chunks[c]);
		sha256_final(&s, d);
		hex(d, out);
		if (strcmp(out, whole) != 0)
			fail_msg("chunk size %zu: %s, one-shot %s", chunks[c], out, whole);
	}
	/* Random chunk sizes, including empty updates. */
	srand(7);
	for (int round = 0; round < 20; round++) {
		struct sha256 s;
		uint8_t d[32];
		char out[65];
		sha256_init(&s);
		for (size_t off = 0; off < len;) {
			size_t n = (size_t)(rand() % 300);
			if (n > len - off)
				n = len - off;
			sha256_update(&s, buf + off, n);
			off += n;
		}
		sha256_final(&s, d);
		hex(d, out);
		assert_string_equal(out, whole);
	}
	/* Re-initialising resets the state. */
	struct sha256 s;
	uint8_t d[32];
	char out[65];
	sha256_init(&s);
	sha256_update(&s, buf, 1000);
	sha256_init(&s);
	sha256_update(&s, "abc", 3);
	sha256_final(&s, d);
	hex(d, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	free(buf);
}

/* ---- against coreutils' sha256sum ---- */

static void write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void sha256sum(const char *path, char out[65])
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%64[0-9a-f]", out), 1);
	assert_int_equal(pclose(p), 0);
	assert_int_equal(strlen(out), 64);
}

static void test_lengths_vs_sha256sum(void **state)
{
	(void)state;
	/* Every length from 0 to 200 (the padding cases at 55/56 and 119/120 bytes) and a few bigger ones. */
	char path[] = "/tmp/test_sha256.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	uint8_t buf[4200];
	size_t lens[220], nlens = 0;
	for (size_t l = 0; l <= 200; l++)
		lens[nlens++] = l;
	static const size_t more[] = {447, 448, 511, 512, 1023, 1024, 4095, 4096, 4159};
	for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
		lens[nlens++] = more[i];
	for (size_t i = 0; i < nlens; i++) {
		fill_random(buf, lens[i], 100 + lens[i]);
		write_all(path, buf, lens[i]);
		char ours[65], theirs[65];
		digest(buf, lens[i], ours);
		sha256sum(path, theirs);
		if (strcmp(ours, theirs) != 0)
			fail_msg("length %zu: %s, sha256sum %s", lens[i], ours, theirs);
	}
	unlink(path);
}

static void test_random_mib_vs_sha256sum(void **state)
{
	(void)state;
	/* 1 MiB (+ 1 odd byte) from /dev/urandom: a different file every run. */
	size_t len = (1 << 20) + 1;
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	FILE *r = fopen("/dev/urandom", "r");
	assert_non_null(r);
	assert_int_equal(fread(buf, 1, len, r), len);
	fclose(r);
	char path[] = "/tmp/test_sha256.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_all(path, buf, len);
	char ours[65], theirs[65];
	digest(buf, len, ours);
	sha256sum(path, theirs);
	assert_string_equal(ours, theirs);
	unlink(path);
	free(buf);
}

/* ---- stage 1's medium check ---- */

static void test_media_check(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_mediacheck.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char img[128], sum[160], cmd[512];
	snprintf(img, sizeof img, "%s/filesystem.squashfs", dir);
	snprintf(sum, sizeof sum, "%s.sha256", img);
	size_t len = 300000;
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	fill_random(buf, len, 42);
	write_all(img, buf, len);
	/* The sum file as a user makes it: sha256sum's own output format. */
	snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum filesystem.squashfs > filesystem.squashfs.sha256", dir);
	assert_int_equal(system(cmd), 0);

	struct s1_error err = {""};
	assert_int_equal(media_check(img, &err), 0);

	/* One flipped bit in the middle: corrupt, and the message names the file. */
	buf[len / 2] ^= 0x10;
	write_all(img, buf, len);
	assert_int_equal(media_check(img, &err), -1);
	assert_non_null(strstr(err.msg, "is corrupt"));
	assert_non_null(strstr(err.msg, img));
	buf[len / 2] ^= 0x10;
	write_all(img, buf, len);
	assert_int_equal(media_check(img, &err), 0);

	/* Truncated by one byte: corrupt. */
	write_all(img, buf, len - 1);
	assert_int_equal(media_check(img, &err), -1);
	assert_non_null(strstr(err.msg, "is corrupt"));
	write_all(img, buf, len);

	/* Upper-case digest is accepted. */
	snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum filesystem.squashfs | tr a-f A-F > filesystem.squashfs.sha256",
		 dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(media_check(img, &err), 0);

	/* A sum file without a digest. */
	write_all(sum, "not a digest\n", 13);
	assert_int_equal(media_check(img, &err), -1);
	assert_non_null(strstr(err.msg, "holds no SHA-256 digest"));
	write_all(sum, "abcdef  filesystem.squashfs\n", 28);
	assert_int_equal(media_check(img, &err), -1);
	assert_non_null(strstr(err.msg, "holds no SHA-256 digest"));

	/* No sum file. */
	unlink(sum);
	assert_int_equal(media_check(img, &err), -1);
	assert_non_null(strstr(err.msg, "unable to open"));
	assert_non_null(strstr(err.msg, sum));
	assert_non_null(strstr(err.msg, strerror(ENOENT)));

	/* No image (sum file present). */
	snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum filesystem.squashfs > filesystem.squashfs.sha256", dir);
	assert_int_equal(system(cmd), 0);
	unlink(img);
	assert_int_equal(media_check(img, &err), -1);
	assert_non_null(strstr(err.msg, "unable to open"));

	unlink(sum);
	assert_int_equal(rmdir(dir), 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_streaming_chunks),
		cmocka_unit_test(test_lengths_vs_sha256sum),
		cmocka_unit_test(test_random_mib_vs_sha256sum),
		cmocka_unit_test(test_media_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
