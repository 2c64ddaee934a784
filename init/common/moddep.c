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

int moddep_load(struct moddep *md, const char *dir, char *path, size_t size)
{
	memset(md, 0, sizeof *md);
	snprintf(path, size, "%s/modules.dep", dir);
	int rc = file_read(path, &md->dep_text, NULL);
	if (rc == 0)
		rc = parse_dep(md);
	if (rc < 0) {
		moddep_free(md);
		return rc;
	}
	snprintf(path, size, "%s/modules.builtin", dir);
	rc = file_read(path, &md->builtin_text, NULL);
	if (rc == -ENOENT) /* a kernel with nothing built in as a module candidate */
		return 0;
	if (rc == 0)
		rc = parse_builtin(md);
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
	free(md->entries);
	free(md->builtin);
	free(md->dep_text);
	free(md->builtin_text);
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

/* Depth-first: each dependency's own dependencies come before it.  depth bounds a cycle in a broken file. */
static enum moddep_status resolve(const struct moddep *md, const char *name, struct modlist *list, int depth)
{
	if (depth > 64)
		return MODDEP_LOOP;
	const struct moddep_entry *e = find_entry(md, name);
	if (!e)
		return is_builtin(md, name) ? MODDEP_BUILTIN : MODDEP_MISSING;
	if (in_list(list, e->path))
		return MODDEP_OK;
	/* Walk the dependency paths in place: a line can be longer than any fixed copy of it. */
	for (const char *p = e->deps + strspn(e->deps, " \t"); *p; p += strspn(p, " \t")) {
		size_t len = strcspn(p, " \t");
		char dname[128];
		normalise_span(p, len, dname, sizeof dname);
		p += len;
		enum moddep_status rc = resolve(md, dname, list, depth + 1);
		if (rc < 0)
			return rc;
	}
	return list_add(list, e->path);
}

enum moddep_status moddep_resolve(const struct moddep *md, const char *name, struct modlist *list)
{
	char norm[128];
	moddep_normalise(name, norm, sizeof norm);
	return resolve(md, norm, list, 0);
}
