/* Find the root device: by name, LABEL=, UUID=, or by scanning for our live medium; wait for slow devices
 * until rootdelay passes (or forever with rootwait): scan again as soon as the kernel announces a block device
 * (a uevent), and at least every POLL_MS (a drive that becomes ready sends no event). */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/uevent.h"
#include "stage1/stage1.h"

#define LIVE_LABEL "LIVEINIT"
/* Between scans: with uevents a new device wakes the scan at once, so the pause only catches a medium that
 * becomes readable without one; without them (socket refused) the old polling. */
#define POLL_MS 250
#define POLL_NO_EVENTS_MS 50
/* How often to look inside ISOs without our label (mounting each costs more than a superblock read). */
#define DEEP_MS 1000
/* How long one superblock read may take before the disk counts as not answering (a dying disk takes
 * minutes); a live medium answers in milliseconds, a CD that spins up within a second. */
#define PROBE_TIMEOUT_MS 2000
#define DEAD_MAX 16

/* Disks that did not answer a probe: never probed again (nor their partitions) while we look. */
static char dead[DEAD_MAX][32];
static int ndead;

static bool disk_dead(const char *disk)
{
	for (int i = 0; i < ndead; i++)
		if (!strcmp(dead[i], disk))
			return true;
	return false;
}

/* Block devices worth probing: skip RAM disks, unused loops and the like. */
static bool candidate(const char *name)
{
	static const char *const skip[] = {"loop", "ram", "zram", "dm-", "md", "nbd"};
	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
		if (!strncmp(name, skip[i], strlen(skip[i])))
			return false;
	return true;
}

int media_probe(const char *name, char *dev, size_t size, struct probe_result *p)
{
	if (!candidate(name))
		return -ENODEV;
	snprintf(dev, size, "/dev/%.200s", name);
	char disk[32];
	probe_disk_of("/sys/class/block", name, disk, sizeof disk);
	if (disk_dead(disk))
		return -ETIMEDOUT;
	int rc = probe_path_bounded(dev, p, PROBE_TIMEOUT_MS);
	if (rc == -ETIMEDOUT) {
		log_warn("%s does not answer (nothing read in %d s; a failing disk?): not looking at /dev/%s again",
			 dev, PROBE_TIMEOUT_MS / 1000, disk);
		if (ndead < DEAD_MAX)
			snprintf(dead[ndead++], sizeof dead[0], "%s", disk);
	}
	return rc;
}

/* Does an ISO 9660 medium hold <media_path>/ *.squashfs?  Mounted briefly, read-only. */
static bool holds_live_tree(const char *dev, const char *media_path)
{
	struct s1_error err;
	if (module_need_fs("iso9660", &err) < 0 || mount_fs(dev, MEDIUM_DIR, "iso9660", MS_RDONLY, NULL, &err) < 0)
		return false;
	char dir[512];
	snprintf(dir, sizeof dir, "%s%s", MEDIUM_DIR, media_path);
	bool found = false;
	DIR *d = opendir(dir);
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		found = n > 9 && !strcmp(e->d_name + n - 9, ".squashfs");
	}
	if (d)
		closedir(d);
	umount(MEDIUM_DIR);
	return found;
}

enum want { WANT_NAME, WANT_LABEL, WANT_UUID, WANT_LIVE };

static bool matches(const struct live_config *cfg, enum want want, const char *dev, const struct probe_result *p,
		    bool deep)
{
	switch (want) {
	case WANT_LABEL:
		return !strcmp(p->label, cfg->root + 6);
	case WANT_UUID:
		return !strcasecmp(p->uuid, cfg->root + 5);
	case WANT_LIVE:
		if (p->type != FS_ISO9660)
			return false;
		return !strcmp(p->label, LIVE_LABEL) || (deep && holds_live_tree(dev, cfg->media_path));
	default:
		return false;
	}
}

static bool is_partition(const char *name)
{
	char path[300];
	snprintf(path, sizeof path, "/sys/class/block/%.200s/partition", name);
	return access(path, F_OK) == 0;
}

/* One pass over /sys/class/block.  deep: also look inside ISOs without our label.
 * A hybrid ISO's MBR has a partition starting at sector 0, so the disk and its first partition both hold the
 * medium; the whole disk wins (ubdb, sda, not ubdb1, sda1) whatever order sysfs lists them in. */
static bool scan_once(const struct live_config *cfg, enum want want, struct medium *m, bool deep)
{
	DIR *d = opendir("/sys/class/block");
	if (!d)
		return false;
	bool found = false, whole = false;
	for (struct dirent *e; !whole && (e = readdir(d));) {
		char dev[256];
		struct probe_result p;
		if (media_probe(e->d_name, dev, sizeof dev, &p) < 0 || p.type == FS_UNKNOWN)
			continue;
		bool part = is_partition(e->d_name);
		if (found && part)
			continue;
		if (matches(cfg, want, dev, &p, deep)) {
			snprintf(m->dev, sizeof m->dev, "%s", dev);
			m->probe = p;
			found = true;
			whole = !part;
		}
	}
	closedir(d);
	return found;
}

/* root=/dev/NAME: the node appears when the driver has found the device; then probe it. */
static int try_named(const struct live_config *cfg, struct medium *m, int *last_err)
{
	int rc = probe_path(cfg->root, &m->probe);
	if (rc < 0) {
		*last_err = -rc;
		return -1;
	}
	snprintf(m->dev, sizeof m->dev, "%s", cfg->root);
	return 0;
}

/* A line in the timing record when a disk or partition appears while stage 1 waits ("device/sr0 START 0"):
 * the kernel's probe of the hardware ends there, what stage 1 does with it begins. */
static void device_record(const struct uevent *ev)
{
	if (strcmp(ev->action, "add") || !ev->devname[0])
		return;
	char name[80];
	snprintf(name, sizeof name, "device/%.60s", ev->devname);
	int64_t now = boottime_us();
	step_record(name, now, now);
	log_debug("uevent: add block %s", ev->devname);
}

/* Sleep up to ms, or until the kernel announces a block device (added, or its medium changed).  fd < 0: just
 * sleep. */
static void wait_for_block(int fd, int ms)
{
	if (fd < 0) {
		usleep((useconds_t)ms * 1000);
		return;
	}
	int64_t until = monotonic_ms() + ms;
	for (int64_t left = ms; left > 0; left = until - monotonic_ms()) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			return;
		struct uevent ev;
		int rc;
		bool block = false;
		while ((rc = uevent_read(fd, &ev)) > 0)
			if (!strcmp(ev.subsystem, "block") && candidate(ev.devname)) {
				block = true; /* not a loop device appearing (the loop driver makes 8 at once) */
				device_record(&ev);
			}
		if (block || rc < 0)
			return; /* a block device came (or events were lost): scan now */
	}
}

static const char *describe(const struct live_config *cfg, enum want want)
{
	return want == WANT_LIVE ? "a medium labelled " LIVE_LABEL " or holding live-media-path" : cfg->root;
}

int media_find(const struct live_config *cfg, struct medium *m, struct s1_error *err)
{
	enum want want = !cfg->root[0]                          ? WANT_LIVE
			 : !strncmp(cfg->root, "LABEL=", 6)     ? WANT_LABEL
			 : !strncmp(cfg->root, "UUID=", 5)      ? WANT_UUID
								: WANT_NAME;
	int64_t deadline = monotonic_ms() + (int64_t)cfg->rootdelay * 1000, next_deep = 0;
	int last_err = ENOENT;
	bool announced = false, found = false;
	/* Opened before the first scan: a device that appears between the scan and the wait is not missed. */
	int events = uevent_open();
	if (events < 0)
		log_debug("no uevents (%s): scanning every %d ms", strerror(-events), POLL_NO_EVENTS_MS);
	for (;;) {
		bool deep = monotonic_ms() >= next_deep;
		if (deep)
			next_deep = monotonic_ms() + DEEP_MS;
		found = want == WANT_NAME ? try_named(cfg, m, &last_err) == 0 : scan_once(cfg, want, m, deep);
		if (found || (!cfg->rootwait && monotonic_ms() >= deadline))
			break;
		if (!announced) {
			log_begin("Waiting for %s", describe(cfg, want));
			announced = true;
		}
		wait_for_block(events, events >= 0 ? POLL_MS : POLL_NO_EVENTS_MS);
	}
	if (events >= 0)
		close(events);
	if (announced)
		log_done(found ? "found" : "not found");
	if (found)
		return 0;
	if (want == WANT_NAME)
		return s1_fail(err, "unable to open root device %s: %s (waited %d s; rootdelay= waits longer)",
			       cfg->root, strerror(last_err), cfg->rootdelay);
	return s1_fail(err, "unable to find %s among the block devices (waited %d s; rootdelay= waits longer)",
		       describe(cfg, want), cfg->rootdelay);
}

void medium_release(const struct medium *m)
{
	if (umount(MEDIUM_DIR) < 0)
		log_warn("unable to release the medium %s from %s: %s", m->dev, MEDIUM_DIR, strerror(errno));
	else
		findiso_release();
}
