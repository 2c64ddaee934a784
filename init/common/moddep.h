/* Kernel module resolution from what depmod writes: modules.dep (hard dependencies), modules.builtin,
 * modules.softdep ("softdep ext4 pre: crypto-crc32c") and modules.alias ("alias crypto-crc32c crc32c_generic").
 * A name resolves to its module, or to every module whose alias pattern matches it (fnmatch, as modprobe);
 * each module comes after its dependencies and its "pre:" softdeps, before its "post:" ones.
 * Used at build time (which .ko files the initrd and the live root carry), by stage 1 (load order), by
 * coldplug and by our modprobe. */
#ifndef LIVEINIT_MODDEP_H
#define LIVEINIT_MODDEP_H

#include <stdbool.h>
#include <stddef.h>

struct moddep_entry {
	char *path;  /* as in modules.dep, relative to the module directory: "kernel/fs/isofs/isofs.ko" */
	char *name;  /* normalised module name: "isofs" ('-' becomes '_') */
	char *deps;  /* the rest of the line: space-separated paths */
};

/* Pattern table from modules.alias ("alias PATTERN MODULE" lines). */
struct alias_entry {
	const char *pattern;
	const char *module;
	unsigned literal;  /* length of the pattern's prefix before its first wildcard: a cheap pre-filter */
};
struct alias_table {
	char *text;
	struct alias_entry *entries;
	size_t n;
};

struct moddep_softdep {
	char *name;        /* normalised module name */
	const char *rest;  /* the rest of its line: "pre: a b post: c" */
};

struct moddep {
	char *dep_text, *builtin_text, *softdep_text;   /* file contents, tokenised in place */
	struct moddep_entry *entries;
	size_t nentries;
	char **builtin;                  /* normalised names of built-in modules */
	size_t nbuiltin;
	struct moddep_softdep *softdeps;
	size_t nsoftdeps;
	struct alias_table aliases;      /* empty when the directory has no modules.alias */
};

struct modlist {
	const char **paths;  /* load order: dependencies first; point into struct moddep */
	size_t n, cap;
};

/* Load dir/modules.dep and (when present) dir/modules.builtin, dir/modules.softdep, dir/modules.alias.
 * Returns 0 or -errno;
 * on error failed (size bytes) names the file. */
int moddep_load(struct moddep *md, const char *dir, char *failed, size_t size);
void moddep_free(struct moddep *md);

/* Normalise a module name or path to its name: "kernel/fs/fuse/fuse.ko.xz" -> "fuse", "xen-blkfront" -> "xen_blkfront". */
void moddep_normalise(const char *in, char *out, size_t size);

enum moddep_status { MODDEP_OK = 0, MODDEP_BUILTIN = 1, MODDEP_MISSING = -1, MODDEP_NOMEM = -2, MODDEP_LOOP = -3 };

/* Append what name needs (a module name, or an alias such as "crypto-crc32c" or "fs-ext4": every module it
 * matches) to list: dependencies and pre-softdeps first, post-softdeps after, no duplicates.  A softdep that
 * resolves to nothing is skipped (it is soft).  MODDEP_BUILTIN: nothing to load.  MODDEP_MISSING: neither in
 * modules.dep, nor built in, nor an alias of a module there. */
enum moddep_status moddep_resolve(const struct moddep *md, const char *name, struct modlist *list);
void modlist_free(struct modlist *list);

/* The alias table on its own (coldplug matches device modaliases against it).  alias_load: 0 or -errno. */
int alias_load(struct alias_table *t, const char *path);
void alias_free(struct alias_table *t);
/* Call fn for each module whose pattern matches name (in file order; a module may repeat).
 * Stops and returns fn's value when it is non-zero. */
int alias_match(const struct alias_table *t, const char *name, int (*fn)(void *ctx, const char *module),
		void *ctx);
/* fnmatch(pattern, s, 0) for modules.alias patterns (ASCII: '*', '?', '[...]', backslash), without libc's
 * multibyte machinery (16 KB of the static stage 1). */
bool alias_glob(const char *pattern, const char *s);

#endif
