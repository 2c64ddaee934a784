/* Persistence, as live-boot names it: a filesystem labelled "persistence" (persistence-label=) on any block
 * device, or a file of that name at the root of a partition, holding persistence.conf.  "/ union" puts the
 * root overlay's upper and work directories on it (<fs>/rw, <fs>/work); "DIR [bind]" bind-mounts <fs>/DIR on
 * DIR; "DIR union" overlays DIR with <fs>/DIR/rw.  persistence-read-only mounts it read-only and keeps every
 * write in RAM.  Nothing here is fatal: a persistence that cannot be used is named in one line and the boot
 * goes on in RAM, with the persistence filesystem untouched. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/mountinfo.h"
#include "stage1/persistconf.h"
#include "stage1/stage1.h"

#define PERSIST_DIR LIVE_DIR "/persistence"
#define PERSIST_HOST_DIR LIVE_DIR "/persistence-host"
#define CONF_MAX 8192

static struct {
	bool active, ro;
	char dev[400];   /* what holds it: /dev/ubdb, or the file on its partition */
	char mnt[300];   /* PERSIST_DIR/<label> */
	struct pconf conf;
} P;

/* ext2/3/4 superblock: s_state at 58 (bit 0 cleanly unmounted, bit 1 errors), s_feature_incompat at 96
 * (bit 2: the journal needs replaying, which the kernel does itself at mount).  The kernel mounts a dirty
 * or erroneous ext filesystem with only a warning in dmesg; we refuse it instead. */
static const char *ext_needs_fsck(const char *dev, bool ro)
{
	unsigned char sb[1024];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "cannot be opened";
	ssize_t n = pread(fd, sb, sizeof sb, 1024);
	close(fd);
	if (n != (ssize_t)sizeof sb || sb[56] != 0x53 || sb[57] != 0xef)
		return "has no readable ext superblock";
	unsigned state = sb[58] | sb[59] << 8;
	uint32_t incompat = sb[96] | sb[97] << 8 | sb[98] << 16 | (uint32_t)sb[99] << 24;
	if (state & 2)
		return "has errors recorded";
	if (!(state & 1) && !(incompat & 4))
		return "was not cleanly unmounted";
	if (ro && (incompat & 4)) /* replaying it would write: a read-only mount would not be read-only */
		return "has a journal to replay, which persistence-read-only does not do";
	return NULL;
}

/* Mount a persistence filesystem (a device, or a loop over a file) at P.mnt; false + one warning line. */
static bool mount_persistence(const char *dev, const char *shown, const struct probe_result *p)
{
	struct s1_error err;
	const char *type = fs_type_name(p->type);
	switch (p->type) {
	case FS_EXT2:
	case FS_EXT3:
	case FS_EXT4: {
		const char *why = ext_needs_fsck(dev, P.ro);
		if (why) {
			log_warn("persistence %s (%s) %s: run e2fsck on it; continuing without persistence", shown,
				 type, why);
			return false;
		}
		break;
	}
	case FS_BTRFS:
	case FS_XFS:
		break; /* they check themselves at mount */
	default:
		log_warn("persistence %s holds %s: overlay needs ext2/3/4, btrfs or xfs; continuing without persistence",
			 shown, type);
		return false;
	}
	snprintf(P.mnt, sizeof P.mnt, "%s/%s", PERSIST_DIR, p->label[0] ? p->label : "persistence");
	unsigned long flags = MS_NOATIME | MS_NODEV | MS_NOSUID | (P.ro ? MS_RDONLY : 0);
	if (module_need_fs(type, &err) < 0 || mount_fs(dev, P.mnt, type, flags, NULL, &err) < 0) {
		log_warn("persistence %s: %s; continuing without persistence", shown, err.msg);
		return false;
	}
	return true;
}

/* Undo a mount of ours; a failure is reported (the mount then stays until shutdown unmounts it). */
static void unmount(const char *dir)
{
	if (umount(dir) < 0 && errno != EINVAL) /* EINVAL: nothing mounted there */
		log_warn("persistence: unable to unmount %s: %s", dir, strerror(errno));
}

static bool mounted(const struct mount_table *t, const char *dev)
{
	for (size_t i = 0; i < t->count; i++)
		if (!strcmp(t->entries[i].source, dev))
			return true;
	return false;
}

/* A device we may look at: not the medium, nothing already mounted (the medium, the findiso partition):
 * mounting a second, writable instance of a filesystem mounted elsewhere would corrupt it. */
static bool usable(const char *dev, const struct medium *m, const struct mount_table *t)
{
	return strcmp(dev, m->dev) && !mounted(t, dev);
}

/* Pass 1: a filesystem labelled with the persistence label. */
static bool find_labelled(const struct live_config *cfg, const struct medium *m, const struct mount_table *t)
{
	DIR *d = opendir("/sys/class/block");
	bool found = false;
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		char dev[300];
		struct probe_result p;
		if (media_probe(e->d_name, dev, sizeof dev, &p) < 0 || strcmp(p.label, cfg->persistence_label))
			continue;
		bool medium = p.type == FS_ISO9660 || p.type == FS_SQUASHFS; /* a hybrid ISO's partition too */
		if (usable(dev, m, t) && !medium) {
			snprintf(P.dev, sizeof P.dev, "%s", dev);
			found = mount_persistence(dev, dev, &p);
		} else if (!P.dev[0]) { /* one line, not one per partition of the same medium */
			snprintf(P.dev, sizeof P.dev, "%s", dev);
			log_warn("persistence %s: it holds a live medium or is mounted already; not used", dev);
		}
	}
	if (d)
		closedir(d);
	return found;
}

/* Pass 2: a file named like the label at the root of a partition: the partition is mounted (read-write
 * unless persistence-read-only) under PERSIST_HOST_DIR and the file attached to a loop device. */
static bool find_file_on(const struct live_config *cfg, const char *dev, const struct probe_result *p)
{
	struct s1_error err;
	const char *type = fs_type_name(p->type);
	if (module_need_fs(type, &err) < 0 || mount_fs(dev, PERSIST_HOST_DIR, type, MS_RDONLY, NULL, &err) < 0)
		return false;
	char file[400];
	snprintf(file, sizeof file, "%s/%s", PERSIST_HOST_DIR, cfg->persistence_label);
	struct stat st;
	if (stat(file, &st) < 0 || !S_ISREG(st.st_mode)) {
		unmount(PERSIST_HOST_DIR);
		return false;
	}
	snprintf(P.dev, sizeof P.dev, "%.300s:/%.64s", dev, cfg->persistence_label);
	if (!P.ro && mount(dev, PERSIST_HOST_DIR, type, MS_REMOUNT | MS_NOATIME, NULL) < 0) {
		log_warn("persistence %s: unable to remount %s read-write: %s; continuing without persistence", P.dev,
			 dev, strerror(errno));
		unmount(PERSIST_HOST_DIR);
		return false;
	}
	char loop[64];
	int fd = loop_attach(file, !P.ro, loop, sizeof loop, &err);
	struct probe_result lp;
	bool ok = fd >= 0 && probe_path(loop, &lp) == 0 && mount_persistence(loop, P.dev, &lp);
	if (fd < 0)
		log_warn("persistence %s: %s; continuing without persistence", P.dev, err.msg);
	if (fd >= 0)
		close(fd); /* autoclear: the loop lives as long as the mount on it */
	if (!ok)
		unmount(PERSIST_HOST_DIR);
	return ok;
}

static bool find_file(const struct live_config *cfg, const struct medium *m, const struct mount_table *t)
{
	DIR *d = opendir("/sys/class/block");
	bool found = false;
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		char dev[300];
		struct probe_result p;
		if (media_probe(e->d_name, dev, sizeof dev, &p) < 0 || !usable(dev, m, t))
			continue;
		if (p.type == FS_EXT2 || p.type == FS_EXT3 || p.type == FS_EXT4 || p.type == FS_VFAT ||
		    p.type == FS_BTRFS || p.type == FS_XFS)
			found = find_file_on(cfg, dev, &p);
	}
	if (d)
		closedir(d);
	return found;
}

static bool read_conf(void)
{
	char path[400], why[200], *text;
	size_t len;
	snprintf(path, sizeof path, "%s/persistence.conf", P.mnt);
	int rc = file_read(path, &text, &len);
	if (rc < 0) {
		log_warn("persistence %s: unable to read persistence.conf: %s (write \"/ union\" in it to keep every "
			 "change); continuing without persistence", P.dev, strerror(-rc));
		return false;
	}
	rc = len > CONF_MAX ? -1 : pconf_parse(text, &P.conf, why, sizeof why);
	free(text);
	if (rc < 0) {
		log_warn("persistence %s: persistence.conf %s; continuing without persistence", P.dev,
			 len > CONF_MAX ? "is larger than 8 KiB" : why);
		return false;
	}
	return true;
}

static void release(void)
{
	unmount(P.mnt);
	unmount(PERSIST_HOST_DIR); /* only mounted for a persistence file (EINVAL otherwise) */
	P.active = false;
}

void persistence_setup(const struct live_config *cfg, const struct medium *m)
{
	if (!cfg->persistence)
		return;
	if (m->probe.type != FS_ISO9660 && m->probe.type != FS_SQUASHFS) {
		/* an ext root is mounted read-write itself (in UML through its COW file): nothing to overlay */
		log_warn("persistence: the root %s (%s) is not a live medium and keeps its own changes; ignored", m->dev,
			 fs_type_name(m->probe.type));
		return;
	}
	P.ro = cfg->persistence_ro;
	modules_settle(); /* the other disks' drivers: stage 1 found the medium without waiting for them */
	struct mount_table t;
	if (mountinfo_read("/proc/self/mountinfo", &t) < 0) {
		log_warn("persistence: unable to read /proc/self/mountinfo; continuing without persistence");
		return;
	}
	bool found = find_labelled(cfg, m, &t) || find_file(cfg, m, &t);
	mountinfo_free(&t);
	/* A file on findiso's partition: that partition is mounted read-only, and a second, writable mount of
	 * the same filesystem is what would corrupt it. */
	char onfindiso[400];
	snprintf(onfindiso, sizeof onfindiso, "%s/%s", FINDISO_DIR, cfg->persistence_label);
	if (!found && !P.dev[0] && access(onfindiso, F_OK) == 0) {
		log_warn("persistence: %s is on the partition holding the findiso ISO, which stays read-only; not used",
			 onfindiso);
		return;
	}
	if (!found) {
		if (!P.dev[0])
			log_warn("persistence: no filesystem labelled %s and no file %s at the root of a partition; "
				 "continuing without persistence", cfg->persistence_label, cfg->persistence_label);
		return;
	}
	if (!read_conf()) {
		release();
		return;
	}
	P.active = true;
	log_step("Persistence on %s (%d entr%s)%s", P.dev, P.conf.n, P.conf.n == 1 ? "y" : "ies",
		 P.ro ? ", read-only: changes stay in RAM" : "");
}

/* mkdir -p each of the NULL-terminated paths; the first failure goes to err with its path. */
static int make_dirs(struct s1_error *err, const char *const *paths)
{
	for (; *paths; paths++) {
		int r = mkdir_p(*paths, 0755);
		if (r < 0)
			return s1_fail(err, "unable to create %s: %s", *paths, strerror(-r));
	}
	return 0;
}

static const struct pconf_entry *root_union(void)
{
	for (int i = 0; P.active && i < P.conf.n; i++)
		if (!strcmp(P.conf.e[i].dir, "/"))
			return &P.conf.e[i];
	return NULL;
}

/* <P.mnt><source><suffix>: the persistence side of an entry. */
static void source_path(const struct pconf_entry *e, const char *suffix, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", P.mnt, strcmp(e->source, "/") ? e->source : "", suffix);
}

bool persistence_root_options(const char *lowers, char *opts, size_t size)
{
	const struct pconf_entry *e = root_union();
	if (!e)
		return false;
	char rw[512], work[512];
	source_path(e, "/rw", rw, sizeof rw);
	source_path(e, "/work", work, sizeof work);
	if (P.ro) { /* the saved changes as the top lower layer, today's writes in the tmpfs */
		if (access(rw, F_OK) < 0)
			return false;
		snprintf(opts, size, "lowerdir=%s:%s,upperdir=" OVERLAY_DIR "/upper,workdir=" OVERLAY_DIR "/work", rw,
			 lowers);
		return true;
	}
	struct s1_error err;
	if (make_dirs(&err, (const char *const[]){rw, work, NULL}) < 0) {
		log_warn("persistence %s: %s; the root's changes stay in RAM", P.dev, err.msg);
		return false;
	}
	snprintf(opts, size, "lowerdir=%s,upperdir=%s,workdir=%s", lowers, rw, work);
	return true;
}

/* A new, empty persistent directory starts with what the live root has there (as live-boot does). */
static void seed(const char *from, const char *to)
{
	pid_t pid = fork();
	if (pid == 0) {
		char src[600];
		snprintf(src, sizeof src, "%s/.", from);
		char *const argv[] = {"cp", "-a", src, (char *)to, NULL};
		execv("/bin/cp", argv);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		log_warn("persistence: unable to copy %s to %s (cp exit %d)", from, to,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static bool empty_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n++;
	if (d)
		closedir(d);
	return d && n <= 2;
}

static int mount_entry(const struct pconf_entry *e, int index, struct s1_error *err)
{
	char target[512], src[512], opts[1600];
	snprintf(target, sizeof target, NEWROOT "%s", e->dir);
	source_path(e, e->is_union ? "/rw" : "", src, sizeof src);
	if (P.ro) { /* read-only: the saved directory under today's tmpfs writes */
		char up[128], work[128];
		snprintf(up, sizeof up, OVERLAY_DIR "/persistence/%d/upper", index);
		snprintf(work, sizeof work, OVERLAY_DIR "/persistence/%d/work", index);
		if (access(src, F_OK) < 0)
			return 0;
		if (make_dirs(err, (const char *const[]){up, work, target, NULL}) < 0)
			return -1;
		snprintf(opts, sizeof opts, "lowerdir=%s:%s,upperdir=%s,workdir=%s", src, target, up, work);
		return mount_fs("overlay", target, "overlay", 0, opts, err);
	}
	bool fresh = access(src, F_OK) < 0;
	if (make_dirs(err, (const char *const[]){src, target, NULL}) < 0)
		return -1;
	if (e->is_union) {
		char work[512];
		source_path(e, "/work", work, sizeof work);
		if (make_dirs(err, (const char *const[]){work, NULL}) < 0)
			return -1;
		snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", target, src, work);
		return mount_fs("overlay", target, "overlay", 0, opts, err);
	}
	if (fresh || empty_dir(src))
		seed(target, src);
	return mount_fs(src, target, NULL, MS_BIND, NULL, err);
}

void persistence_mount_dirs(void)
{
	for (int i = 0; P.active && i < P.conf.n; i++) {
		struct s1_error err;
		if (strcmp(P.conf.e[i].dir, "/") && mount_entry(&P.conf.e[i], i, &err) < 0)
			log_warn("persistence %s: %s: %s stays in RAM", P.dev, err.msg, P.conf.e[i].dir);
	}
}
