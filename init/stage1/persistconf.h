/* persistence.conf (live-boot's format): one directory per line, "DIR [OPTIONS]", OPTIONS comma-separated:
 *   union      overlay the directory's live content with <source>/rw (work dir <source>/work)
 *   bind       bind-mount <source> on DIR (the default)
 *   source=S   the directory on the persistence filesystem (default: DIR itself; "/" for "/")
 * '#' starts a comment.  Pure parsing, no I/O: unit-tested on the host. */
#ifndef LIVEINIT_PERSISTCONF_H
#define LIVEINIT_PERSISTCONF_H

#include <stdbool.h>

#define PCONF_MAX 16
#define PCONF_PATH 200

struct pconf_entry {
	char dir[PCONF_PATH];    /* where it appears in the live root, absolute, normalised ("/" or "/a/b") */
	char source[PCONF_PATH]; /* on the persistence filesystem, absolute */
	bool is_union;
};

struct pconf {
	struct pconf_entry e[PCONF_MAX];
	int n;
};

/* Parse text.  Returns 0, or -1 with a one-line reason (naming the line number) in why. */
int pconf_parse(const char *text, struct pconf *out, char *why, unsigned why_size);

#endif
