#include "common/coldplug.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/moddep.h"
#include "common/modload.h"

#define DEFAULT_PASSES 4
#define MAX_DEPTH 48 /* /sys/devices is a tree well under this; bounds a fixture with a loop */

/* ---- modules.alias ---- */

int alias_load(struct alias_table *t, const char *path)
{
	memset(t, 0, sizeof *t);
	int rc = file_read(path, &t->text, NULL);
	if (rc < 0)
		return rc;
	size_t lines = 1;
	for (const char *p = t->text; *p; p++)
		lines += *p == '\n';
	t->entries = calloc(lines, sizeof *t->entries);
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

int alias_match(const struct alias_table *t, const char *modalias, int (*fn)(void *ctx, const char *module),
		void *ctx)
{
	size_t len = strlen(modalias);
	for (size_t i = 0; i < t->n; i++) {
		const struct alias_entry *e = &t->entries[i];
		/* Most patterns differ from a given modalias within their literal prefix ("pci:v00008086d..."). */
		if (e->literal > len || memcmp(e->pattern, modalias, e->literal) != 0)
			continue;
		if (fnmatch(e->pattern, modalias, 0) != 0)
			continue;
		int rc = fn(ctx, e->module);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- one coldplug run ---- */

struct names {
	char **v;
	size_t n, cap;
};

static bool names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return true;
	return false;
}

static int names_add(struct names *s, const char *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		char **v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(name)))
		return -ENOMEM;
	s->n++;
	return 0;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

struct run {
	const struct coldplug_opts *o;
	struct coldplug_result *res;
	struct moddep md;
	struct alias_table aliases;
	char moddir[512];
	struct names tried;     /* module names handled (loaded, failed, or already present) */
	struct names inserted;  /* module files inserted, so a shared dependency goes in once */
	unsigned loaded_now;    /* modules inserted during the current pass */
	bool device_matched;
};

static void warnf(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct run *r, const char *fmt, ...)
{
	if (!r->o->warn)
		return;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->o->warn(r->o->ctx, msg);
}

static int finit_loader(void *ctx, const char *path)
{
	(void)ctx;
	return modload_file(path, 0);
}

/* The kernel lists every loaded module (and built-ins with parameters) in /sys/module. */
static bool already_loaded(const struct run *r, const char *name)
{
	char path[600];
	snprintf(path, sizeof path, "%s/sys/module/%s", r->o->sysroot ? r->o->sysroot : "", name);
	return access(path, F_OK) == 0;
}

/* Insert one module file; returns false when it failed (the module needing it fails too). */
static bool insert(struct run *r, const char *rel)
{
	if (names_has(&r->inserted, rel))
		return true;
	char path[1100];
	snprintf(path, sizeof path, "%s/%s", r->moddir, rel);
	coldplug_load_fn *load = r->o->load ? r->o->load : finit_loader;
	int rc = load(r->o->ctx, path);
	enum modload_outcome out = modload_outcome(rc);
	if (out == MODLOAD_NO_DEVICE) {
		r->res->declined++;
		return false;
	}
	if (out == MODLOAD_FAILED) {
		r->res->failed++;
		warnf(r, "unable to load module %s: %s", path, strerror(-rc));
		return false;
	}
	names_add(&r->inserted, rel);
	if (out == MODLOAD_LOADED) {
		r->res->loaded++;
		r->loaded_now++;
	}
	return true;
}

static int load_module(void *ctx, const char *module)
{
	struct run *r = ctx;
	r->device_matched = true;
	char name[128];
	moddep_normalise(module, name, sizeof name);
	if (names_has(&r->tried, name))
		return 0;
	if (names_add(&r->tried, name) < 0)
		return -ENOMEM;
	if (already_loaded(r, name))
		return 0;
	struct modlist list = {0};
	enum moddep_status st = moddep_resolve(&r->md, name, &list);
	if (st == MODDEP_MISSING) {
		r->res->failed++;
		warnf(r, "module %s (from modules.alias) is not in %s/modules.dep", name, r->moddir);
	} else if (st < 0) {
		r->res->failed++;
		warnf(r, "module %s: broken dependencies in %s/modules.dep", name, r->moddir);
	}
	for (size_t i = 0; st == MODDEP_OK && i < list.n; i++)
		if (!insert(r, list.paths[i]))
			break;
	modlist_free(&list);
	return 0;
}

static void device(struct run *r, const char *modalias)
{
	r->res->devices++;
	r->device_matched = false;
	alias_match(&r->aliases, modalias, load_module, r);
	r->res->matched += r->device_matched;
}

/* Read dirfd/modalias when present; then recurse into subdirectories (never through symlinks: sysfs links
 * every device from several places, and "subsystem"/"driver" links point back up the tree). */
static void walk(struct run *r, int dirfd, int depth)
{
	int fd = openat(dirfd, "modalias", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[512];
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			if (buf[0])
				device(r, buf);
		}
	}
	if (depth >= MAX_DEPTH)
		return;
	int dup_fd = dup(dirfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue; /* not a directory (DT_UNKNOWN), a symlink, or gone meanwhile */
		walk(r, sub, depth + 1);
		close(sub);
	}
	closedir(d);
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run_passes(struct run *r, char *failed, size_t size)
{
	char devices[600];
	snprintf(devices, sizeof devices, "%s/sys/devices", r->o->sysroot ? r->o->sysroot : "");
	unsigned max = r->o->max_passes ? r->o->max_passes : DEFAULT_PASSES;
	do {
		if (r->res->passes && r->o->settle_ms)
			pause_ms(r->o->settle_ms);
		int top = open(devices, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (top < 0) {
			snprintf(failed, size, "%s", devices);
			return -errno;
		}
		r->res->devices = r->res->matched = 0;
		r->loaded_now = 0;
		r->res->passes++;
		walk(r, top, 0);
		close(top);
	} while (r->loaded_now > 0 && r->res->passes < max);
	return 0;
}

int coldplug_scan(const struct coldplug_opts *o, struct coldplug_result *res, char *failed, size_t size)
{
	struct run r = {.o = o, .res = res};
	memset(res, 0, sizeof *res);
	if (o->moddir) {
		snprintf(r.moddir, sizeof r.moddir, "%s", o->moddir);
	} else {
		struct utsname u;
		if (uname(&u) < 0)
			return -errno;
		snprintf(r.moddir, sizeof r.moddir, "/lib/modules/%s", u.release);
	}
	int rc = moddep_load(&r.md, r.moddir, failed, size);
	if (rc < 0)
		return rc;
	snprintf(failed, size, "%s/modules.alias", r.moddir);
	rc = alias_load(&r.aliases, failed);
	if (rc == 0)
		rc = run_passes(&r, failed, size);
	alias_free(&r.aliases);
	moddep_free(&r.md);
	names_free(&r.tried);
	names_free(&r.inserted);
	return rc;
}

int coldplug_run(const char *sysroot, const char *moddir, coldplug_warn_fn *warn, void *ctx,
		 struct coldplug_result *result)
{
	struct coldplug_opts o = {.sysroot = sysroot, .moddir = moddir, .settle_ms = 200, .warn = warn, .ctx = ctx};
	char failed[600];
	int rc = coldplug_scan(&o, result, failed, sizeof failed);
	if (rc < 0 && warn) {
		char msg[700];
		snprintf(msg, sizeof msg, "coldplug: unable to read %s: %s", failed, strerror(-rc));
		warn(ctx, msg);
	}
	return rc;
}
