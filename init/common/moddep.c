#include "common/moddep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

/* The name of the path in[0..len), which need not be NUL-terminated there. */
static void normalise_span(const char *in, size_t len, char *out, size_t size)
{
	const char *base = in;
	for (size_t i = 0; i < len; i++)
		if (in[i] == '/')
			base = in + i + 1;
	size_t n = 0;
	for (; base + n < in + len && base[n] != '.' && n + 1 < size; n++)
		out[n] = base[n] == '-' ? '_' : base[n];
	out[n] = '\0';
}

void moddep_normalise(const char *in, char *out, size_t size)
{
	normalise_span(in, strlen(in), out, size);
}

static size_t count_lines(const char *text)
{
	size_t n = 1;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* "path: dep dep\n" lines; malformed lines (no ':') are skipped. */
static int parse_dep(struct moddep *md)
{
	md->entries = calloc(count_lines(md->dep_text), sizeof *md->entries);
	if (!md->entries)
		return -ENOMEM;
	for (char *line = md->dep_text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *colon = strchr(line, ':');
		if (!colon || colon == line)
			continue;
		*colon = '\0';
		struct moddep_entry *e = &md->entries[md->nentries++];
		e->path = line;
		e->deps = colon + 1;
		char name[128];
		moddep_normalise(line, name, sizeof name);
		e->name = strdup(name);
		if (!e->name)
			return -ENOMEM;
	}
	return 0;
}

static int parse_builtin(struct moddep *md)
{
	md->builtin = calloc(count_lines(md->builtin_text), sizeof *md->builtin);
	if (!md->builtin)
		return -ENOMEM;
	for (char *line = md->builtin_text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		char name[128];
		moddep_normalise(line, name, sizeof name);
		if (!(md->builtin[md->nbuiltin++] = strdup(name)))
			return -ENOMEM;
	}
	return 0;
}

/* "softdep NAME pre: a b post: c" lines; anything else is skipped. */
static int parse_softdep(struct moddep *md)
{
	md->softdeps = calloc(count_lines(md->softdep_text), sizeof *md->softdeps);
	if (!md->softdeps)
		return -ENOMEM;
	for (char *line = md->softdep_text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line += strspn(line, " \t");
		if (strncmp(line, "softdep", 7) || (line[7] != ' ' && line[7] != '\t'))
			continue;
		char *name = line + 7 + strspn(line + 7, " \t");
		size_t len = strcspn(name, " \t");
		if (!len || !name[len])
			continue;
		name[len] = '\0';
		struct moddep_softdep *sd = &md->softdeps[md->nsoftdeps];
		char norm[128];
		moddep_normalise(name, norm, sizeof norm);
		if (!(sd->name = strdup(norm)))
			return -ENOMEM;
		sd->rest = name + len + 1;
		md->nsoftdeps++;
	}
	return 0;
}

int alias_load(struct alias_table *t, const char *path)
{
	memset(t, 0, sizeof *t);
	int rc = file_read(path, &t->text, NULL);
	if (rc < 0)
		return rc;
	t->entries = calloc(count_lines(t->text), sizeof *t->entries);
	if (!t->entries) {
		alias_free(t);
		return -ENOMEM;
	}
	for (char *line = t->text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "alias PATTERN MODULE"; comments and anything else are skipped. */
		char *save = NULL, *kw = strtok_r(line, " \t", &save);
		char *pattern = strtok_r(NULL, " \t", &save), *module = strtok_r(NULL, " \t", &save);
		if (!kw || strcmp(kw, "alias") || !pattern || !module)
			continue;
		struct alias_entry *e = &t->entries[t->n++];
		e->pattern = pattern;
		e->module = module;
		e->literal = (unsigned)strcspn(pattern, "*?[\\");
	}
	return 0;
}

void alias_free(struct alias_table *t)
{
	free(t->entries);
	free(t->text);
	memset(t, 0, sizeof *t);
}

/* One bracket expression at *pp ("[abc]", "[0-9]", "[!a]" / "[^a]"); advances *pp past it.  A '[' without
 * its ']' matches itself, as fnmatch does. */
static bool class_match(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool negate = *p == '!' || *p == '^';
	p += negate;
	const char *start = p;
	bool hit = false;
	for (; *p && (*p != ']' || p == start); p++) {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hit |= c >= p[0] && c <= p[2];
			p += 2;
		} else {
			hit |= c == *p;
		}
	}
	if (!*p) { /* unterminated: a literal '[' */
		*pp += 1;
		return c == '[';
	}
	*pp = p + 1;
	return hit != negate;
}

/* fnmatch(pattern, s, 0) for the ASCII patterns of modules.alias ('*', '?', '[...]', '\\'), without libc's
 * multibyte machinery (16 KB of the static stage 1).  Backtracks only to the last '*'. */
bool alias_glob(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	for (;;) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (!*s) {
			if (!*p)
				return true;
		} else {
			const char *q = p;
			bool ok;
			if (*q == '?') {
				ok = true;
				q++;
			} else if (*q == '[') {
				ok = class_match(&q, *s);
			} else if (*q == '\\' && q[1]) {
				ok = q[1] == *s;
				q += 2;
			} else {
				ok = *q && *q == *s;
				q++;
			}
			if (ok) {
				p = q;
				s++;
				continue;
			}
		}
		if (!star_p || !*star_s)
			return false;
		p = star_p;
		s = ++star_s;
	}
}

int alias_match(const struct alias_table *t, const char *name, int (*fn)(void *ctx, const char *module),
		void *ctx)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < t->n; i++) {
		const struct alias_entry *e = &t->entries[i];
		/* Most patterns differ from a given name within their literal prefix ("pci:v00008086d..."). */
		if (e->literal > len || memcmp(e->pattern, name, e->literal) != 0)
			continue;
		if (!alias_glob(e->pattern, name))
			continue;
		int rc = fn(ctx, e->module);
		if (rc)
			return rc;
	}
	return 0;
}

/* An optional file: a missing one is no error. */
static int load_optional(const char *dir, const char *file, char **text, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, file);
	int rc = file_read(path, text, NULL);
	return rc == -ENOENT ? 0 : rc;
}

int moddep_load(struct moddep *md, const char *dir, char *path, size_t size)
{
	memset(md, 0, sizeof *md);
	snprintf(path, size, "%s/modules.dep", dir);
	int rc = file_read(path, &md->dep_text, NULL);
	if (rc == 0)
		rc = parse_dep(md);
	/* modules.builtin: absent for a kernel with nothing built in as a module candidate. */
	if (rc == 0)
		rc = load_optional(dir, "modules.builtin", &md->builtin_text, path, size);
	if (rc == 0 && md->builtin_text)
		rc = parse_builtin(md);
	if (rc == 0)
		rc = load_optional(dir, "modules.softdep", &md->softdep_text, path, size);
	if (rc == 0 && md->softdep_text)
		rc = parse_softdep(md);
	if (rc == 0) {
		snprintf(path, size, "%s/modules.alias", dir);
		rc = alias_load(&md->aliases, path);
		if (rc == -ENOENT)
			rc = 0;
	}
	if (rc < 0)
		moddep_free(md);
	return rc;
}

void moddep_free(struct moddep *md)
{
	for (size_t i = 0; i < md->nentries; i++)
		free(md->entries[i].name);
	for (size_t i = 0; i < md->nbuiltin; i++)
		free(md->builtin[i]);
	for (size_t i = 0; i < md->nsoftdeps; i++)
		free(md->softdeps[i].name);
	free(md->entries);
	free(md->builtin);
	free(md->softdeps);
	free(md->dep_text);
	free(md->builtin_text);
	free(md->softdep_text);
	alias_free(&md->aliases);
	memset(md, 0, sizeof *md);
}

void modlist_free(struct modlist *list)
{
	free(list->paths);
	memset(list, 0, sizeof *list);
}

static const struct moddep_entry *find_entry(const struct moddep *md, const char *name)
{
	for (size_t i = 0; i < md->nentries; i++)
		if (!strcmp(md->entries[i].name, name))
			return &md->entries[i];
	return NULL;
}

static bool is_builtin(const struct moddep *md, const char *name)
{
	for (size_t i = 0; i < md->nbuiltin; i++)
		if (!strcmp(md->builtin[i], name))
			return true;
	return false;
}

static bool in_list(const struct modlist *list, const char *path)
{
	for (size_t i = 0; i < list->n; i++)
		if (list->paths[i] == path || !strcmp(list->paths[i], path))
			return true;
	return false;
}

static int list_add(struct modlist *list, const char *path)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		const char **p = realloc(list->paths, cap * sizeof *p);
		if (!p)
			return MODDEP_NOMEM;
		list->paths = p;
		list->cap = cap;
	}
	list->paths[list->n++] = path;
	return MODDEP_OK;
}

/* The chain being resolved, so a cycle (a softdep naming a module that needs the first) ends. */
struct chain {
	const char *names[64];
	int depth;
};

static bool in_chain(const struct chain *c, const char *name)
{
	for (int i = 0; i < c->depth; i++)
		if (!strcmp(c->names[i], name))
			return true;
	return false;
}

static enum moddep_status resolve_name(const struct moddep *md, const char *name, struct modlist *list,
				       struct chain *c);

/* The softdeps of module name of one kind ("pre:" or "post:").  Each resolves like a name; one that resolves
 * to nothing is skipped.  Words before either keyword are ignored, as kmod does (6.1's cifs declares
 * "softdep cifs gcm": meant as pre:, but kmod never loaded them, and no one relies on it). */
static enum moddep_status resolve_softdeps(const struct moddep *md, const char *name, bool post,
					   struct modlist *list, struct chain *c)
{
	for (size_t i = 0; i < md->nsoftdeps; i++) {
		if (strcmp(md->softdeps[i].name, name))
			continue;
		enum { NONE, PRE, POST } mode = NONE;
		for (const char *p = md->softdeps[i].rest + strspn(md->softdeps[i].rest, " \t"); *p;
		     p += strspn(p, " \t")) {
			size_t len = strcspn(p, " \t");
			char word[128];
			snprintf(word, sizeof word, "%.*s", (int)len, p);
			p += len;
			if (!strcmp(word, "pre:") || !strcmp(word, "post:")) {
				mode = word[1] == 'o' ? POST : PRE;
				continue;
			}
			if (mode != (post ? POST : PRE) || in_chain(c, word))
				continue;
			enum moddep_status rc = resolve_name(md, word, list, c);
			if (rc == MODDEP_NOMEM)
				return rc;
		}
	}
	return MODDEP_OK;
}

/* Depth-first: each dependency's own dependencies come before it. */
static enum moddep_status resolve_module(const struct moddep *md, const struct moddep_entry *e,
					 struct modlist *list, struct chain *c)
{
	if (in_list(list, e->path))
		return MODDEP_OK;
	if (c->depth >= (int)(sizeof c->names / sizeof c->names[0]) || in_chain(c, e->name))
		return MODDEP_LOOP;
	c->names[c->depth++] = e->name;
	enum moddep_status rc = resolve_softdeps(md, e->name, false, list, c);
	/* Walk the dependency paths in place: a line can be longer than any fixed copy of it. */
	for (const char *p = e->deps + strspn(e->deps, " \t"); rc == MODDEP_OK && *p; p += strspn(p, " \t")) {
		size_t len = strcspn(p, " \t");
		char dname[128];
		normalise_span(p, len, dname, sizeof dname);
		p += len;
		const struct moddep_entry *d = find_entry(md, dname);
		if (d)
			rc = resolve_module(md, d, list, c);
		else if (!is_builtin(md, dname))
			rc = MODDEP_MISSING;
	}
	/* A softdep may have pulled this module in already (a cycle through its aliases). */
	if (rc == MODDEP_OK && !in_list(list, e->path))
		rc = list_add(list, e->path);
	if (rc == MODDEP_OK)
		rc = resolve_softdeps(md, e->name, true, list, c);
	c->depth--;
	return rc;
}

struct alias_walk {
	const struct moddep *md;
	struct modlist *list;
	struct chain *c;
	enum moddep_status rc;  /* MODDEP_MISSING until one module resolves */
};

static int alias_module(void *ctx, const char *module)
{
	struct alias_walk *w = ctx;
	char name[128];
	moddep_normalise(module, name, sizeof name);
	const struct moddep_entry *e = find_entry(w->md, name);
	enum moddep_status rc = e ? resolve_module(w->md, e, w->list, w->c)
				  : is_builtin(w->md, name) ? MODDEP_BUILTIN : MODDEP_MISSING;
	if (rc == MODDEP_NOMEM) {
		w->rc = rc;
		return 1;
	}
	if (rc == MODDEP_OK || (rc == MODDEP_BUILTIN && w->rc != MODDEP_OK))
		w->rc = rc;
	return 0;
}

static enum moddep_status resolve_name(const struct moddep *md, const char *name, struct modlist *list,
				       struct chain *c)
{
	char norm[128];
	moddep_normalise(name, norm, sizeof norm);
	const struct moddep_entry *e = find_entry(md, norm);
	if (e)
		return resolve_module(md, e, list, c);
	/* Aliases before built-ins, as kmod looks them up: "crc32" (f2fs's softdep) is lib/crc32, built in, but
	 * also the alias of the crypto API's crc32_generic module, which is what f2fs asks for. */
	struct alias_walk w = {md, list, c, MODDEP_MISSING};
	alias_match(&md->aliases, name, alias_module, &w);
	if (w.rc == MODDEP_MISSING && is_builtin(md, norm))
		return MODDEP_BUILTIN;
	return w.rc;
}

enum moddep_status moddep_resolve(const struct moddep *md, const char *name, struct modlist *list)
{
	struct chain c = {.depth = 0};
	return resolve_name(md, name, list, &c);
}
