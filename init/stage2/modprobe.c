/* modprobe: load a module by name or alias, with its dependencies and softdeps, from the live root's module
 * tree (modules.dep, modules.softdep, modules.alias, modules.builtin; init/common/moddep.c resolves).
 * The kernel runs it (/proc/sys/kernel/modprobe) as `modprobe -q -- NAME` when a mount, a crypto user or a
 * block device asks for fs-ext4, crypto-crc32c, block-major-8-0 ...; people run it by hand.
 *   modprobe [-qnv] [-d ROOT] [-S RELEASE] NAME [PARAM=VALUE...]
 *   modprobe -a [-qnv] [-d ROOT] [-S RELEASE] NAME...
 *   -q  no message when NAME resolves to nothing      -n  dry run: resolve, load nothing
 *   -v  print each module as it is loaded ("insmod PATH")
 *   -a  every argument is a NAME                       -d ROOT, -S RELEASE: ROOT/lib/modules/RELEASE
 * Exit: 0 ok (also: built in, already loaded), 1 NAME resolves to nothing or a module failed to load, 2 usage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/moddep.h"
#include "common/modload.h"
#include "stage2/applets.h"

struct probe_opts {
	bool quiet, dry_run, verbose;
	const char *dir;
};

static int usage(void)
{
	fprintf(stderr, "usage: modprobe [-qnv] [-d ROOT] [-S RELEASE] NAME [PARAM=VALUE...]\n"
			"       modprobe -a [-qnv] [-d ROOT] [-S RELEASE] NAME...\n");
	return 2;
}

/* A loaded module has /sys/module/NAME/initstate; a built-in one has no initstate (and nothing to load). */
static bool loaded(const char *path)
{
	char name[128], state[200];
	moddep_normalise(path, name, sizeof name);
	snprintf(state, sizeof state, "/sys/module/%s/initstate", name);
	return access(state, F_OK) == 0;
}

/* The module file that is NAME itself gets the parameters; the others (dependencies, softdeps) none. */
static const char *params_for(const char *path, const char *name, const char *params)
{
	char a[128], b[128];
	moddep_normalise(path, a, sizeof a);
	moddep_normalise(name, b, sizeof b);
	return strcmp(a, b) ? "" : params;
}

/* Resolve and load one NAME.  Returns 0 or 1 (the exit code's meaning). */
static int probe_one(const struct moddep *md, const struct probe_opts *o, const char *name, const char *params)
{
	struct modlist list = {0};
	enum moddep_status st = moddep_resolve(md, name, &list);
	int status = 0;
	if (st == MODDEP_MISSING) {
		if (!o->quiet)
			fprintf(stderr, "modprobe: %s: no module or alias of that name in %s\n", name, o->dir);
		status = 1;
	} else if (st == MODDEP_NOMEM || st == MODDEP_LOOP) {
		fprintf(stderr, "modprobe: %s: %s in %s/modules.dep\n", name,
			st == MODDEP_NOMEM ? "out of memory" : "dependency loop", o->dir);
		status = 1;
	} else if (st == MODDEP_BUILTIN && o->verbose) {
		printf("builtin %s\n", name);
	}
	for (size_t i = 0; i < list.n; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", o->dir, list.paths[i]);
		if (!o->dry_run && loaded(path))
			continue;
		const char *p = params_for(path, name, params);
		if (o->verbose) {
			printf("insmod %s%s%s\n", path, *p ? " " : "", p);
			fflush(stdout);
		}
		if (o->dry_run)
			continue;
		int rc = modload_file_params(path, p);
		/* No device: the module found nothing to drive here (crc32c-intel on a CPU without SSE 4.2, a
		 * driver without its hardware); the other providers of an alias still serve. */
		enum modload_outcome out = modload_outcome(rc);
		if (out == MODLOAD_NO_DEVICE && o->verbose) {
			printf("modprobe: %s: %s (skipped)\n", path, strerror(-rc));
		} else if (out == MODLOAD_FAILED) {
			fprintf(stderr, "modprobe: unable to load module %s: %s\n", path, strerror(-rc));
			status = 1;
		}
	}
	modlist_free(&list);
	return status;
}

int modprobe_main(int argc, char **argv)
{
	struct probe_opts o = {0};
	const char *root = "", *release = NULL;
	bool all = false;
	int c;
	while ((c = getopt(argc, argv, "+qnvad:S:h")) != -1) {
		switch (c) {
		case 'q': o.quiet = true; break;
		case 'n': o.dry_run = true; break;
		case 'v': o.verbose = true; break;
		case 'a': all = true; break;
		case 'd': root = optarg; break;
		case 'S': release = optarg; break;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	struct utsname u;
	if (!release) {
		if (uname(&u) < 0) {
			fprintf(stderr, "modprobe: unable to read the kernel release (uname): %s\n", strerror(errno));
			return 1;
		}
		release = u.release;
	}
	char dir[512], failed[600];
	snprintf(dir, sizeof dir, "%s/lib/modules/%s", root, release);
	o.dir = dir;
	struct moddep md;
	int rc = moddep_load(&md, dir, failed, sizeof failed);
	if (rc < 0) {
		fprintf(stderr, "modprobe: unable to read %s: %s\n", failed, strerror(-rc));
		return 1;
	}
	int status = 0;
	if (all) {
		for (int i = optind; i < argc; i++)
			status |= probe_one(&md, &o, argv[i], "");
	} else {
		/* The parameters, joined with spaces, as finit_module takes them. */
		char params[1024] = "";
		for (int i = optind + 1; i < argc; i++) {
			size_t len = strlen(params);
			snprintf(params + len, sizeof params - len, "%s%s", len ? " " : "", argv[i]);
		}
		status = probe_one(&md, &o, argv[optind], params);
	}
	moddep_free(&md);
	return status;
}
