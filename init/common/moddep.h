/* Kernel module dependency resolution from modules.dep / modules.builtin (as written by depmod).
 * Used at initrd build time (which .ko files to pack) and by stage 1 (load order). */
#ifndef LIVEINIT_MODDEP_H
#define LIVEINIT_MODDEP_H

#include <stddef.h>

struct moddep_entry {
	char *path;  /* as in modules.dep, relative to the module directory: "kernel/fs/isofs/isofs.ko" */
	char *name;  /* normalised module name: "isofs" ('-' becomes '_') */
	char *deps;  /* the rest of the line: space-separated paths */
};

struct moddep {
	char *dep_text, *builtin_text;   /* file contents, tokenised in place */
	struct moddep_entry *entries;
	size_t nentries;
	char **builtin;                  /* normalised names of built-in modules */
	size_t nbuiltin;
};

struct modlist {
	const char **paths;  /* load order: dependencies first; point into struct moddep */
	size_t n, cap;
};

/* Load dir/modules.dep and (when present) dir/modules.builtin.  Returns 0 or -errno;
 * on error failed (size bytes) names the file. */
int moddep_load(struct moddep *md, const char *dir, char *failed, size_t size);
void moddep_free(struct moddep *md);

/* Normalise a module name or path to its name: "kernel/fs/fuse/fuse.ko.xz" -> "fuse", "xen-blkfront" -> "xen_blkfront". */
void moddep_normalise(const char *in, char *out, size_t size);

enum moddep_status { MODDEP_OK = 0, MODDEP_BUILTIN = 1, MODDEP_MISSING = -1, MODDEP_NOMEM = -2, MODDEP_LOOP = -3 };

/* Append name and its dependencies (dependencies first, no duplicates) to list.
 * MODDEP_BUILTIN: nothing to load.  MODDEP_MISSING: neither in modules.dep nor built in. */
enum moddep_status moddep_resolve(const struct moddep *md, const char *name, struct modlist *list);
void modlist_free(struct modlist *list);

#endif
