#include "stage2/fstab.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/moddep.h"
#include "common/mountinfo.h"

static const char *const pc_prefixes[] = { "sd", "vd", "hd", "nvme", "mmcblk", NULL };
static const char *const uml_prefixes[] = { "ubd", NULL };
static const char *const xen_prefixes[] = { "xvd", NULL };

bool fstab_name_wanted(enum platform p, const char *name)
{
	const char *const *prefixes = p == PLATFORM_UML ? uml_prefixes : p == PLATFORM_XEN ? xen_prefixes : pc_prefixes;
	for (; *prefixes; prefixes++)
		if (strncmp(name, *prefixes, strlen(*prefixes)) == 0)
			return true;
	return false;
}

bool fstab_name_safe(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= FSTAB_NAME_MAX)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			return false;
	return true;
}

/* printf into a fixed buffer; -ENAMETOOLONG instead of a silently truncated path. */
static int pathf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return (len < 0 || (size_t)len >= n) ? -ENAMETOOLONG : 0;
}

/* First line of a small sysfs attribute, without the newline.  Returns 0 or -errno. */
static int read_attr(const char *path, char *buf, size_t n)
{
	ssize_t r = file_read_small(path, buf, n);
	if (r < 0)
		return (int)r;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A name fit for a console line: hostile bytes shown as '?'. */
static void printable(const char *in, char *out, size_t n)
{
	size_t i = 0;
	for (; in[i] && i + 1 < n; i++)
		out[i] = (in[i] > ' ' && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

static int add_note(struct fstab_scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(struct fstab_scan *s, const char *fmt, ...)
{
	char **n = realloc(s->notes, (s->nnotes + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->notes = n;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s->notes[s->nnotes], fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	s->nnotes++;
	return 0;
}

/* A partition starting at sector 0 covers its disk's own filesystem: a hybrid ISO's MBR (isohybrid) has one,
 * so the ISO shows up both as the disk and as partition 1.  The disk is the medium; the partition an alias. */
static bool is_alias_partition(const char *partdir)
{
	char path[PATH_MAX], attr[64];
	return pathf(path, sizeof(path), "%s/start", partdir) == 0 && read_attr(path, attr, sizeof(attr)) == 0 &&
	       strcmp(attr, "0") == 0;
}

/* Whole disks whose partitions are listed separately: sysfs puts each partition's directory, with a
 * `partition` attribute, inside its disk's directory.  A disk with an alias partition (above) carries a
 * filesystem over the whole disk (a hybrid ISO, whose other partitions, such as its EFI system partition,
 * lie inside it): the disk itself is listed, as well as those other partitions. */
static bool has_partitions(const char *devdir)
{
	DIR *d = opendir(devdir);
	if (!d)
		return false;
	bool found = false, alias = false;
	struct dirent *de;
	char path[PATH_MAX];
	while (!alias && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (pathf(path, sizeof(path), "%s/%s/partition", devdir, de->d_name) == 0 && access(path, F_OK) == 0 &&
		    pathf(path, sizeof(path), "%s/%s", devdir, de->d_name) == 0) {
			if (is_alias_partition(path))
				alias = true;
			else
				found = true;
		}
	}
	closedir(d);
	return found && !alias;
}

/* A device with holders (device-mapper, md) is used by another block device. */
static bool has_holders(const char *devdir)
{
	char path[PATH_MAX];
	if (pathf(path, sizeof(path), "%s/holders", devdir))
		return false;
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)))
		found = de->d_name[0] != '.';
	closedir(d);
	return found;
}

static enum fstab_use mount_use(const struct mount_table *mt, unsigned major, unsigned minor)
{
	enum fstab_use use = USE_FREE;
	for (size_t i = 0; i < mt->count; i++) {
		const struct mount_entry *e = &mt->entries[i];
		if (e->major != major || e->minor != minor)
			continue;
		if (!mount_option_present(e->super_options, "ro") && !mount_option_present(e->options, "ro"))
			return USE_BUSY;
		use = USE_MOUNTED_RO;
	}
	return use;
}

/* Is /dev/NAME listed in a /proc/swaps text? */
static bool swap_listed(const char *swaps, const char *name)
{
	char dev[FSTAB_NAME_MAX + 8];
	snprintf(dev, sizeof(dev), "/dev/%.*s", FSTAB_NAME_MAX - 1, name);
	size_t n = strlen(dev);
	for (const char *line = swaps; line && *line;) {
		if (strncmp(line, dev, n) == 0 && (line[n] == ' ' || line[n] == '\t'))
			return true;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

/* Stage 2 runs the scan before the console exists: a disk whose reads block (a dying disk, the reason
 * people boot a rescue system) is given this long per probe, named in a note, and then skipped with all
 * its partitions, so the shell comes a few seconds after the switch whatever the disks do. */
#define PROBE_TIMEOUT_MS 1000
#define DEAD_MAX 16
struct dead_disks {
	char name[DEAD_MAX][FSTAB_NAME_MAX];
	size_t n;
};

static bool dead_has(const struct dead_disks *dd, const char *disk)
{
	for (size_t i = 0; i < dd->n; i++)
		if (strcmp(dd->name[i], disk) == 0)
			return true;
	return false;
}

static int probe_unless_dead(const char *root, const char *name, const char *path, struct probe_result *pr,
			     struct dead_disks *dd, struct fstab_scan *s, bool *skipped)
{
	char sysblock[PATH_MAX], disk[FSTAB_NAME_MAX];
	*skipped = false;
	if (pathf(sysblock, sizeof(sysblock), "%s/sys/class/block", root))
		return -ENAMETOOLONG;
	probe_disk_of(sysblock, name, disk, sizeof(disk));
	if (dead_has(dd, disk)) {
		*skipped = true;
		return 0;
	}
	int r = probe_path_bounded(path, pr, PROBE_TIMEOUT_MS);
	if (r != -ETIMEDOUT)
		return r;
	*skipped = true;
	if (dd->n < DEAD_MAX)
		snprintf(dd->name[dd->n++], sizeof(dd->name[0]), "%s", disk);
	return add_note(s, "%s does not answer (nothing read in %d s; a failing disk?): /dev/%s left out of fstab",
			path, PROBE_TIMEOUT_MS / 1000, disk);
}

static int scan_one(const char *root, const char *name, const struct mount_table *mt, const char *swaps,
		    struct dead_disks *dd, struct fstab_scan *s, size_t *cap)
{
	char devdir[PATH_MAX], path[PATH_MAX], attr[64];
	if (pathf(devdir, sizeof(devdir), "%s/sys/class/block/%s", root, name))
		return 0;
	if (pathf(path, sizeof(path), "%s/size", devdir) == 0 && read_attr(path, attr, sizeof(attr)) == 0 &&
	    strcmp(attr, "0") == 0)
		return 0; /* empty drive */
	if (has_partitions(devdir) || is_alias_partition(devdir))
		return 0;

	struct fstab_dev d;
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%.*s", FSTAB_NAME_MAX - 1, name);
	if (pathf(path, sizeof(path), "%s/ro", devdir) == 0 && read_attr(path, attr, sizeof(attr)) == 0)
		d.ro = strcmp(attr, "1") == 0;
	unsigned major, minor;
	if (pathf(path, sizeof(path), "%s/dev", devdir) == 0 && read_attr(path, attr, sizeof(attr)) == 0 &&
	    sscanf(attr, "%u:%u", &major, &minor) == 2)
		d.use = mount_use(mt, major, minor);
	if (has_holders(devdir))
		d.use = USE_BUSY;
	d.swap_active = swaps && swap_listed(swaps, name);

	if (pathf(path, sizeof(path), "%s/dev/%s", root, name))
		return 0;
	bool skipped;
	int r = probe_unless_dead(root, name, path, &d.probe, dd, s, &skipped);
	if (r < 0)
		return add_note(s, "cannot probe %s: %s", path, strerror(-r));
	if (skipped || d.probe.type == FS_UNKNOWN)
		return 0;

	if (s->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct fstab_dev *n = realloc(s->devs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->devs = n;
		*cap = ncap;
	}
	s->devs[s->count++] = d;
	return 0;
}

/* ---- which filesystems the running kernel can mount ---- */

struct fs_drivers {
	char *filesystems;   /* ROOT/proc/filesystems; NULL: unknown, everything counts as mountable */
	struct moddep md;    /* the kernel's module tree, for fs-TYPE aliases */
	bool have_md;
};

static void fs_drivers_load(const char *root, struct fs_drivers *fd)
{
	memset(fd, 0, sizeof(*fd));
	char path[PATH_MAX], release[128], failed[PATH_MAX];
	if (pathf(path, sizeof(path), "%s/proc/filesystems", root) || file_read(path, &fd->filesystems, NULL) < 0)
		fd->filesystems = NULL;
	if (!fd->filesystems)
		return;
	if (pathf(path, sizeof(path), "%s/proc/sys/kernel/osrelease", root) == 0 &&
	    read_attr(path, release, sizeof(release)) == 0 && release[0] && !strchr(release, '/') &&
	    pathf(path, sizeof(path), "%s/lib/modules/%s", root, release) == 0)
		fd->have_md = moddep_load(&fd->md, path, failed, sizeof(failed)) == 0;
}

static void fs_drivers_free(struct fs_drivers *fd)
{
	free(fd->filesystems);
	if (fd->have_md)
		moddep_free(&fd->md);
}

/* "nodev\tproc" / "\text4" lines: is type one of them? */
static bool filesystems_lists(const char *text, const char *type)
{
	size_t n = strlen(type);
	for (const char *line = text; line && *line;) {
		const char *name = line + strcspn(line, "\t\n");
		if (*name == '\t' && strncmp(name + 1, type, n) == 0 && (name[1 + n] == '\n' || name[1 + n] == '\0'))
			return true;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

static bool can_mount(const struct fs_drivers *fd, const char *type)
{
	if (filesystems_lists(fd->filesystems, type))
		return true;
	if (!fd->have_md)
		return false;
	char alias[64];
	snprintf(alias, sizeof(alias), "fs-%s", type);
	struct modlist list = { 0 };
	enum moddep_status st = moddep_resolve(&fd->md, alias, &list);
	modlist_free(&list);
	return st == MODDEP_OK || st == MODDEP_BUILTIN;
}

/* The type to write for d, and whether the kernel has a driver for it.  NTFS has two kernel drivers:
 * ntfs3 (read-write, registers as "ntfs3") and the old read-only ntfs. */
static void pick_driver(const struct fs_drivers *fd, struct fstab_dev *d)
{
	d->fstype = fs_type_name(d->probe.type);
	if (!fd->filesystems || d->probe.type == FS_SWAP)
		return;
	if (d->probe.type == FS_NTFS && can_mount(fd, "ntfs3")) {
		d->fstype = "ntfs3";
		return;
	}
	d->no_driver = !can_mount(fd, d->fstype);
}

static int dev_cmp(const void *a, const void *b)
{
	return strverscmp(((const struct fstab_dev *)a)->name, ((const struct fstab_dev *)b)->name);
}

int fstab_scan(const char *root, enum platform p, struct fstab_scan *out)
{
	memset(out, 0, sizeof(*out));
	char path[PATH_MAX];
	if (pathf(path, sizeof(path), "%s/sys/class/block", root))
		return -ENAMETOOLONG;
	DIR *d = opendir(path);
	if (!d)
		return -errno;

	struct mount_table mt = { 0 };
	char mipath[PATH_MAX], swpath[PATH_MAX];
	if (pathf(mipath, sizeof(mipath), "%s/proc/self/mountinfo", root) == 0)
		mountinfo_read(mipath, &mt); /* none readable: nothing is in use */
	char *swaps = NULL;
	if (pathf(swpath, sizeof(swpath), "%s/proc/swaps", root) == 0)
		file_read(swpath, &swaps, NULL); /* none readable: no swap in use */

	size_t cap = 0;
	int rc = 0;
	struct dead_disks dead = { .n = 0 };
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!fstab_name_wanted(p, de->d_name))
			continue;
		if (!fstab_name_safe(de->d_name)) {
			char shown[FSTAB_NAME_MAX * 2];
			printable(de->d_name, shown, sizeof(shown));
			rc = add_note(out, "skipping block device with an unexpected name \"%s\"", shown);
			continue;
		}
		rc = scan_one(root, de->d_name, &mt, swaps, &dead, out, &cap);
	}
	closedir(d);
	mountinfo_free(&mt);
	free(swaps);
	if (rc) {
		fstab_scan_free(out);
		return rc;
	}
	struct fs_drivers fd;
	fs_drivers_load(root, &fd);
	for (size_t i = 0; i < out->count; i++)
		pick_driver(&fd, &out->devs[i]);
	fs_drivers_free(&fd);
	qsort(out->devs, out->count, sizeof(*out->devs), dev_cmp);
	return 0;
}

void fstab_scan_free(struct fstab_scan *s)
{
	for (size_t i = 0; i < s->nnotes; i++)
		free(s->notes[i]);
	free(s->notes);
	free(s->devs);
	memset(s, 0, sizeof(*s));
}

/* A growing string; on out of memory it stays failed and the caller gets NULL. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || b->len + (size_t)n + 1 > b->cap) {
		size_t ncap = (b->cap ? b->cap : 256);
		while (n >= 0 && b->len + (size_t)n + 1 > ncap)
			ncap *= 2;
		char *p = n < 0 ? NULL : realloc(b->p, ncap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static char *sb_take(struct sbuf *b)
{
	if (b->failed) {
		free(b->p);
		return NULL;
	}
	if (!b->p)
		return strdup("");
	return b->p;
}

/* Do the first two fields of any non-comment line of text name this device? */
static bool user_lists(const char *text, const struct fstab_dev *d)
{
	char dev[64], mnt[64], uuid[64], label[80];
	snprintf(dev, sizeof(dev), "/dev/%s", d->name);
	snprintf(mnt, sizeof(mnt), "/mnt/%s", d->name);
	snprintf(uuid, sizeof(uuid), "UUID=%s", d->probe.uuid);
	snprintf(label, sizeof(label), "LABEL=%s", d->probe.label);
	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char buf[1024];
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		char *save = NULL;
		char *src = strtok_r(buf, " \t", &save);
		char *dst = src ? strtok_r(NULL, " \t", &save) : NULL;
		if (src && src[0] != '#') {
			mountinfo_unescape(src); /* fstab escapes like mountinfo: \040 */
			if (dst)
				mountinfo_unescape(dst);
			if (strcmp(src, dev) == 0 || (dst && d->probe.type != FS_SWAP && strcmp(dst, mnt) == 0) ||
			    (d->probe.uuid[0] && strcmp(src, uuid) == 0) || (d->probe.label[0] && strcmp(src, label) == 0))
				return true;
		}
		line = eol ? eol + 1 : NULL;
	}
	return false;
}

char *fstab_render_section(const struct fstab_scan *s, const char *user_text)
{
	struct sbuf b = { 0 };
	sb_add(&b, "%s: written at boot from the partition scan; keep your own lines outside this section\n",
	       FSTAB_BEGIN);
	for (size_t i = 0; i < s->count; i++) {
		const struct fstab_dev *d = &s->devs[i];
		const char *type = d->fstype ? d->fstype : fs_type_name(d->probe.type);
		if (user_text && user_lists(user_text, d)) {
			sb_add(&b, "# /dev/%s (%s): listed above, left to that line\n", d->name, type);
		} else if (d->use == USE_BUSY) {
			sb_add(&b, "# /dev/%s (%s): in use, left out\n", d->name, type);
		} else if (d->no_driver) {
			sb_add(&b, "# /dev/%s (%s): this kernel has no %s driver (not in /proc/filesystems, no fs-%s "
				   "module), left out\n", d->name, type, type, type);
		} else if (d->probe.type == FS_SWAP) {
			if (d->ro)
				sb_add(&b, "# /dev/%s (swap): read-only device, left out\n", d->name);
			else
				sb_add(&b, "/dev/%s\tnone\tswap\tsw\t0\t0\n", d->name);
		} else {
			bool ro = d->ro || d->use == USE_MOUNTED_RO || d->probe.type == FS_ISO9660 ||
				  d->probe.type == FS_SQUASHFS;
			sb_add(&b, "/dev/%s\t/mnt/%s\t%s\t%s\t0\t0\n", d->name, d->name, type, ro ? "noauto,ro" : "noauto");
		}
	}
	sb_add(&b, "%s\n", FSTAB_END);
	return sb_take(&b);
}

static bool line_starts(const char *line, const char *marker)
{
	size_t n = strlen(marker);
	return strncmp(line, marker, n) == 0 && (line[n] == '\0' || line[n] == '\n' || line[n] == ':' ||
						 line[n] == ' ' || line[n] == '\t');
}

/* The lines from a BEGIN to its END are ours, matched like parentheses: an END closes the nearest open BEGIN,
 * and a pair inside another pair goes with the outer one.  A BEGIN never closed and an END that closes nothing
 * are the user's text: never drop lines we cannot prove are ours.  Matching this way leaves no pair behind, so
 * the next boot strips exactly the section we wrote and the merge is idempotent (pairing each BEGIN with the
 * first END after it was not: a stray BEGIN met our END at the next boot and took the user's lines between
 * them; found by tests/fuzz/fuzz_fstab.c). */
char *fstab_strip_section(const char *old_text, size_t *insert_at, bool *had_section)
{
	const char *text = old_text ? old_text : "";
	size_t nlines = 1;
	for (const char *c = text; *c; c++)
		nlines += *c == '\n';
	struct span {
		size_t start, end;
	} *cut = malloc(nlines * sizeof(*cut));
	size_t *open = malloc(nlines * sizeof(*open));
	size_t ncut = 0, nopen = 0;
	if (!cut || !open) {
		free(cut);
		free(open);
		return NULL;
	}
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		const char *next = eol ? eol + 1 : p + strlen(p);
		if (line_starts(p, FSTAB_BEGIN)) {
			open[nopen++] = (size_t)(p - text);
		} else if (line_starts(p, FSTAB_END) && nopen > 0) {
			size_t start = open[--nopen];
			while (ncut > 0 && cut[ncut - 1].start >= start)
				ncut--; /* inside this pair */
			cut[ncut++] = (struct span){ start, (size_t)(next - text) };
		}
		p = next;
	}
	struct sbuf b = { 0 };
	size_t from = 0;
	*had_section = ncut > 0;
	for (size_t i = 0; i < ncut; i++) {
		sb_add(&b, "%.*s", (int)(cut[i].start - from), text + from);
		if (i == 0)
			*insert_at = b.len;
		from = cut[i].end;
	}
	sb_add(&b, "%s", text + from);
	if (ncut == 0)
		*insert_at = b.len;
	free(cut);
	free(open);
	return sb_take(&b);
}

char *fstab_merge(const char *old_text, const struct fstab_scan *s)
{
	size_t at;
	bool had;
	char *user = fstab_strip_section(old_text, &at, &had);
	if (!user)
		return NULL;
	char *section = fstab_render_section(s, user);
	if (!section) {
		free(user);
		return NULL;
	}
	struct sbuf b = { 0 };
	sb_add(&b, "%.*s", (int)at, user);
	if (at > 0 && user[at - 1] != '\n')
		sb_add(&b, "\n");
	sb_add(&b, "%s", section);
	sb_add(&b, "%s", user + at);
	if (b.len > 0 && b.p && b.p[b.len - 1] != '\n')
		sb_add(&b, "\n");
	free(user);
	free(section);
	return sb_take(&b);
}

int fstab_make_mountpoints(const char *root, const struct fstab_scan *s, char *failed_path, size_t n)
{
	char path[PATH_MAX];
	int first = 0;
	if (pathf(path, sizeof(path), "%s/mnt", root) == 0 && (first = mkdir_p(path, 0755)) < 0) {
		snprintf(failed_path, n, "%s", path);
		return first;
	}
	for (size_t i = 0; i < s->count; i++) {
		const struct fstab_dev *d = &s->devs[i];
		if (d->probe.type == FS_SWAP || d->use == USE_BUSY || d->no_driver)
			continue;
		int r = pathf(path, sizeof(path), "%s/mnt/%s", root, d->name);
		if (r == 0)
			r = mkdir_p(path, 0755);
		if (r < 0 && first == 0) {
			first = r;
			snprintf(failed_path, n, "%s", path);
		}
	}
	return first;
}

int fstab_generate(const char *root, enum platform p, const char *output, bool mkdirs, struct fstab_scan *scan,
		   char *what, size_t n)
{
	int r = fstab_scan(root, p, scan);
	if (r < 0) {
		snprintf(what, n, "scan %s/sys/class/block", root);
		return r;
	}
	if (mkdirs) {
		char failed[PATH_MAX];
		r = fstab_make_mountpoints(root, scan, failed, sizeof(failed));
		if (r < 0) {
			snprintf(what, n, "create %s", failed);
			return r;
		}
	}
	char path[PATH_MAX];
	if (output)
		snprintf(path, sizeof(path), "%s", output);
	else if (pathf(path, sizeof(path), "%s/etc/fstab", root))
		return -ENAMETOOLONG;
	char *old;
	r = file_read(path, &old, NULL);
	if (r == -ENOENT)
		r = 0;
	if (r < 0) {
		/* Unreadable is not absent: writing now could lose the user's lines. */
		snprintf(what, n, "read %s", path);
		return r;
	}
	char *text = fstab_merge(old, scan);
	free(old);
	if (!text) {
		snprintf(what, n, "build the new %s", path);
		return -ENOMEM;
	}
	if (output) {
		r = file_write_atomic(path, text, strlen(text), NULL);
		if (r < 0)
			snprintf(what, n, "write %s", path);
	} else if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
		r = -EIO;
		snprintf(what, n, "write the new fstab to stdout");
	}
	free(text);
	return r;
}
