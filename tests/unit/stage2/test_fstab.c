/* stage2/fstab: the partition scan over fake sysfs trees (real filesystem images made by mkfs as the devices),
 * hostile device names, keeping the user's lines, the marked section, and util-linux's verdict on the result. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stage2/fstab.h"
#include "testutil.h"

/* Images made once per run by the real tools; each tree hard-links them as ROOT/dev/NAME. */
static char *images;

static void make_image(const char *kind, off_t size, char *const argv_tail[])
{
	char *path = tu_path("%s/%s.img", images, kind);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, size) < 0)
		tu_die("create", path);
	close(fd);
	if (!argv_tail)
		return;
	char *argv[16];
	int n = 0;
	for (; argv_tail[n]; n++)
		argv[n] = argv_tail[n];
	argv[n++] = path;
	argv[n] = NULL;
	if (tu_run(argv, false) != 0) {
		fprintf(stderr, "test setup: %s failed on %s\n", argv[0], path);
		abort();
	}
}

static int setup_images(void **state)
{
	(void)state;
	images = tu_tmpdir();
	make_image("ext4", 4 << 20, (char *const[]){ "mkfs.ext4", "-q", "-F", "-L", "data", NULL });
	make_image("swap", 1 << 20, (char *const[]){ "mkswap", NULL });
	make_image("vfat", 2 << 20, (char *const[]){ "mkfs.vfat", NULL });
	make_image("empty", 1 << 20, NULL);
	make_image("exfat", 8 << 20, (char *const[]){ "mkfs.exfat", NULL });
	make_image("ntfs", 8 << 20, (char *const[]){ "mkntfs", "-q", "-F", "-f", NULL });
	return 0;
}

static int teardown_images(void **state)
{
	(void)state;
	tu_rmtree(images);
	free(images);
	return 0;
}

struct fake_dev {
	const char *name;
	const char *parent; /* the disk of a partition, NULL for a disk */
	const char *devnum;
	const char *kind;   /* image to link as /dev/NAME: "ext4", "swap", "vfat", "exfat", "ntfs", "empty" */
	bool ro;
};

/* Lay out sysfs the way the kernel does: the device directory under /sys/devices (a partition inside its
 * disk's directory, with a `partition` attribute) and a symlink in /sys/class/block. */
static void add_dev(const char *root, const struct fake_dev *d)
{
	char rel[256];
	if (d->parent)
		snprintf(rel, sizeof(rel), "devices/virtual/block/%s/%s", d->parent, d->name);
	else
		snprintf(rel, sizeof(rel), "devices/virtual/block/%s", d->name);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/sys/%s", root, rel);
	tu_mkdirs(dir);
	tu_write(tu_path("%s/dev", dir), tu_path("%s\n", d->devnum));
	tu_write(tu_path("%s/size", dir), "8192\n");
	tu_write(tu_path("%s/ro", dir), d->ro ? "1\n" : "0\n");
	tu_mkdirs(tu_path("%s/holders", dir));
	if (d->parent)
		tu_write(tu_path("%s/partition", dir), "1\n");
	tu_mkdirs(tu_path("%s/sys/class/block", root));
	if (symlink(tu_path("../../%s", rel), tu_path("%s/sys/class/block/%s", root, d->name)) < 0)
		tu_die("symlink", d->name);
	tu_mkdirs(tu_path("%s/dev", root));
	/* "fifo": a device whose open never returns, like a disk whose partition scan the kernel is stuck in. */
	if (d->kind && strcmp(d->kind, "fifo") == 0) {
		if (mkfifo(tu_path("%s/dev/%s", root, d->name), 0600) < 0)
			tu_die("mkfifo", d->name);
	} else if (d->kind && link(tu_path("%s/%s.img", images, d->kind), tu_path("%s/dev/%s", root, d->name)) < 0)
		tu_die("link", d->name);
}

static const struct fake_dev uml_devs[] = {
	{ "ubda", NULL, "98:0", "ext4", true },      /* the medium: read-only device, mounted ro */
	{ "ubdb", NULL, "98:16", "swap", false },
	{ "ubdc", NULL, "98:32", "empty", false },   /* a partitioned disk: its partitions are listed instead */
	{ "ubdc1", "ubdc", "98:33", "ext4", false },
	{ "ubdc2", "ubdc", "98:34", "vfat", false },
	{ "ubdc3", "ubdc", "98:35", "empty", false }, /* nothing recognisable: not listed */
	{ "ubdc10", "ubdc", "98:42", "ext4", false }, /* sorts after ubdc2 */
	{ "ubdd", NULL, "98:48", "ext4", false },     /* mounted read-write on /: in use */
	{ "sda", NULL, "8:0", "ext4", false },        /* not a UML device */
	{ "loop0", NULL, "7:0", "ext4", false },
};

static const char uml_mountinfo[] =
	"20 1 98:48 / / rw,relatime - ext4 /dev/ubdd rw\n"
	"21 20 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw\n"
	"23 20 98:0 / /run/live/medium ro,relatime - ext4 /dev/ubda ro\n";

static const char *const hostile[] = {
	"ubd x", "ubd\nfake", "ubd$(reboot)", "ubd;rm", "ubdaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ubd\xc3\xa9", "ubdA",
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static char *uml_tree(void)
{
	char *root = tu_tmpdir();
	for (size_t i = 0; i < sizeof(uml_devs) / sizeof(uml_devs[0]); i++)
		add_dev(root, &uml_devs[i]);
	/* Hostile names that would even probe as ext4: none may reach the file or the console. */
	for (size_t i = 0; i < NHOSTILE; i++) {
		struct fake_dev d = { hostile[i], NULL, "99:0", "ext4", false };
		add_dev(root, &d);
	}
	tu_write(tu_path("%s/proc/self/mountinfo", root), uml_mountinfo);
	tu_write(tu_path("%s/proc/swaps", root), "Filename\tType\tSize\tUsed\tPriority\n");
	return root;
}

static const char uml_section[] =
	"/dev/ubda\t/mnt/ubda\text4\tnoauto,ro\t0\t0\n"
	"/dev/ubdb\tnone\tswap\tsw\t0\t0\n"
	"/dev/ubdc1\t/mnt/ubdc1\text4\tnoauto\t0\t0\n"
	"/dev/ubdc2\t/mnt/ubdc2\tvfat\tnoauto\t0\t0\n"
	"/dev/ubdc10\t/mnt/ubdc10\text4\tnoauto\t0\t0\n"
	"# /dev/ubdd (ext4): in use, left out\n"
	FSTAB_END "\n";

/* The text after the BEGIN line. */
static const char *after_begin(const char *text)
{
	const char *b = strstr(text, FSTAB_BEGIN);
	assert_non_null(b);
	const char *nl = strchr(b, '\n');
	assert_non_null(nl);
	return nl + 1;
}

static void assert_findmnt_clean(const char *path)
{
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s.findmnt", path);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(out, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("findmnt", "findmnt", "--verify", "--tab-file", path, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	char *report = tu_read(out);
	assert_non_null(report);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(report, "0 parse errors, 0 errors"))
		fail_msg("findmnt --verify rejected %s:\n%s", path, report);
	free(report);
	unlink(out);
}

static void test_uml_tree(void **state)
{
	(void)state;
	char *root = uml_tree();
	struct fstab_scan scan;
	char what[256] = "";
	char *fstab = tu_path("%s/etc/fstab", root);
	tu_mkdirs(tu_path("%s/etc", root));
	assert_int_equal(fstab_generate(root, PLATFORM_UML, fstab, true, &scan, what, sizeof(what)), 0);

	char *text = tu_read(fstab);
	assert_non_null(text);
	assert_int_equal(strncmp(text, FSTAB_BEGIN, strlen(FSTAB_BEGIN)), 0);
	assert_string_equal(after_begin(text), uml_section);
	assert_findmnt_clean(fstab);
	assert_int_equal(access(tu_path("%s.new", fstab), F_OK), -1);

	/* One note per hostile name, each a single printable line. */
	assert_int_equal(scan.nnotes, NHOSTILE);
	for (size_t i = 0; i < scan.nnotes; i++)
		for (const char *c = scan.notes[i]; *c; c++)
			assert_true(*c >= ' ' && *c < 0x7f);
	assert_null(strstr(text, "reboot"));
	assert_null(strstr(text, "fake"));

	/* Mount points for what can be mounted, none for swap or what is in use. */
	struct stat st;
	assert_int_equal(stat(tu_path("%s/mnt/ubdc1", root), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(tu_path("%s/mnt/ubda", root), &st), 0);
	assert_int_equal(stat(tu_path("%s/mnt/ubdb", root), &st), -1);
	assert_int_equal(stat(tu_path("%s/mnt/ubdd", root), &st), -1);
	assert_int_equal(stat(tu_path("%s/mnt/sda", root), &st), -1);

	/* The same scan again gives the same file. */
	fstab_scan_free(&scan);
	assert_int_equal(fstab_generate(root, PLATFORM_UML, fstab, true, &scan, what, sizeof(what)), 0);
	char *again = tu_read(fstab);
	assert_string_equal(again, text);
	free(again);
	free(text);
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

static const char user_fstab[] =
	"# /etc/fstab of the image\n"
	"LABEL=data\t/srv\text4\tnoauto\t0\t2\n"
	"/dev/ubdc2 /data vfat noauto 0 0\n"
	FSTAB_BEGIN ": from an older boot\n"
	"/dev/ubdz\t/mnt/ubdz\text4\tnoauto\t0\t0\n"
	FSTAB_END "\n"
	"tmpfs /scratch tmpfs noauto 0 0\n"
	"/dev/sdb1 /mnt/ubdc10 ext4 noauto 0 0\n";

static void test_user_lines_kept(void **state)
{
	(void)state;
	char *root = uml_tree();
	char *fstab = tu_path("%s/etc/fstab", root);
	tu_write(fstab, user_fstab);
	struct fstab_scan scan;
	char what[256];
	assert_int_equal(fstab_generate(root, PLATFORM_UML, fstab, false, &scan, what, sizeof(what)), 0);
	char *text = tu_read(fstab);

	const char *expect_head = "# /etc/fstab of the image\n"
				  "LABEL=data\t/srv\text4\tnoauto\t0\t2\n"
				  "/dev/ubdc2 /data vfat noauto 0 0\n" FSTAB_BEGIN;
	assert_int_equal(strncmp(text, expect_head, strlen(expect_head)), 0);
	/* mkfs gave every ext4 image LABEL=data, so the user's LABEL=data line claims all of them (the prober
	 * reads the label); ubdc2 is the user's /data by device name, ubdc10's mount point is taken by /dev/sdb1. */
	const char *expect_section =
		"# /dev/ubda (ext4): listed above, left to that line\n"
		"/dev/ubdb\tnone\tswap\tsw\t0\t0\n"
		"# /dev/ubdc1 (ext4): listed above, left to that line\n"
		"# /dev/ubdc2 (vfat): listed above, left to that line\n"
		"# /dev/ubdc10 (ext4): listed above, left to that line\n"
		"# /dev/ubdd (ext4): listed above, left to that line\n" FSTAB_END "\n"
		"tmpfs /scratch tmpfs noauto 0 0\n"
		"/dev/sdb1 /mnt/ubdc10 ext4 noauto 0 0\n";
	assert_string_equal(after_begin(text), expect_section);
	assert_null(strstr(text, "ubdz"));
	assert_findmnt_clean(fstab);
	free(text);
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

/* Without labels to collide on: the section sits where the old one was, users' device and mount point
 * lines win. */
static void test_section_in_place(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const struct fake_dev devs[] = {
		{ "ubdb", NULL, "98:16", "swap", false },
		{ "ubdc1", NULL, "98:33", "vfat", false },
		{ "ubdc2", NULL, "98:34", "vfat", false },
	};
	for (size_t i = 0; i < 3; i++)
		add_dev(root, &devs[i]);
	char *fstab = tu_path("%s/etc/fstab", root);
	tu_write(fstab, "proc /proc proc defaults 0 0\n"
			"/dev/ubdc2 /data vfat noauto 0 0\n"
			FSTAB_BEGIN "\n/dev/ubdz /mnt/ubdz ext4 noauto 0 0\n" FSTAB_END "\n"
			"tmpfs /scratch tmpfs noauto 0 0");  /* no newline at the end */
	struct fstab_scan scan;
	char what[256];
	assert_int_equal(fstab_generate(root, PLATFORM_UML, fstab, true, &scan, what, sizeof(what)), 0);
	char *text = tu_read(fstab);
	const char *head = "proc /proc proc defaults 0 0\n/dev/ubdc2 /data vfat noauto 0 0\n" FSTAB_BEGIN;
	assert_int_equal(strncmp(text, head, strlen(head)), 0);
	assert_string_equal(after_begin(text), "/dev/ubdb\tnone\tswap\tsw\t0\t0\n"
					       "/dev/ubdc1\t/mnt/ubdc1\tvfat\tnoauto\t0\t0\n"
					       "# /dev/ubdc2 (vfat): listed above, left to that line\n" FSTAB_END "\n"
					       "tmpfs /scratch tmpfs noauto 0 0\n");
	assert_findmnt_clean(fstab);
	free(text);
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

/* A BEGIN whose END was deleted: nothing after it can be proven ours, so everything is kept. */
static void test_begin_without_end(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const struct fake_dev d = { "ubdc1", NULL, "98:33", "vfat", false };
	add_dev(root, &d);
	const char *old = "# mine\n" FSTAB_BEGIN "\n/dev/ubdc1\t/mnt/ubdc1\tvfat\tnoauto\t0\t0\n/dev/sdz /z ext4 defaults 0 0\n";
	char *fstab = tu_path("%s/etc/fstab", root);
	tu_write(fstab, old);
	struct fstab_scan scan;
	char what[256];
	assert_int_equal(fstab_generate(root, PLATFORM_UML, fstab, false, &scan, what, sizeof(what)), 0);
	char *text = tu_read(fstab);
	assert_int_equal(strncmp(text, old, strlen(old)), 0);
	assert_string_equal(text + strlen(old), FSTAB_BEGIN
			    ": written at boot from the partition scan; keep your own lines outside this section\n"
			    "# /dev/ubdc1 (vfat): listed above, left to that line\n" FSTAB_END "\n");
	fstab_scan_free(&scan);
	/* The next boot: the stray BEGIN must not pair with our END and take the user's lines with it. */
	assert_int_equal(fstab_generate(root, PLATFORM_UML, fstab, false, &scan, what, sizeof(what)), 0);
	char *again = tu_read(fstab);
	assert_string_equal(again, text);
	free(again);
	free(text);
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

static void test_strip_sections(void **state)
{
	(void)state;
	size_t at;
	bool had;
	char *s = fstab_strip_section("a\n" FSTAB_BEGIN "\nx\n" FSTAB_END "\nb\n" FSTAB_BEGIN ": again\ny\n" FSTAB_END "\nc\n",
				      &at, &had);
	assert_string_equal(s, "a\nb\nc\n");
	assert_true(had);
	assert_int_equal(at, 2);
	free(s);
	s = fstab_strip_section("a\n# BEGIN liveinitX\nb\n# END liveinit\n", &at, &had); /* not our marker */
	assert_string_equal(s, "a\n# BEGIN liveinitX\nb\n# END liveinit\n");
	assert_false(had);
	assert_int_equal(at, strlen(s));
	free(s);
	s = fstab_strip_section(NULL, &at, &had);
	assert_string_equal(s, "");
	free(s);
}

static void test_xen_and_pc_trees(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const struct fake_dev devs[] = {
		{ "xvda1", NULL, "202:1", "ext4", false }, { "ubda", NULL, "98:0", "ext4", false },
		{ "sda1", NULL, "8:1", "vfat", false },     { "vda", NULL, "254:0", "swap", false },
		{ "nvme0n1p1", NULL, "259:1", "ext4", false }, { "mmcblk0p1", NULL, "179:1", "vfat", false },
		{ "sr0", NULL, "11:0", "ext4", false },
	};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		add_dev(root, &devs[i]);
	struct fstab_scan scan;
	assert_int_equal(fstab_scan(root, PLATFORM_XEN, &scan), 0);
	assert_int_equal(scan.count, 1);
	assert_string_equal(scan.devs[0].name, "xvda1");
	fstab_scan_free(&scan);

	assert_int_equal(fstab_scan(root, PLATFORM_PC, &scan), 0);
	const char *want[] = { "mmcblk0p1", "nvme0n1p1", "sda1", "vda" };
	assert_int_equal(scan.count, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(scan.devs[i].name, want[i]);
	assert_int_equal(scan.devs[3].probe.type, FS_SWAP);
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

/* A filesystem the kernel cannot mount is a comment naming why, not a line that fails: drivers come from
 * /proc/filesystems (ext4 here) or a module for fs-TYPE in the kernel's module tree (vfat, ntfs3 here). */
static void test_kernel_drivers(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const struct fake_dev devs[] = {
		{ "sda1", "sda", "8:1", "ext4", false }, { "sda2", "sda", "8:2", "vfat", false },
		{ "sda3", "sda", "8:3", "exfat", false }, { "sda4", "sda", "8:4", "swap", false },
		{ "sdb", NULL, "8:16", "ntfs", false },
	};
	tu_mkdirs(tu_path("%s/sys/devices/virtual/block/sda", root));
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		add_dev(root, &devs[i]);
	tu_write(tu_path("%s/proc/filesystems", root), "nodev\tsysfs\nnodev\tproc\n\text4\n\text2\n");
	tu_mkdirs(tu_path("%s/proc/sys/kernel", root));
	tu_write(tu_path("%s/proc/sys/kernel/osrelease", root), "9.9-test\n");
	char *moddir = tu_path("%s/lib/modules/9.9-test", root);
	tu_mkdirs(moddir);
	tu_write(tu_path("%s/modules.dep", moddir), "kernel/fs/fat/fat.ko:\nkernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko\n"
						    "kernel/fs/ntfs3/ntfs3.ko:\n");
	tu_write(tu_path("%s/modules.alias", moddir), "alias fs-vfat vfat\nalias fs-ntfs3 ntfs3\n");

	struct fstab_scan scan;
	assert_int_equal(fstab_scan(root, PLATFORM_PC, &scan), 0);
	char *text = fstab_render_section(&scan, NULL);
	assert_non_null(text);
	const char *want = FSTAB_BEGIN ": written at boot from the partition scan; keep your own lines outside this section\n"
			   "/dev/sda1\t/mnt/sda1\text4\tnoauto\t0\t0\n"
			   "/dev/sda2\t/mnt/sda2\tvfat\tnoauto\t0\t0\n"
			   "# /dev/sda3 (exfat): this kernel has no exfat driver (not in /proc/filesystems, no fs-exfat "
			   "module), left out\n"
			   "/dev/sda4\tnone\tswap\tsw\t0\t0\n"
			   "/dev/sdb\t/mnt/sdb\tntfs3\tnoauto\t0\t0\n"
			   FSTAB_END "\n";
	assert_string_equal(text, want);
	free(text);
	char failed[PATH_MAX];
	assert_int_equal(fstab_make_mountpoints(root, &scan, failed, sizeof(failed)), 0);
	struct stat st;
	assert_int_equal(stat(tu_path("%s/mnt/sda2", root), &st), 0);
	assert_int_equal(stat(tu_path("%s/mnt/sda3", root), &st), -1);
	fstab_scan_free(&scan);

	/* Without the module tree only /proc/filesystems counts; without /proc/filesystems everything does. */
	tu_rmtree(tu_path("%s/lib", root));
	assert_int_equal(fstab_scan(root, PLATFORM_PC, &scan), 0);
	assert_int_equal(scan.count, 5);
	assert_false(scan.devs[0].no_driver);
	assert_true(scan.devs[1].no_driver);
	assert_true(scan.devs[2].no_driver);
	assert_false(scan.devs[3].no_driver);
	assert_true(scan.devs[4].no_driver);
	assert_string_equal(scan.devs[4].fstype, "ntfs");
	fstab_scan_free(&scan);
	unlink(tu_path("%s/proc/filesystems", root));
	assert_int_equal(fstab_scan(root, PLATFORM_PC, &scan), 0);
	for (size_t i = 0; i < scan.count; i++)
		assert_false(scan.devs[i].no_driver);
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

/* Disks that do not answer: each is named once in a note, its other partitions are not waited for again,
 * and the disks that answer are listed as usual. */
static void test_dying_disks_named_and_skipped(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const struct fake_dev devs[] = {
		{ "vda", NULL, "254:0", "fifo", false },  { "vdb", NULL, "254:16", "empty", false },
		{ "vdb1", "vdb", "254:17", "fifo", false }, { "vdb2", "vdb", "254:18", "fifo", false },
		{ "vdc", NULL, "254:32", "ext4", false },
	};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		add_dev(root, &devs[i]);
	struct fstab_scan scan;
	assert_int_equal(fstab_scan(root, PLATFORM_PC, &scan), 0);
	assert_int_equal(scan.count, 1);
	assert_string_equal(scan.devs[0].name, "vdc");
	assert_int_equal(scan.nnotes, 2);
	const char *first = strstr(scan.notes[0], "/dev/vda does") ? scan.notes[0] : scan.notes[1];
	const char *second = first == scan.notes[0] ? scan.notes[1] : scan.notes[0];
	assert_non_null(strstr(first, "/dev/vda does not answer"));
	assert_non_null(strstr(first, "/dev/vda left out of fstab"));
	assert_non_null(strstr(second, "/dev/vdb"));
	assert_non_null(strstr(second, "does not answer"));
	assert_non_null(strstr(second, "/dev/vdb left out of fstab"));
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

static void test_active_swap_and_holders(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const struct fake_dev devs[] = {
		{ "ubdb", NULL, "98:16", "swap", false },
		{ "ubde", NULL, "98:64", "ext4", false },
	};
	add_dev(root, &devs[0]);
	add_dev(root, &devs[1]);
	tu_write(tu_path("%s/proc/swaps", root), "Filename\tType\tSize\tUsed\tPriority\n/dev/ubdb   partition\t1020\t0\t-2\n");
	tu_mkdirs(tu_path("%s/sys/devices/virtual/block/ubde/holders/dm-0", root));
	struct fstab_scan scan;
	assert_int_equal(fstab_scan(root, PLATFORM_UML, &scan), 0);
	assert_int_equal(scan.count, 2);
	assert_true(scan.devs[0].swap_active);
	assert_int_equal(scan.devs[1].use, USE_BUSY);
	char *section = fstab_render_section(&scan, NULL);
	assert_non_null(strstr(section, "# /dev/ubde (ext4): in use, left out\n"));
	free(section);
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

/* A hybrid ISO written to a disk: partition 1 starts at sector 0 and is the same ISO; the disk is listed,
 * not the alias.  A real partition (start > 0) still hides its disk. */
static void test_hybrid_iso_alias_partition(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const struct fake_dev devs[] = {
		{ "sda", NULL, "8:0", "ext4", true },   { "sda1", "sda", "8:1", "ext4", true },
		{ "sdb", NULL, "8:16", "empty", false }, { "sdb1", "sdb", "8:17", "ext4", false },
	};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		add_dev(root, &devs[i]);
	tu_write(tu_path("%s/sys/devices/virtual/block/sda/sda1/start", root), "0\n");
	tu_write(tu_path("%s/sys/devices/virtual/block/sdb/sdb1/start", root), "2048\n");
	struct fstab_scan scan;
	assert_int_equal(fstab_scan(root, PLATFORM_PC, &scan), 0);
	assert_int_equal(scan.count, 2);
	assert_string_equal(scan.devs[0].name, "sda");
	assert_string_equal(scan.devs[1].name, "sdb1");
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

/* The hybrid ISO with an EFI system partition appended (UEFI boot): partition 1 is the alias at sector 0,
 * partition 2 the ESP.  The disk stays listed as the medium's filesystem, and the ESP beside it. */
static void test_hybrid_iso_with_esp(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	const struct fake_dev devs[] = {
		{ "sda", NULL, "8:0", "ext4", true },
		{ "sda1", "sda", "8:1", "ext4", true },
		{ "sda2", "sda", "8:2", "vfat", false },
	};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		add_dev(root, &devs[i]);
	tu_write(tu_path("%s/sys/devices/virtual/block/sda/sda1/start", root), "0\n");
	tu_write(tu_path("%s/sys/devices/virtual/block/sda/sda2/start", root), "150000\n");
	struct fstab_scan scan;
	assert_int_equal(fstab_scan(root, PLATFORM_PC, &scan), 0);
	assert_int_equal(scan.count, 2);
	assert_string_equal(scan.devs[0].name, "sda");
	assert_string_equal(scan.devs[1].name, "sda2");
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

static void test_no_sysfs(void **state)
{
	(void)state;
	char *root = tu_tmpdir();
	struct fstab_scan scan;
	char what[256];
	assert_int_equal(fstab_generate(root, PLATFORM_UML, tu_path("%s/fstab", root), true, &scan, what, sizeof(what)),
			 -ENOENT);
	assert_non_null(strstr(what, "/sys/class/block"));
	assert_int_equal(access(tu_path("%s/fstab", root), F_OK), -1);
	fstab_scan_free(&scan);
	tu_rmtree(root);
	free(root);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(fstab_name_wanted(PLATFORM_UML, "ubdc1"));
	assert_false(fstab_name_wanted(PLATFORM_UML, "sda"));
	assert_true(fstab_name_wanted(PLATFORM_XEN, "xvda"));
	assert_false(fstab_name_wanted(PLATFORM_XEN, "ubda"));
	assert_true(fstab_name_wanted(PLATFORM_PC, "hda1"));
	assert_false(fstab_name_wanted(PLATFORM_PC, "loop0"));
	assert_false(fstab_name_wanted(PLATFORM_PC, "sr0"));
	assert_true(fstab_name_safe("nvme0n1p1"));
	assert_false(fstab_name_safe(""));
	assert_false(fstab_name_safe("sda 1"));
	assert_false(fstab_name_safe("dm-0"));
	assert_false(fstab_name_safe("../sda"));
	assert_false(fstab_name_safe("ubdaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 33 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_uml_tree),
		cmocka_unit_test(test_user_lines_kept),
		cmocka_unit_test(test_section_in_place),
		cmocka_unit_test(test_begin_without_end),
		cmocka_unit_test(test_strip_sections),
		cmocka_unit_test(test_xen_and_pc_trees),
		cmocka_unit_test(test_kernel_drivers),
		cmocka_unit_test(test_active_swap_and_holders),
		cmocka_unit_test(test_dying_disks_named_and_skipped),
		cmocka_unit_test(test_hybrid_iso_alias_partition),
		cmocka_unit_test(test_hybrid_iso_with_esp),
		cmocka_unit_test(test_no_sysfs),
	};
	return cmocka_run_group_tests(tests, setup_images, teardown_images);
}
