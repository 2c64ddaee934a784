#include "common/coldplug.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

struct coldplug {
	const struct coldplug_opts *o;
	struct coldplug_result *res;
	struct moddep md;
	char moddir[512];
	struct names tried;     /* module names handled (loaded, failed, or already present) */
	struct names inserted;  /* module files inserted, so a shared dependency goes in once */
	unsigned loaded_now;    /* modules inserted during the current pass */
	bool device_matched;
};

static void warnf(struct coldplug *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct coldplug *r, const char *fmt, ...)
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
static bool already_loaded(const struct coldplug *r, const char *name)
{
	char path[600];
	snprintf(path, sizeof path, "%s/sys/module/%s", r->o->sysroot ? r->o->sysroot : "", name);
	return access(path, F_OK) == 0;
}

/* Insert one module file; returns false when it failed (the module needing it fails too).  A module that finds
 * no device of its own is no failure of the chain: softdeps name accelerated variants (crct10dif-pclmul before
 * crc-t10dif, for sd_mod) that decline on a CPU without the instructions, and what needs them goes on. */
static bool insert(struct coldplug *r, const char *rel)
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
		names_add(&r->inserted, rel);
		return true;
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
	struct coldplug *r = ctx;
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

static void device(struct coldplug *r, const char *modalias)
{
	/* The CPU's modalias ("cpu:type:x86,...:feature:...") matches the accelerated crypto (crc32c-intel,
	 * aesni-intel, sha256-ssse3 ...) the root carries for filesystems; those load with their generic versions
	 * when a filesystem asks for the algorithm (modprobe crypto-crc32c), not at boot (8 modules, ~5 s on Xen
	 * under TCG). */
	if (strncmp(modalias, "cpu:", 4) == 0)
		return;
	if (r->o->accept && !r->o->accept(r->o->ctx, modalias))
		return;
	r->res->devices++;
	r->device_matched = false;
	alias_match(&r->md.aliases, modalias, load_module, r);
	r->res->matched += r->device_matched;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The subdirectory names of dirfd, sorted, so that a walk (and the order modules load in) is the same on
 * every boot and on fixture trees whatever order the filesystem lists them in. */
static bool listed(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (!strcmp(*list, name))
			return true;
	return false;
}

/* Directories below a device that hold its attributes, never a device with a driver to load: skipping them
 * halves a walk (every device has power/, every disk queue/ and mq/, every NIC queues/ and statistics/). */
static const char *const attribute_dirs[] = {"power", "queue", "mq", "holders", "slaves", "trace", "integrity",
					     "statistics", "queues", "msi_irqs", NULL};

static int subdirs(int dirfd, const char *const *skip, struct names *out)
{
	int dup_fd = dup(dirfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) &&
		    !listed(attribute_dirs, e->d_name) && !listed(skip, e->d_name) && names_add(out, e->d_name) < 0)
			break;
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, by_name);
	return 0;
}

/* Read dirfd/modalias when present; then recurse into subdirectories (never through symlinks: sysfs links
 * every device from several places, and "subsystem"/"driver" links point back up the tree). */
static void walk(struct coldplug *r, int dirfd, int depth)
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
	struct names sub = {0};
	if (depth >= MAX_DEPTH || subdirs(dirfd, depth == 0 ? r->o->skip_top : NULL, &sub) < 0)
		return;
	for (size_t i = 0; i < sub.n; i++) {
		int fd2 = openat(dirfd, sub.v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd2 < 0)
			continue; /* not a directory (DT_UNKNOWN), a symlink, or gone meanwhile */
		walk(r, fd2, depth + 1);
		close(fd2);
	}
	names_free(&sub);
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One walk of /sys/devices; returns the number of module files it inserted, or -errno. */
static int one_pass(struct coldplug *r, char *failed, size_t size)
{
	char devices[600];
	snprintf(devices, sizeof devices, "%s/sys/devices", r->o->sysroot ? r->o->sysroot : "");
	int top = open(devices, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0) {
		int err = errno;
		snprintf(failed, size, "%s", devices);
		return -err;
	}
	r->res->devices = r->res->matched = 0;
	r->loaded_now = 0;
	r->res->passes++;
	walk(r, top, 0);
	close(top);
	return (int)r->loaded_now;
}

int coldplug_open(struct coldplug **out, const struct coldplug_opts *o, struct coldplug_result *res, char *failed,
		  size_t size)
{
	struct coldplug *r = calloc(1, sizeof *r);
	*out = NULL;
	if (!r) {
		snprintf(failed, size, "memory");
		return -ENOMEM;
	}
	r->o = o;
	r->res = res;
	memset(res, 0, sizeof *res);
	if (o->moddir) {
		snprintf(r->moddir, sizeof r->moddir, "%s", o->moddir);
	} else {
		struct utsname u;
		uname(&u); /* cannot fail with a valid buffer */
		snprintf(r->moddir, sizeof r->moddir, "/lib/modules/%s", u.release);
	}
	int rc = moddep_load(&r->md, r->moddir, failed, size);
	if (rc < 0) {
		free(r);
		return rc;
	}
	if (!r->md.aliases.text) { /* moddep_load takes a missing modules.alias as "no aliases"; coldplug needs it */
		snprintf(failed, size, "%s/modules.alias", r->moddir);
		moddep_free(&r->md);
		free(r);
		return -ENOENT;
	}
	*out = r;
	return 0;
}

int coldplug_pass(struct coldplug *r, char *failed, size_t size)
{
	return one_pass(r, failed, size);
}

int coldplug_device(struct coldplug *r, const char *modalias)
{
	r->loaded_now = 0;
	device(r, modalias);
	return (int)r->loaded_now;
}

void coldplug_close(struct coldplug *r)
{
	if (!r)
		return;
	moddep_free(&r->md);
	names_free(&r->tried);
	names_free(&r->inserted);
	free(r);
}

int coldplug_scan(const struct coldplug_opts *o, struct coldplug_result *res, char *failed, size_t size)
{
	struct coldplug *r;
	int rc = coldplug_open(&r, o, res, failed, size);
	if (rc < 0)
		return rc;
	unsigned max = o->max_passes ? o->max_passes : DEFAULT_PASSES;
	do {
		if (res->passes && o->settle_ms)
			pause_ms(o->settle_ms);
		rc = one_pass(r, failed, size);
	} while (rc > 0 && res->passes < max);
	coldplug_close(r);
	return rc < 0 ? rc : 0;
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
