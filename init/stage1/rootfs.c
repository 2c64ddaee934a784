/* Mount the root at NEWROOT:
 *   ISO 9660  -> medium read-only, loop the squashfs read-only, overlay with a tmpfs upper;
 *   squashfs  -> the device itself read-only, overlay as above;
 *   ext2/3/4  -> the device as the root directly (a COW file in UML keeps the base image clean).
 * Lower and upper stay visible under /run/live/ after the switch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "stage1/stage1.h"

/* Every *.squashfs in dir, in name order (live-build's filesystem.squashfs plus any add-ons). */
#define MAX_LAYERS 8
struct layers {
	int n;
	char path[MAX_LAYERS][768];
};

static int find_squashfs(const char *dir, struct layers *l, struct s1_error *err)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return s1_fail(err, "unable to read live-media-path %s on the medium: %s", dir, strerror(errno));
	l->n = 0;
	bool too_many = false;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (len > 9 && !strcmp(names[i]->d_name + len - 9, ".squashfs")) {
			if (l->n < MAX_LAYERS)
				snprintf(l->path[l->n++], sizeof l->path[0], "%s/%s", dir, names[i]->d_name);
			else
				too_many = true;
		}
		free(names[i]);
	}
	free(names);
	if (too_many)
		return s1_fail(err, "more than %d *.squashfs in %s on the medium", MAX_LAYERS, dir);
	if (l->n == 0)
		return s1_fail(err, "no *.squashfs in %s on the medium", dir);
	return 0;
}

/* The writable layer: tmpfs upper and work, overlay at NEWROOT over lowerdir (the top layer first). */
static int mount_overlay(const char *lowerdir, struct s1_error *err)
{
	if (module_need_fs("overlay", err) < 0 ||
	    mount_fs("tmpfs", OVERLAY_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", err) < 0)
		return -1;
	if (mkdir(OVERLAY_DIR "/upper", 0755) < 0 || mkdir(OVERLAY_DIR "/work", 0755) < 0)
		return s1_fail(err, "unable to create %s/upper and work: %s", OVERLAY_DIR, strerror(errno));
	char data[MAX_LAYERS * 300 + 1200];
	if (persistence_root_options(lowerdir, data, sizeof data))
		return mount_fs("overlay", NEWROOT, "overlay", 0, data, err);
	if (snprintf(data, sizeof data, "lowerdir=%s,upperdir=" OVERLAY_DIR "/upper,workdir=" OVERLAY_DIR "/work",
		     lowerdir) >= (int)sizeof data)
		return s1_fail(err, "overlay: too many or too long lower layers");
	return mount_fs("overlay", NEWROOT, "overlay", 0, data, err);
}

static int mount_squashfs(const char *dev, const char *dir, struct s1_error *err)
{
	if (module_need_fs("squashfs", err) < 0)
		return -1;
	return mount_fs(dev, dir, "squashfs", MS_RDONLY, NULL, err);
}

/* One squashfs image as a lower layer at dir: checked (check), copied to RAM when it fits (toram), looped
 * read-only.  *copied says whether this layer now lives in RAM. */
static int mount_layer(const struct live_config *cfg, const struct medium *m, const char *sq, const char *dir,
		       bool *copied, struct s1_error *err)
{
	char ram[768], loop[64];
	if (cfg->check) {
		log_begin("Checking %s", sq + strlen(MEDIUM_DIR));
		if (media_check(sq, err) < 0) {
			log_done("FAILED");
			return -1;
		}
		log_done("ok");
	}
	const char *image = sq;
	*copied = false;
	if (cfg->toram) {
		int rc = toram_copy(cfg, sq, sq + strlen(MEDIUM_DIR), ram, sizeof ram, err);
		if (rc < 0)
			return -1;
		if (rc > 0)
			log_warn("%s", err->msg); /* does not fit in RAM: boot from the medium */
		*copied = rc == 0;
		image = *copied ? ram : sq;
	}
	int loopfd = loop_attach(image, false, loop, sizeof loop, err);
	if (loopfd < 0)
		return -1;
	int rc = mount_squashfs(loop, dir, err);
	close(loopfd);
	if (rc < 0)
		return -1;
	log_step("Mounted %s from %s (%s) read-only", image + (*copied ? 0 : strlen(MEDIUM_DIR)), m->dev,
		 m->probe.label[0] ? m->probe.label : "iso9660");
	return 0;
}

#define LAYER_DIR LIVE_DIR "/layer"
/* Every layer of l: the first at ROOTFS_DIR, add-ons at LAYER_DIR/NAME; lowerdir gets the overlay's lower list
 * (as live-boot stacks them, a later name lies above an earlier one); all_copied: every layer went to RAM. */
static int mount_layers(const struct live_config *cfg, const struct medium *m, const struct layers *l, char *lowerdir,
			size_t size, bool *all_copied, struct s1_error *err)
{
	*all_copied = true;
	lowerdir[0] = '\0';
	for (int i = 0; i < l->n; i++) {
		char at[300];
		bool copied;
		if (i == 0)
			snprintf(at, sizeof at, "%s", ROOTFS_DIR);
		else
			snprintf(at, sizeof at, "%s/%.200s", LAYER_DIR, strrchr(l->path[i], '/') + 1);
		if (mount_layer(cfg, m, l->path[i], at, &copied, err) < 0)
			return -1;
		*all_copied = *all_copied && copied;
		char prev[MAX_LAYERS * 300];
		snprintf(prev, sizeof prev, "%s", lowerdir);
		if (snprintf(lowerdir, size, "%s%s%s", at, i ? ":" : "", prev) >= (int)size)
			return s1_fail(err, "overlay: the lower layers' paths are too long");
	}
	return 0;
}

static int mount_iso(const struct live_config *cfg, const struct medium *m, struct s1_error *err)
{
	char dir[512], lowerdir[MAX_LAYERS * 300] = "";
	struct layers l;
	if (module_need_fs("iso9660", err) < 0 || mount_fs(m->dev, MEDIUM_DIR, "iso9660", MS_RDONLY, NULL, err) < 0)
		return -1;
	snprintf(dir, sizeof dir, "%s%s", MEDIUM_DIR, cfg->media_path);
	if (cfg->toram_file[0]) { /* toram=FILE: that image alone */
		l.n = 1;
		snprintf(l.path[0], sizeof l.path[0], "%s/%s", dir, cfg->toram_file);
		if (access(l.path[0], R_OK) < 0)
			return s1_fail(err, "toram=%s: unable to read %s: %s", cfg->toram_file, l.path[0], strerror(errno));
	} else if (find_squashfs(dir, &l, err) < 0) {
		return -1;
	}
	bool all_copied;
	if (mount_layers(cfg, m, &l, lowerdir, sizeof lowerdir, &all_copied, err) < 0)
		return -1;
	if (cfg->toram && all_copied)
		medium_release(m);
	return mount_overlay(lowerdir, err);
}

static int mount_disk(const struct live_config *cfg, const struct medium *m, struct s1_error *err)
{
	const char *type = fs_type_name(m->probe.type);
	unsigned long flags = cfg->root_mode == ROOT_MODE_RO ? MS_RDONLY : 0;
	if (module_need_fs(type, err) < 0 || mount_fs(m->dev, NEWROOT, type, flags, NULL, err) < 0)
		return -1;
	log_step("Mounted %s (%s) on / %s", m->dev, type, flags ? "read-only" : "read-write");
	return 0;
}

int rootfs_mount(const struct live_config *cfg, const struct medium *m, struct s1_error *err)
{
	int r = mkdir_p(LIVE_DIR, 0755);
	if (r < 0)
		return s1_fail(err, "unable to create %s: %s", LIVE_DIR, strerror(-r));
	switch (m->probe.type) {
	case FS_ISO9660:
		return mount_iso(cfg, m, err);
	case FS_SQUASHFS:
		if (mount_squashfs(m->dev, ROOTFS_DIR, err) < 0)
			return -1;
		log_step("Mounted %s (squashfs) read-only", m->dev);
		return mount_overlay(ROOTFS_DIR, err);
	case FS_EXT2:
	case FS_EXT3:
	case FS_EXT4:
		return mount_disk(cfg, m, err);
	default:
		return s1_fail(err, "unable to use root device %s: %s%s", m->dev,
			       m->probe.type == FS_UNKNOWN ? "no filesystem recognised"
							   : "unsupported filesystem for a root: ",
			       m->probe.type == FS_UNKNOWN ? "" : fs_type_name(m->probe.type));
	}
}

int rootfs_mount_image(const struct live_config *cfg, const char *image, struct s1_error *err)
{
	char loop[64], dir[512], lowerdir[MAX_LAYERS * 300] = "";
	size_t len = strlen(image);
	bool iso = len > 4 && !strcasecmp(image + len - 4, ".iso");
	if (!iso) {
		int loopfd = loop_attach(image, false, loop, sizeof loop, err);
		if (loopfd < 0)
			return -1;
		int rc = mount_squashfs(loop, ROOTFS_DIR, err);
		close(loopfd);
		if (rc < 0)
			return -1;
		log_step("Mounted %s (fetched) read-only", image);
		return mount_overlay(ROOTFS_DIR, err);
	}
	/* The squashfs images inside the ISO, as from a CD: every layer of live-media-path (the ISO was verified
	 * whole and is in RAM already: no check, no toram). */
	int isofd = loop_attach(image, false, loop, sizeof loop, err);
	if (isofd < 0)
		return -1;
	int rc = module_need_fs("iso9660", err) < 0 ? -1 : mount_fs(loop, MEDIUM_DIR, "iso9660", MS_RDONLY, NULL, err);
	close(isofd);
	if (rc < 0)
		return -1;
	snprintf(dir, sizeof dir, "%s%s", MEDIUM_DIR, cfg->media_path);
	struct layers l;
	if (find_squashfs(dir, &l, err) < 0)
		return -1;
	struct live_config plain = *cfg;
	plain.check = plain.toram = false;
	struct medium fetched = {.probe = {.type = FS_ISO9660}};
	snprintf(fetched.dev, sizeof fetched.dev, "%s", loop);
	snprintf(fetched.probe.label, sizeof fetched.probe.label, "fetched");
	bool all_copied;
	if (mount_layers(&plain, &fetched, &l, lowerdir, sizeof lowerdir, &all_copied, err) < 0)
		return -1;
	return mount_overlay(lowerdir, err);
}
