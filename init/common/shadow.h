/* Set a user's password in a shadow(5) file: SHA-512 crypt ("$6$") with a salt from getrandom(2),
 * the file replaced by file_write_atomic (common/fileio.h), which keeps its mode and owner.
 * Used by stage 1 (passwd= on a foreign root, written into the overlay's upper) and stage 2.
 * Errors: -1 and one line in err naming the path and the reason; the caller prints it. */
#ifndef LIVEINIT_SHADOW_H
#define LIVEINIT_SHADOW_H

#include <stddef.h>

/* A "$6$" hash is 3 + 16 (salt) + 1 + 86 characters. */
#define SHADOW_HASH_MAX 128

/* SHA-512 crypt ("$6$", 5000 rounds) of key with salt (up to 16 characters before any '$'), as crypt(3). */
void shadow_sha512_crypt(const char *key, const char *salt, char out[SHADOW_HASH_MAX]);

/* Hash password with SHA-512 crypt and a fresh random 16-character salt. */
int shadow_hash(const char *password, char hash[SHADOW_HASH_MAX], char *err, size_t errlen);

/* Put hash into user's entry of the shadow file at path (field 2; field 3, the last change, set to today so
 * login does not force a change).  A user without an entry gets one appended.  The file must exist. */
int shadow_set_hash(const char *path, const char *user, const char *hash, char *err, size_t errlen);

/* shadow_hash + shadow_set_hash. */
int shadow_set_password(const char *path, const char *user, const char *password, char *err, size_t errlen);

#endif
