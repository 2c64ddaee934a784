/* Coldplug without udev: load the module of every device the kernel already knows about.
 * Each device directory under /sys/devices with a `modalias` file is matched against the patterns of
 * modules.alias (as modprobe does, with fnmatch); every matching module is loaded with its dependencies
 * (modules.dep), dependencies first.  Loading a bus driver makes new devices appear (virtio_pci -> virtio
 * devices, a USB host controller -> USB devices), so the walk repeats while the previous pass loaded something.
 *
 * Stage 2 calls:   coldplug_run("", NULL, warn, ctx, &result);
 * Tests call coldplug_scan() with a fixture tree and a recording loader. */
#ifndef LIVEINIT_COLDPLUG_H
#define LIVEINIT_COLDPLUG_H

#include <stddef.h>

struct coldplug_result {
	unsigned passes;    /* walks of /sys/devices */
	unsigned devices;   /* devices with a modalias seen (last pass) */
	unsigned matched;   /* of those, with at least one matching module (last pass) */
	unsigned loaded;    /* module files inserted (dependencies included) */
	unsigned declined;  /* modules whose init said "no such device" (ENODEV/ENXIO: not this hardware) */
	unsigned failed;    /* modules that failed otherwise (each reported through warn) */
};

/* Called once per problem with a complete line ("unable to load module PATH: REASON"). */
typedef void coldplug_warn_fn(void *ctx, const char *msg);
/* Insert one module file; return 0 or -errno, read with common/modload.h's modload_outcome (-EEXIST: already
 * loaded, -ENODEV/-ENXIO: declined).  Default: modload_file(path, 0). */
typedef int coldplug_load_fn(void *ctx, const char *path);

struct coldplug_opts {
	const char *sysroot;        /* prefix for /sys: "" for the real one, a fixture tree in tests */
	const char *moddir;         /* module directory; NULL: /lib/modules/<uname -r> */
	unsigned max_passes;        /* 0: 4 */
	unsigned settle_ms;         /* pause before a repeat walk, for devices a bus probes asynchronously (USB);
				     * 0: none */
	coldplug_load_fn *load;     /* NULL: finit_module */
	coldplug_warn_fn *warn;     /* NULL: silent */
	void *ctx;                  /* passed to load and warn */
};

/* The whole job with the real loader and a 200 ms settle between walks.  Returns 0 (module failures are
 * counted in result and each reported through warn) or -errno when moddir's modules.dep or modules.alias or
 * /sys/devices cannot be read (also reported through warn).  sysroot "" or NULL: the real /sys. */
int coldplug_run(const char *sysroot, const char *moddir, coldplug_warn_fn *warn, void *ctx,
		 struct coldplug_result *result);

/* The same with every knob; on -errno, failed (size bytes) names the file that could not be read. */
int coldplug_scan(const struct coldplug_opts *opts, struct coldplug_result *result, char *failed, size_t size);

/* Pattern table from modules.alias ("alias PATTERN MODULE" lines), for the scanner and its tests. */
struct alias_entry {
	const char *pattern;
	const char *module;
	unsigned literal;  /* length of the pattern's prefix before its first wildcard: a cheap pre-filter */
};
struct alias_table {
	char *text;
	struct alias_entry *entries;
	size_t n;
};
int alias_load(struct alias_table *t, const char *path);
void alias_free(struct alias_table *t);
/* Call fn for each module whose pattern matches modalias (in file order; a module may repeat).
 * Stops and returns fn's value when it is non-zero. */
int alias_match(const struct alias_table *t, const char *modalias, int (*fn)(void *ctx, const char *module),
		void *ctx);

#endif
