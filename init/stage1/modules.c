/* Kernel modules from the initrd: /lib/modules/<release>/ holds the .ko files mkinitrd packed, a trimmed
 * modules.dep, modules.builtin, and liveinit.load (the modules to load at start, one name a line). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/log.h"
#include "common/moddep.h"
#include "common/modload.h"
#include "stage1/stage1.h"

static void module_dir(char *buf, size_t size)
{
	struct utsname u;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof u.release, "unknown");
	snprintf(buf, size, "/lib/modules/%s", u.release);
}

/* Insert one file; "already loaded" and "no such device here" are not errors (common/modload.h). */
static int insert(const char *dir, const char *rel, struct s1_error *err)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	/* Asynchronous probing: the next modules load while this one's devices are probed; media_find() then
	 * polls for the device as it does for slow drives. */
	int rc = modload_file(path, MODLOAD_ASYNC_PROBE);
	switch (modload_outcome(rc)) {
	case MODLOAD_FAILED:
		return s1_fail(err, "unable to load module %s: %s", path, strerror(-rc));
	case MODLOAD_NO_DEVICE:
		log_debug("module %s: no such device here", path);
		return 0;
	default:
		log_debug("loaded %s", path);
		return 0;
	}
}

/* Resolve name against an already read modules.dep and insert it, dependencies first. */
static int load_resolved(const struct moddep *md, const char *dir, const char *name, struct s1_error *err)
{
	struct modlist list = {0};
	enum moddep_status st = moddep_resolve(md, name, &list);
	int rc = 0;
	if (st == MODDEP_MISSING)
		rc = s1_fail(err, "unable to load module %s: not in %s/modules.dep (not packed into this initrd)",
			     name, dir);
	else if (st < 0)
		rc = s1_fail(err, "unable to load module %s: broken dependencies in %s/modules.dep", name, dir);
	for (size_t i = 0; rc == 0 && i < list.n; i++)
		rc = insert(dir, list.paths[i], err);
	modlist_free(&list);
	return rc;
}

/* Resolve name against the initrd's modules.dep and insert it, dependencies first. */
static int load(const char *name, struct s1_error *err)
{
	char dir[320], failed[512];
	module_dir(dir, sizeof dir);
	struct moddep md;
	int rc = moddep_load(&md, dir, failed, sizeof failed);
	if (rc < 0)
		return s1_fail(err, "unable to load module %s: cannot read %s: %s", name, failed, strerror(-rc));
	rc = load_resolved(&md, dir, name, err);
	moddep_free(&md);
	return rc;
}

/* The modules listed in liveinit.load, against one reading of modules.dep; failures only warn. */
void modules_load_initial(void)
{
	char dir[320], path[400], failed[512], line[128];
	module_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/liveinit.load", dir);
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			log_warn("unable to read %s: %s", path, strerror(errno));
		return;
	}
	struct moddep md;
	int rc = moddep_load(&md, dir, failed, sizeof failed);
	if (rc < 0)
		log_warn("unable to load the initial modules: cannot read %s: %s", failed, strerror(-rc));
	while (rc == 0 && fgets(line, sizeof line, f)) {
		line[strcspn(line, " \t\r\n#")] = '\0';
		struct s1_error err;
		if (line[0] && load_resolved(&md, dir, line, &err) < 0)
			log_warn("%s", err.msg);
	}
	if (rc == 0)
		moddep_free(&md);
	fclose(f);
}

/* Is fstype already known to the kernel (built in or loaded)? */
static bool fs_available(const char *fstype)
{
	FILE *f = fopen("/proc/filesystems", "re");
	if (!f)
		return false;
	char line[128];
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		char *name = strchr(line, '\t');
		name = name ? name + 1 : line;
		name[strcspn(name, "\n")] = '\0';
		found = !strcmp(name, fstype);
	}
	fclose(f);
	return found;
}

int module_need_fs(const char *fstype, struct s1_error *err)
{
	if (fs_available(fstype))
		return 0;
	/* Some filesystems ask for more at mount time, through a modprobe we do not have: vfat its code page
	 * and charset (nls_*), ext4 its checksum (crc32c).  Load them first; those the initrd lacks or the
	 * kernel has built in are skipped. */
	static const struct {
		const char *fs, *mod;
	} soft[] = {
		{"vfat", "nls_cp437"}, {"vfat", "nls_ascii"}, {"vfat", "nls_iso8859-1"}, {"vfat", "nls_utf8"},
		{"ext2", "crc32c_generic"}, {"ext3", "crc32c_generic"}, {"ext4", "crc32c_generic"},
	};
	for (size_t i = 0; i < sizeof soft / sizeof soft[0]; i++) {
		struct s1_error ignored;
		if (!strcmp(fstype, soft[i].fs))
			load(soft[i].mod, &ignored);
	}
	/* The module names differ from the filesystem names only here. */
	const char *mod = !strcmp(fstype, "iso9660") ? "isofs" : !strcmp(fstype, "ext2") ||
			  !strcmp(fstype, "ext3") ? "ext4" : fstype;
	if (load(mod, err) < 0)
		return -1;
	if (!fs_available(fstype) && !(strcmp(mod, "ext4") == 0 && fs_available("ext4")))
		return s1_fail(err, "module %s loaded but the kernel still has no %s filesystem", mod, fstype);
	return 0;
}

int module_need_loop(struct s1_error *err)
{
	if (access("/dev/loop-control", F_OK) == 0)
		return 0;
	if (load("loop", err) < 0)
		return -1;
	/* devtmpfs creates the node as the driver registers; wait briefly for it. */
	for (int i = 0; i < 1000 && access("/dev/loop-control", F_OK) < 0; i++)
		usleep(1000);
	if (access("/dev/loop-control", F_OK) < 0)
		return s1_fail(err, "loop driver loaded but /dev/loop-control did not appear: %s", strerror(errno));
	return 0;
}
