/* Coldplug without udev: load the module of every device the kernel already knows about.
 * Each device directory under /sys/devices with a `modalias` file is matched against the patterns of
 * modules.alias (as modprobe does, fnmatch-style); every matching module is loaded with its dependencies
 * (modules.dep), dependencies first.  Loading a bus driver makes new devices appear (virtio_pci -> virtio
 * devices, a USB host controller -> USB devices), so the walk repeats while the previous pass loaded something.
 *
 * Stage 2 calls:   coldplug_run("", NULL, warn, ctx, &result);
 * Tests call coldplug_scan() with a fixture tree and a recording loader. */
#ifndef LIVEINIT_COLDPLUG_H
#define LIVEINIT_COLDPLUG_H

#include <stdbool.h>
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
/* Which devices to consider, by modalias: false skips the device (common/select.c: stage 1 takes only the buses
 * that can hold the medium).  Default: every device. */
typedef bool coldplug_accept_fn(void *ctx, const char *modalias);

struct coldplug_opts {
	const char *sysroot;        /* prefix for /sys: "" for the real one, a fixture tree in tests */
	const char *moddir;         /* module directory; NULL: /lib/modules/<uname -r> */
	unsigned max_passes;        /* 0: 4 */
	unsigned settle_ms;         /* pause before a repeat walk, for devices a bus probes asynchronously (USB);
				     * 0: none */
	coldplug_load_fn *load;     /* NULL: finit_module */
	coldplug_accept_fn *accept; /* NULL: every device */
	const char *const *skip_top; /* NULL-terminated names of /sys/devices subdirectories not to walk (NULL: none) */
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

/* The same in steps, for a caller that walks again while it waits for devices to appear (stage 1, common/select.h).
 * coldplug_open reads modules.dep and modules.alias (opts and result must outlive the session);
 * each coldplug_pass walks /sys/devices once and returns the number of module files it inserted (a module is
 * tried once per session), or -errno with failed naming /sys/devices. */
struct coldplug;
int coldplug_open(struct coldplug **c, const struct coldplug_opts *opts, struct coldplug_result *result,
		  char *failed, size_t size);
int coldplug_pass(struct coldplug *c, char *failed, size_t size);
/* One device, by the modalias its uevent carried (common/uevent.h): load what matches, as a walk would.
 * Returns the number of module files inserted. */
int coldplug_device(struct coldplug *c, const char *modalias);
void coldplug_close(struct coldplug *c);

/* The alias table (alias_load, alias_match, alias_glob) is in common/moddep.h. */

#endif
