/* Unit tests of init/common/shadow.c on temporary shadow files: the hash verifies with the C library's own
 * crypt(), two hashes of one password differ (salt from getrandom), other users' lines and the file's mode
 * stay, a missing user is appended, bad input and a missing file give one-line errors naming the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/shadow.h"

static char dir[] = "/tmp/test_shadow.XXXXXX";
static char path[256];

static void put(const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static char *get(void)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Field n (1-based) of user's line, or NULL. */
static char *field(const char *text, const char *user, int n)
{
	static char out[512];
	size_t ul = strlen(user);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, user, ul) || l[ul] != ':')
			continue;
		const char *p = l;
		for (int i = 1; i < n; i++) {
			p = strchr(p, ':');
			if (!p)
				return NULL;
			p++;
		}
		size_t len = strcspn(p, ":\n");
		memcpy(out, p, len);
		out[len] = '\0';
		return out;
	}
	return NULL;
}

static void test_set_existing_user(void **state)
{
	(void)state;
	char err[256] = "";
	put("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nuser:!:19000:0:99999:7:1:2:\n", 0640);
	assert_int_equal(shadow_set_password(path, "root", "s3cret pass", err, sizeof err), 0);
	char *t = get();
	char hash[256];
	strcpy(hash, field(t, "root", 2));
	assert_memory_equal(hash, "$6$", 3);
	assert_string_equal(crypt("s3cret pass", hash), hash);
	assert_string_not_equal(crypt("wrong", hash), hash);
	/* Last change is today, not 0 (0 would force a change at login); fields after it kept. */
	char today[32];
	snprintf(today, sizeof today, "%ld", (long)(time(NULL) / 86400));
	assert_string_equal(field(t, "root", 3), today);
	assert_string_equal(field(t, "root", 5), "99999");
	assert_non_null(strstr(t, "daemon:*:19000:0:99999:7:::\nuser:!:19000:0:99999:7:1:2:\n"));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	assert_int_equal(access(tmp, F_OK), -1);
}

/* Our SHA-512 crypt against the C library's (libxcrypt) for keys up to 300 bytes (around the 64- and
 * 128-byte boundaries of SHA-512) and salts of 1 to 16 characters; and the specification's example. */
static void test_crypt_matches_libc(void **state)
{
	(void)state;
	char key[301], salt[40], ours[SHADOW_HASH_MAX], setting[48];
	static const char chars[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned x = 12345;
	static const int lengths[] = {0,  1,  2,  3,  5,  7,  8,  11, 15, 16,  17,  31,  32,  33,  47, 55,
				      56, 57, 63, 64, 65, 79, 95, 111, 112, 113, 119, 127, 128, 129, 200, 300};
	for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
		int kl = lengths[li];
		for (int i = 0; i < kl; i++) {
			x = x * 1103515245 + 12345;
			key[i] = (char)(1 + (x >> 16) % 255); /* any byte but NUL */
		}
		key[kl] = '\0';
		int sl = 1 + kl % 16;
		for (int i = 0; i < sl; i++)
			salt[i] = chars[(kl * 7 + i * 13) % 64];
		salt[sl] = '\0';
		shadow_sha512_crypt(key, salt, ours);
		snprintf(setting, sizeof setting, "$6$%s$", salt);
		const char *libc = crypt(key, setting);
		assert_non_null(libc);
		assert_string_equal(ours, libc);
	}
	shadow_sha512_crypt("Hello world!", "saltstring", ours);
	assert_string_equal(ours, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLi"
				  "BFdcbYEdFCoEOfaS35inz1");
	/* A salt longer than 16 characters is cut at 16, as crypt(3) does. */
	shadow_sha512_crypt("pw", "0123456789abcdefXYZ", ours);
	assert_string_equal(ours, crypt("pw", "$6$0123456789abcdefXYZ$"));
}

static void test_salts_differ(void **state)
{
	(void)state;
	char err[256], a[SHADOW_HASH_MAX], b[SHADOW_HASH_MAX];
	assert_int_equal(shadow_hash("pw", a, err, sizeof err), 0);
	assert_int_equal(shadow_hash("pw", b, err, sizeof err), 0);
	assert_string_not_equal(a, b);
	assert_string_equal(crypt("pw", a), a);
	assert_string_equal(crypt("pw", b), b);
}

static void test_missing_user_appended(void **state)
{
	(void)state;
	char err[256];
	put("root:*:19000:0:99999:7:::", 0600); /* no final newline */
	assert_int_equal(shadow_set_password(path, "live", "x", err, sizeof err), 0);
	char *t = get();
	assert_memory_equal(t, "root:*:19000:0:99999:7:::\nlive:$6$", 34);
	assert_string_equal(crypt("x", field(t, "live", 2)), field(t, "live", 2));
	assert_string_equal(field(t, "live", 5), "99999");
}

static void test_bad_input(void **state)
{
	(void)state;
	char err[256];
	put("root:*:19000:0:99999:7:::\n", 0640);
	assert_int_equal(shadow_set_hash(path, "ro:ot", "$6$x$y", err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_int_equal(shadow_set_hash(path, "root", "a\nb", err, sizeof err), -1);
	assert_int_equal(shadow_set_hash(path, "", "x", err, sizeof err), -1);
	assert_string_equal(get(), "root:*:19000:0:99999:7:::\n");
	char missing[300];
	snprintf(missing, sizeof missing, "%s/nothere/shadow", dir);
	assert_int_equal(shadow_set_password(missing, "root", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/shadow", dir);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_existing_user),
		cmocka_unit_test(test_crypt_matches_libc),
		cmocka_unit_test(test_salts_differ),
		cmocka_unit_test(test_missing_user_appended),
		cmocka_unit_test(test_bad_input),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	rmdir(dir);
	return rc;
}
