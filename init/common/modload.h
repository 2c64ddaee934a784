/* The one module loader: finit_module(2) of one .ko file, and the one policy for what its errors mean.
 * Used by stage 1 (modules from the initrd) and coldplug (stage 2, liveinit-coldplug). */
#ifndef LIVEINIT_COMMON_MODLOAD_H
#define LIVEINIT_COMMON_MODLOAD_H

/* async_probe (a parameter every module accepts): the kernel probes the driver's devices in the background
 * instead of finit_module waiting for them (ata_piix's ATAPI probe alone takes 0.5 s under qemu TCG). */
#define MODLOAD_ASYNC_PROBE 1u

/* Insert the module file at path.  Returns 0 or -errno (of open or finit_module); modload_outcome says
 * which of those are failures. */
int modload_file(const char *path, unsigned flags);

enum modload_outcome {
	MODLOAD_LOADED,    /* 0: inserted now */
	MODLOAD_ALREADY,   /* -EEXIST: loaded before (by us, by the kernel, by an earlier stage) */
	MODLOAD_NO_DEVICE, /* -ENODEV/-ENXIO: the driver's init found none of its hardware (xen-blkfront outside
			    * Xen): not an error, nothing to warn about */
	MODLOAD_FAILED,    /* anything else: report it with the path */
};
enum modload_outcome modload_outcome(int rc);

#endif
