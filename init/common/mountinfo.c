#include "common/mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_octal(char c) { return c >= '0' && c <= '7'; }

void mountinfo_unescape(char *s)
{
	char *out = s;
	while (*s) {
		if (s[0] == '\\' && is_octal(s[1]) && is_octal(s[2]) && is_octal(s[3])) {
			int v = (s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0');
			if (v > 0 && v < 256) {
				*out++ = (char)v;
				s += 4;
				continue;
			}
		}
		*out++ = *s++;
	}
	*out = '\0';
}

/* Next space-separated field; NULL when the line has no more. */
static char *next_field(char **cursor)
{
	char *p = *cursor;
	while (*p == ' ')
		p++;
	if (*p == '\0' || *p == '\n')
		return NULL;
	char *start = p;
	while (*p && *p != ' ' && *p != '\n')
		p++;
	if (*p)
		*p++ = '\0';
	*cursor = p;
	return start;
}

static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 0x7fffffff)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int mountinfo_parse_line(char *line, struct mount_entry *e)
{
	char *cur = line;
	char *f[6];
	memset(e, 0, sizeof(*e));
	for (int i = 0; i < 6; i++)
		if (!(f[i] = next_field(&cur)))
			return -EINVAL;
	if (parse_int(f[0], &e->id) || parse_int(f[1], &e->parent_id))
		return -EINVAL;
	char tail;
	if (sscanf(f[2], "%u:%u%c", &e->major, &e->minor, &tail) != 2)
		return -EINVAL;
	e->root = f[3];
	e->target = f[4];
	e->options = f[5];
	/* Zero or more optional fields ("shared:1", "master:2"), ended by a lone "-". */
	char *sep;
	while ((sep = next_field(&cur)) && strcmp(sep, "-") != 0)
		;
	if (!sep)
		return -EINVAL;
	if (!(e->fstype = next_field(&cur)) || !(e->source = next_field(&cur)))
		return -EINVAL;
	e->super_options = next_field(&cur);
	if (!e->super_options)
		e->super_options = cur; /* empty string */
	mountinfo_unescape(e->root);
	mountinfo_unescape(e->target);
	mountinfo_unescape(e->source);
	return 0;
}

int mountinfo_read(const char *path, struct mount_table *t)
{
	t->entries = NULL;
	t->count = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t cap = 0;
	char *buf = NULL;
	size_t bufsz = 0;
	int rc = 0;
	while (getline(&buf, &bufsz, f) >= 0) {
		char *line = strdup(buf);
		if (!line) {
			rc = -ENOMEM;
			break;
		}
		struct mount_entry e;
		if (mountinfo_parse_line(line, &e) != 0) {
			free(line);
			continue;
		}
		e.line = line;
		if (t->count == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct mount_entry *n = realloc(t->entries, ncap * sizeof(*n));
			if (!n) {
				free(line);
				rc = -ENOMEM;
				break;
			}
			t->entries = n;
			cap = ncap;
		}
		t->entries[t->count++] = e;
	}
	if (!rc && ferror(f))
		rc = -EIO;
	free(buf);
	fclose(f);
	if (rc)
		mountinfo_free(t);
	return rc;
}

void mountinfo_free(struct mount_table *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->entries[i].line);
	free(t->entries);
	t->entries = NULL;
	t->count = 0;
}

const struct mount_entry *mountinfo_find_target(const struct mount_table *t, const char *target)
{
	for (size_t i = t->count; i-- > 0;)
		if (strcmp(t->entries[i].target, target) == 0)
			return &t->entries[i];
	return NULL;
}

bool mount_option_present(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = opts;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && strncmp(p, opt, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}
