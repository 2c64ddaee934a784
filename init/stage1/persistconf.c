#include "stage1/persistconf.h"

#include <stdio.h>
#include <string.h>

/* An absolute path without "." or ".." components, empty components or control characters, copied
 * without a trailing '/' (except "/" itself). */
static bool clean_path(const char *p, size_t len, char *out, size_t size)
{
	if (len == 0 || p[0] != '/' || len >= size)
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == ',')
			return false;
		if (p[i] == '/' && i + 1 < len) {
			const char *c = p + i + 1;
			size_t clen = strcspn(c, "/");
			if (clen > len - i - 1)
				clen = len - i - 1;
			if (clen == 0 || (clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
				return false;
		}
	}
	while (len > 1 && p[len - 1] == '/')
		len--;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

static int parse_options(const char *opt, size_t len, struct pconf_entry *e, int lineno, char *why,
			 unsigned why_size)
{
	while (len) {
		size_t n = 0;
		while (n < len && opt[n] != ',')
			n++;
		if (n == 5 && !strncmp(opt, "union", 5)) {
			e->is_union = true;
		} else if (n == 4 && !strncmp(opt, "bind", 4)) {
			e->is_union = false;
		} else if (n > 7 && !strncmp(opt, "source=", 7)) {
			/* live-boot's source= is relative to the persistence root; "." means the root itself */
			char tmp[PCONF_PATH + 1];
			if (n - 7 == 1 && opt[7] == '.')
				strcpy(tmp, "/");
			else
				snprintf(tmp, sizeof tmp, "%s%.*s", opt[7] == '/' ? "" : "/", (int)(n - 7), opt + 7);
			if (!clean_path(tmp, strlen(tmp), e->source, sizeof e->source)) {
				snprintf(why, why_size, "line %d: source=%.*s is not a plain path", lineno, (int)(n - 7),
					 opt + 7);
				return -1;
			}
		} else {
			snprintf(why, why_size, "line %d: unsupported option %.*s (supported: union, bind, source=)",
				 lineno, (int)n, opt);
			return -1;
		}
		opt += n;
		len -= n;
		if (len) { /* the comma */
			opt++;
			len--;
		}
	}
	return 0;
}

int pconf_parse(const char *text, struct pconf *out, char *why, unsigned why_size)
{
	memset(out, 0, sizeof *out);
	int lineno = 0;
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		const char *next = line[len] ? line + len + 1 : line + len;
		lineno++;
		size_t end = strcspn(line, "#\n");
		const char *p = line;
		while (p < line + end && (*p == ' ' || *p == '\t'))
			p++;
		size_t dlen = strcspn(p, " \t#\n");
		if (dlen) {
			if (out->n == PCONF_MAX) {
				snprintf(why, why_size, "line %d: more than %d entries", lineno, PCONF_MAX);
				return -1;
			}
			struct pconf_entry *e = &out->e[out->n];
			if (!clean_path(p, dlen, e->dir, sizeof e->dir)) {
				snprintf(why, why_size, "line %d: %.*s is not an absolute plain path", lineno,
					 (int)(dlen > 60 ? 60 : dlen), p);
				return -1;
			}
			strcpy(e->source, e->dir);
			const char *o = p + dlen;
			while (o < line + end && (*o == ' ' || *o == '\t'))
				o++;
			size_t olen = strcspn(o, " \t#\n");
			if (o + olen > line + end)
				olen = (size_t)(line + end - o);
			if (parse_options(o, olen, e, lineno, why, why_size) < 0)
				return -1;
			const char *rest = o + olen;
			while (rest < line + end && (*rest == ' ' || *rest == '\t'))
				rest++;
			if (rest < line + end) {
				snprintf(why, why_size, "line %d: unexpected text after the options", lineno);
				return -1;
			}
			if (!strcmp(e->dir, "/") && !e->is_union) {
				snprintf(why, why_size, "line %d: / can only be a union", lineno);
				return -1;
			}
			out->n++;
		}
		line = next;
	}
	return 0;
}
