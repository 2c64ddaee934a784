/* findiso=/PATH/file.iso: the medium is an ISO file on some filesystem (a multiboot USB stick, GRUB's
 * loopback).  Search the block devices and partitions (only the one root= names, when it names one) for a
 * filesystem holding PATH, keep it mounted read-only at FINDISO_DIR, attach the ISO to a loop device and
 * hand that on as the medium.  The partition is unmounted at shutdown like any other mount, or right away
 * when toram released the ISO. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "stage1/stage1.h"

#define PASS_MS 250

/* The ISO's loop fd stays open until the ISO is mounted or released: with autoclear, closing it earlier
 * would detach the loop device.  O_CLOEXEC closes it at the latest when stage 2 starts. */
static int iso_loopfd = -1;

static bool searchable(enum fs_type t)
{
	return t == FS_EXT2 || t == FS_EXT3 || t == FS_EXT4 || t == FS_VFAT || t == FS_ISO9660 || t == FS_BTRFS ||
	       t == FS_XFS;
}

static bool root_names(const struct live_config *cfg, const char *dev, const struct probe_result *p)
{
	if (!cfg->root[0])
		return true;
	if (!strncmp(cfg->root, "LABEL=", 6))
		return !strcmp(p->label, cfg->root + 6);
	if (!strncmp(cfg->root, "UUID=", 5))
		return !strcasecmp(p->uuid, cfg->root + 5);
	return !strcmp(cfg->root, dev);
}

/* Mount dev read-only and look for the file; on success the partition stays mounted.  A device that
 * cannot be mounted gets the reason next to its name in the failure message (note). */
static bool holds_iso(const struct live_config *cfg, const char *dev, const struct probe_result *p, char *note,
		      size_t nsize)
{
	struct s1_error err;
	const char *type = fs_type_name(p->type);
	if (module_need_fs(type, &err) < 0 || mount_fs(dev, FINDISO_DIR, type, MS_RDONLY, NULL, &err) < 0) {
		snprintf(note, nsize, " (%s: %s)", type, err.msg);
		return false;
	}
	char path[600];
	snprintf(path, sizeof path, "%s%s", FINDISO_DIR, cfg->findiso);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return true;
	if (umount(FINDISO_DIR) < 0)
		log_warn("findiso: unable to unmount %s (%s) from %s: %s", dev, type, FINDISO_DIR, strerror(errno));
	return false;
}

/* One pass; searched collects the device names for the failure message. */
static bool search_once(const struct live_config *cfg, char *found, size_t size, char *searched, size_t ssize)
{
	DIR *d = opendir("/sys/class/block");
	bool ok = false;
	searched[0] = '\0';
	for (struct dirent *e; d && !ok && (e = readdir(d));) {
		char dev[300];
		struct probe_result p;
		if (media_probe(e->d_name, dev, sizeof dev, &p) < 0 || !searchable(p.type) ||
		    !root_names(cfg, dev, &p))
			continue;
		char note[600] = "";
		bool hit = holds_iso(cfg, dev, &p, note, sizeof note);
		size_t used = strlen(searched);
		snprintf(searched + used, ssize - used, "%s%s%s", used ? " " : "", dev, note);
		if (hit) {
			snprintf(found, size, "%s", dev);
			ok = true;
		}
	}
	if (d)
		closedir(d);
	return ok;
}

int findiso_find(const struct live_config *cfg, struct medium *m, struct s1_error *err)
{
	char part[300], searched[1500], iso[600];
	int64_t deadline = monotonic_ms() + (int64_t)cfg->rootdelay * 1000;
	bool announced = false, found;
	while (!(found = search_once(cfg, part, sizeof part, searched, sizeof searched)) &&
	       (cfg->rootwait || monotonic_ms() < deadline)) {
		if (!announced)
			log_begin("Waiting for a filesystem holding %s", cfg->findiso);
		announced = true;
		usleep(PASS_MS * 1000);
	}
	if (announced)
		log_done(found ? "found" : "not found");
	if (!found)
		return s1_fail(err, "findiso: %s not found on %s (waited %d s; rootdelay= waits longer)", cfg->findiso,
			       searched[0] ? searched : "any device (none with a filesystem to search)", cfg->rootdelay);
	snprintf(iso, sizeof iso, "%s%s", FINDISO_DIR, cfg->findiso);
	iso_loopfd = loop_attach(iso, false, m->dev, sizeof m->dev, err);
	if (iso_loopfd < 0)
		return -1;
	int rc = probe_path(m->dev, &m->probe);
	if (rc < 0)
		return s1_fail(err, "unable to read %s (%s on %s): %s", m->dev, cfg->findiso, part, strerror(-rc));
	log_step("Found %s on %s, attached to %s", cfg->findiso, part, m->dev);
	return 0;
}

void findiso_release(void)
{
	if (iso_loopfd < 0)
		return;
	close(iso_loopfd); /* the loop detaches now that nothing holds it */
	iso_loopfd = -1;
	/* The detach completes just after the close: give it a moment before the partition is free. */
	int rc;
	for (int i = 0; (rc = umount(FINDISO_DIR)) < 0 && errno == EBUSY && i < 100; i++)
		usleep(10000);
	if (rc < 0)
		log_warn("findiso: unable to release %s: %s (it is unmounted at shutdown)", FINDISO_DIR, strerror(errno));
}
