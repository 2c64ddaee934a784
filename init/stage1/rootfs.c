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
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "stage1/stage1.h"

/* First *.squashfs (in name order) in dir. */
static int find_squashfs(const char *dir, char *out, size_t size, struct s1_error *err)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return s1_fail(err, "unable to read live-media-path %s on the medium: %s", dir, strerror(errno));
	int found = -1;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (found < 0 && len > 9 && !strcmp(names[i]->d_name + len - 9, ".squashfs")) {
			snprintf(out, size, "%s/%s", dir, names[i]->d_name);
			found = i;
		}
		free(names[i]);
	}
	free(names);
	if (found < 0)
		return s1_fail(err, "no *.squashfs in %s on the medium", dir);
	return 0;
}

/* The writable layer: tmpfs upper and work, overlay at NEWROOT. */
static int mount_overlay(struct s1_error *err)
{
	if (module_need_fs("overlay", err) < 0 ||
	    mount_fs("tmpfs", OVERLAY_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", err) < 0)
		return -1;
	if (mkdir(OVERLAY_DIR "/upper", 0755) < 0 || mkdir(OVERLAY_DIR "/work", 0755) < 0)
		return s1_fail(err, "unable to create %s/upper and work: %s", OVERLAY_DIR, strerror(errno));
	char opts[1200];
	if (!persistence_root_options(ROOTFS_DIR, opts, sizeof opts))
		snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", ROOTFS_DIR, OVERLAY_DIR,
			 OVERLAY_DIR);
	return mount_fs("overlay", NEWROOT, "overlay", 0, opts, err);
}

static int mount_squashfs(const char *dev, struct s1_error *err)
{
	if (module_need_fs("squashfs", err) < 0)
		return -1;
	return mount_fs(dev, ROOTFS_DIR, "squashfs", MS_RDONLY, NULL, err);
}

static int mount_iso(const struct live_config *cfg, const struct medium *m, struct s1_error *err)
{
	char dir[512], sq[768], ram[768], loop[64];
	if (module_need_fs("iso9660", err) < 0 || mount_fs(m->dev, MEDIUM_DIR, "iso9660", MS_RDONLY, NULL, err) < 0)
		return -1;
	snprintf(dir, sizeof dir, "%s%s", MEDIUM_DIR, cfg->media_path);
	if (cfg->toram_file[0]) {
		snprintf(sq, sizeof sq, "%s/%s", dir, cfg->toram_file);
		if (access(sq, R_OK) < 0)
			return s1_fail(err, "toram=%s: unable to read %s: %s", cfg->toram_file, sq, strerror(errno));
	} else if (find_squashfs(dir, sq, sizeof sq, err) < 0) {
		return -1;
	}
	if (cfg->check) {
		log_begin("Checking %s", sq + strlen(MEDIUM_DIR));
		if (media_check(sq, err) < 0) {
			log_done("FAILED");
			return -1;
		}
		log_done("ok");
	}
	const char *image = sq;
	bool copied = false;
	if (cfg->toram) {
		int rc = toram_copy(cfg, sq, sq + strlen(MEDIUM_DIR), ram, sizeof ram, err);
		if (rc < 0)
			return -1;
		if (rc > 0)
			log_warn("%s", err->msg); /* does not fit in RAM: boot from the medium */
		copied = rc == 0;
		image = copied ? ram : sq;
	}
	int loopfd = loop_attach(image, false, loop, sizeof loop, err);
	if (loopfd < 0)
		return -1;
	int rc = mount_squashfs(loop, err);
	close(loopfd);
	if (rc < 0)
		return -1;
	if (copied)
		medium_release(m);
	log_step("Mounted %s from %s (%s) read-only", image + (copied ? 0 : strlen(MEDIUM_DIR)), m->dev,
		 m->probe.label[0] ? m->probe.label : "iso9660");
	return mount_overlay(err);
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
		if (mount_squashfs(m->dev, err) < 0)
			return -1;
		log_step("Mounted %s (squashfs) read-only", m->dev);
		return mount_overlay(err);
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
	char loop[64], sq[768], dir[512];
	size_t len = strlen(image);
	bool iso = len > 4 && !strcasecmp(image + len - 4, ".iso");
	const char *squash = image;
	int isofd = -1;
	if (iso) {   /* the squashfs inside the ISO, as from a CD */
		isofd = loop_attach(image, false, loop, sizeof loop, err);
		if (isofd < 0)
			return -1;
		int rc = module_need_fs("iso9660", err) < 0 ? -1 : mount_fs(loop, MEDIUM_DIR, "iso9660", MS_RDONLY, NULL, err);
		close(isofd);
		if (rc < 0)
			return -1;
		snprintf(dir, sizeof dir, "%s%s", MEDIUM_DIR, cfg->media_path);
		if (find_squashfs(dir, sq, sizeof sq, err) < 0)
			return -1;
		squash = sq;
	}
	int loopfd = loop_attach(squash, false, loop, sizeof loop, err);
	if (loopfd < 0)
		return -1;
	int rc = mount_squashfs(loop, err);
	close(loopfd);
	if (rc < 0)
		return -1;
	log_step("Mounted %s (fetched) read-only", iso ? squash : image);
	return mount_overlay(err);
}
