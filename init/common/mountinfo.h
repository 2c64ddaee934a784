/* /proc/self/mountinfo parser (proc(5)), shared by stage 1 and stage 2.
 * Paths in mountinfo escape space, tab, newline and backslash as \ooo octal; the parser decodes them. */
#ifndef LIVEINIT_MOUNTINFO_H
#define LIVEINIT_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

struct mount_entry {
	int id, parent_id;
	unsigned major, minor;
	char *root;          /* path inside the filesystem that is mounted here */
	char *target;        /* mount point */
	char *options;       /* per-mount options: "rw,nosuid,..." */
	char *fstype;
	char *source;        /* "/dev/ubda", "proc", "none", ... */
	char *super_options; /* per-superblock options */
	char *line;          /* owns the storage the fields above point into */
};

/* Entries in file order, which is mount order. */
struct mount_table {
	struct mount_entry *entries;
	size_t count;
};

/* Decode \ooo escapes in place. */
void mountinfo_unescape(char *s);

/* Parse one line (modified in place; fields point into it).  Returns 0, or -EINVAL when malformed. */
int mountinfo_parse_line(char *line, struct mount_entry *e);

/* Read a mountinfo file ("/proc/self/mountinfo" normally; a fixture in tests).
 * Malformed lines are skipped.  Returns 0, or -errno (table left empty). */
int mountinfo_read(const char *path, struct mount_table *t);

void mountinfo_free(struct mount_table *t);

/* Last (topmost) entry mounted on target, or NULL. */
const struct mount_entry *mountinfo_find_target(const struct mount_table *t, const char *target);

/* Is opt one of the comma-separated words in opts ("ro" in "ro,relatime")? */
bool mount_option_present(const char *opts, const char *opt);

#endif
