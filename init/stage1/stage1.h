/* Stage 1 (/init in the initrd): the pieces of the pipeline in main.c, one file each. */
#ifndef LIVEINIT_STAGE1_H
#define LIVEINIT_STAGE1_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <net/if.h>

#include "common/cmdline.h"
#include "common/probe.h"

/* Where things live while stage 1 runs; /run is moved into the new root, so /run/live stays visible. */
#define NEWROOT     "/root"
#define LIVE_DIR    "/run/live"
#define MEDIUM_DIR  LIVE_DIR "/medium"
#define ROOTFS_DIR  LIVE_DIR "/rootfs"
#define OVERLAY_DIR LIVE_DIR "/overlay"
#define TORAM_DIR   LIVE_DIR "/toram"
#define FETCH_DIR   LIVE_DIR "/fetch"
#define FINDISO_DIR LIVE_DIR "/findiso"

/* Errors travel as a one-line message, printed by main before the rescue shell. */
struct s1_error {
	char msg[512];
};
int s1_fail(struct s1_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* early.c: /proc /sys /dev /run, and stdio on /dev/console. */
int early_mounts(struct s1_error *err);

/* modules.c: on PC and Xen, start loading the drivers of the storage devices present (common/select.h, then
 * one uevent per device that appears) and the live medium's filesystems (idle priority) in the background, and
 * return as soon as the first driver is in, so the medium scan overlaps the loading; elsewhere, or with
 * `allmodules`, load every module listed in liveinit.load (a missing one is reported, not fatal).
 * modules_found() says the medium is there (without uevents the walks of /sys go on, slower, for other disks);
 * modules_stop() ends it (before the switch: the initramfs goes away).
 * module_need_fs() for a filesystem type right before it is mounted (fatal when missing). */
void modules_start(const struct live_config *cfg);
void modules_found(void);
/* Wait (at most 5 s) until the loader has loaded the drivers of every device announced so far: before stage 1
 * looks at the other disks (persistence).  In a Xen domU that is xen-blkfront's init, which returns once all
 * the domain's disks are connected. */
void modules_settle(void);
void modules_stop(void);
/* modules_network(): load the drivers of the network hardware present (SELECT_NETWORK; a Xen domU: only
 * xen-netfront), one walk of /sys per call: netup calls it while it waits for the interface.
 * modules_network_end() frees the session. */
void modules_network(const struct live_config *cfg);
void modules_network_end(void);
int module_need_fs(const char *fstype, struct s1_error *err);
int module_need_loop(struct s1_error *err);

/* media.c: wait for and identify the root device. */
struct medium {
	char dev[256];             /* /dev/NAME */
	struct probe_result probe;
};
int media_find(const struct live_config *cfg, struct medium *m, struct s1_error *err);
/* Probe the block device /sys/class/block/NAME (its path in dev) for the scans of stage 1 (medium, findiso,
 * persistence): -ENODEV for names not worth probing (RAM disks, loops, dm...), -ETIMEDOUT for a disk that did
 * not answer within 2 s (named once, then never probed again, nor its partitions), else as probe_path(). */
int media_probe(const char *name, char *dev, size_t size, struct probe_result *p);
/* toram copied the squashfs: unmount the medium (and free findiso's partition). */
void medium_release(const struct medium *m);

/* findiso.c: findiso=: the medium is a loop device over an ISO file found on some filesystem. */
int findiso_find(const struct live_config *cfg, struct medium *m, struct s1_error *err);
void findiso_release(void);

/* loop.c */
int loop_attach(const char *path, bool writable, char *dev, size_t size, struct s1_error *err);

/* toram.c: copy src into TORAM_DIR when it fits (squashfs + margin in MemAvailable, squashfs in the tmpfs
 * limit).  Returns 0 (dst is the copy), 1 when it does not fit (err holds the line with both numbers; the
 * caller boots from the medium), -1 on failure (and when it does not fit with toram=strict). */
#define TORAM_OVERLAY_MARGIN (32ull << 20)
int toram_copy(const struct live_config *cfg, const char *src, const char *shown, char *dst, size_t size,
	       struct s1_error *err);
bool toram_fits(uint64_t squashfs, uint64_t mem_available, uint64_t tmpfs_limit);
int meminfo_available(const char *path, uint64_t *bytes);

/* persistence.c: find and mount the persistence filesystem before the root (never fatal: one line and the
 * boot goes on in RAM); persistence_root_options() gives the root overlay's options when "/ union" applies;
 * persistence_mount_dirs() mounts the other persistence.conf entries in the new root. */
void persistence_setup(const struct live_config *cfg, const struct medium *m);
bool persistence_root_options(const char *lowers, char *opts, size_t size);
void persistence_mount_dirs(void);

/* rootfs.c: mount the root at NEWROOT according to what the medium holds. */
int rootfs_mount(const struct live_config *cfg, const struct medium *m, struct s1_error *err);

/* mediacheck.c: `check`: verify the squashfs against the checksum file next to it. */
int media_check(const char *squashfs_path, struct s1_error *err);

/* mediacheck.c: compare a file's SHA-256 with hex (64 digits); a mismatch is the same refusal as `check`. */
int file_check_sha256(const char *path, const char *hex, struct s1_error *err);

/* netup.c: bring up the network for fetch= (ip=, BOOTIF=, DHCP through init/dhcp as a library). */
#define NET_MAX_DNS 4
struct net_config {
	char iface[IFNAMSIZ];
	struct in_addr dns[NET_MAX_DNS];
	int ndns;
	char search[256];          /* space-separated search domains */
};
int net_up(const struct live_config *cfg, struct net_config *net, struct s1_error *err);

/* fetch.c: fetch=URL into a tmpfs under FETCH_DIR (path into image), verified when a checksum exists. */
int fetch_image(const struct live_config *cfg, char *image, size_t cap, struct s1_error *err);

/* rootfs.c: mount a fetched squashfs (or the squashfs inside a fetched .iso) and overlay it at NEWROOT. */
int rootfs_mount_image(const struct live_config *cfg, const char *image, struct s1_error *err);

/* switchroot.c: move mounts, delete the initramfs, chroot, exec init.  Returns only on failure.
 * started_us: boottime_us() when stage 1 began (for the figure in the kernel log). */
int switch_root(const struct live_config *cfg, char **argv, int64_t started_us, struct s1_error *err);

/* rootedit.c: edit the new root (its overlay upper) as the root itself sees its paths.  root is the prefix
 * (NEWROOT, or a fixture tree in tests; "" is the running system); path is absolute inside it. */
int root_resolve(const char *root, const char *path, char *out, size_t size); /* every symlink; -errno */
bool root_exists(const char *root, const char *path);
int root_path(const char *root, const char *path, char *out, size_t size); /* parent resolved, last kept */
int root_write(const char *root, const char *path, const char *text, struct s1_error *err); /* 0644 or kept */
int root_symlink(const char *root, const char *path, const char *target, struct s1_error *err);

/* What stage 1 changed in a foreign root, one line each; written to ADAPTED_FILE for the user. */
#define LIVEINIT_RUN "/run/liveinit"
#define ADAPTED_FILE LIVEINIT_RUN "/adapted"
#define ADAPT_MAX 32
struct adapt_log {
	int n;
	char line[ADAPT_MAX][240];
};
void adapt_note(struct adapt_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* adapt.c: make a foreign root (systemd, sysvinit) usable here: a login on the console the user sees,
 * passwd=, SSH host keys, sshd, hostname=.  Nothing when its init is our stage 2. */
enum root_init { INIT_NONE, INIT_OURS, INIT_SYSTEMD, INIT_SYSVINIT, INIT_OTHER };
enum root_init adapt_classify(const char *root, const char *init);
const char *root_init_name(enum root_init kind);
int adapt_root(const struct live_config *cfg, const char *root, struct adapt_log *log, struct s1_error *err);

/* stage2root.c: liveinit.stage2: our stage 2 as the init of any root.  Copies the initrd's stage 2 (and
 * dhcpc, and busybox when the root has no /bin/sh) to RUN_DIR (initrd_dir "" normally; /run moves into the
 * new root), puts our poweroff/reboot/halt/shutdown in front of the root's, and returns the init to exec. */
#define STAGE2_INIT LIVEINIT_RUN "/init"
int stage2_prepare(const char *root, const char *initrd_dir, const char *run_dir, struct adapt_log *log,
		   struct s1_error *err);

/* rescue.c: the console shell.  rescue_shell() returns when the shell exits (break= points);
 * rescue_forever() never returns (fatal errors: PID 1 must not exit). */
void rescue_shell(const char *why);
void rescue_forever(const char *why) __attribute__((noreturn));

/* steps.c: stage 1's lines of the timing record (common/steptime.h).  steps_begin() starts the first step at
 * started_us (boottime_us()), step_next() ends the current one and starts the next, steps_end() ends the last,
 * writes the "stage1" line and returns the end time.  step_record() writes any other line (warns once). */
void steps_begin(int64_t started_us, const char *first);
void step_next(const char *name);
int64_t steps_end(void);
void step_record(const char *name, int64_t start_us, int64_t end_us);
/* The lines written before the command line said `debug`, printed now that it has. */
void steps_show_early(void);

/* util.c (mkdir -p is common/fileio.h) */
int mount_fs(const char *src, const char *target, const char *type, unsigned long flags, const char *data,
	     struct s1_error *err);
/* Copy a file (sendfile, COPY_CHUNK at a time), creating dst with mode; progress (when not NULL) is told the
 * bytes done after each chunk. */
#define COPY_CHUNK (4u << 20)
typedef void copy_progress_fn(void *ctx, uint64_t done, uint64_t total);
int copy_file_progress(const char *src, const char *dst, unsigned mode, copy_progress_fn *progress, void *ctx,
		       struct s1_error *err);
int copy_file(const char *src, const char *dst, unsigned mode, struct s1_error *err);

#endif
