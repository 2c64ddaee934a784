#include "stage2/exitrd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/cdrom.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mountinfo.h"
#include "stage2/applets.h"
#include "common/apimounts.h"
#include "common/clock.h"
#include "common/fileio.h"

static int copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (out < 0) {
		int err = errno;
		close(in);
		return -err;
	}
	int rc = 0;
	ssize_t n;
	while ((n = sendfile(out, in, NULL, 1 << 20)) > 0)
		;
	if (n < 0)
		rc = -errno;
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

void exitrd_keep_copy(void)
{
	if (mkdir("/run/liveinit", 0700) < 0 && errno != EEXIST) {
		log_error("unable to create /run/liveinit: %s", strerror(errno));
		return;
	}
	/* liveinit.stage2: stage 1 already put us there and we run from it; replacing it would leave PID 1
	 * running a deleted file and the root's poweroff links pointing at a new one. */
	char self[sizeof EXITRD_COPY + 1];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n == (ssize_t)strlen(EXITRD_COPY) && memcmp(self, EXITRD_COPY, (size_t)n) == 0)
		return;
	unlink(EXITRD_COPY);
	int r = copy_file("/proc/self/exe", EXITRD_COPY, 0700);
	if (r < 0)
		log_error("unable to copy /proc/self/exe to %s: %s", EXITRD_COPY, strerror(-r));
}

static const char *kind_word(enum shutdown_kind kind)
{
	return kind == SHUTDOWN_REBOOT ? "reboot" : kind == SHUTDOWN_HALT ? "halt" : "poweroff";
}

/* Make the tmpfs and put the program in it.  0 or -1 (printed). */
static int prepare(void)
{
	if (mkdir(EXITRD_DIR, 0755) < 0 && errno != EEXIST) {
		log_error("unable to create %s: %s", EXITRD_DIR, strerror(errno));
		return -1;
	}
	if (mount("tmpfs", EXITRD_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") < 0) {
		log_error("unable to mount tmpfs on %s: %s", EXITRD_DIR, strerror(errno));
		return -1;
	}
	const char *dirs[] = { EXITRD_DIR EXITRD_OLDROOT, EXITRD_DIR "/proc", EXITRD_DIR "/sys", EXITRD_DIR "/dev" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0755) < 0) {
			log_error("unable to create %s: %s", dirs[i], strerror(errno));
			return -1;
		}
	int r = copy_file(EXITRD_COPY, EXITRD_DIR "/liveinit", 0700);
	if (r < 0) {
		log_warn("unable to copy %s to %s: %s; using /proc/self/exe", EXITRD_COPY, EXITRD_DIR, strerror(-r));
		unlink(EXITRD_DIR "/liveinit");
		r = copy_file("/proc/self/exe", EXITRD_DIR "/liveinit", 0700);
	}
	if (r < 0) {
		log_error("unable to copy /proc/self/exe to %s: %s", EXITRD_DIR, strerror(-r));
		return -1;
	}
	return 0;
}

void exitrd_enter(enum shutdown_kind kind, const struct live_config *cfg)
{
	/* pivot_root(2) refuses shared mounts; nothing outside sees them at shutdown anyway. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		log_error("unable to make the mounts private (mount --make-rprivate /): %s", strerror(errno));
		return;
	}
	if (prepare() < 0) {
		umount2(EXITRD_DIR, MNT_DETACH);
		return;
	}
	if (chdir(EXITRD_DIR) < 0 || syscall(SYS_pivot_root, ".", "." EXITRD_OLDROOT) < 0) {
		log_error("unable to pivot_root into %s: %s", EXITRD_DIR, strerror(errno));
		if (chdir("/") < 0 || umount2(EXITRD_DIR, MNT_DETACH) < 0)
			log_debug("leaving %s behind: %s", EXITRD_DIR, strerror(errno));
		return;
	}
	if (chdir("/") < 0)
		log_error("unable to chdir to the new / : %s", strerror(errno));
	bool eject = cfg->platform == PLATFORM_PC && !cfg->noeject;
	char *argv[] = { "exitrd", (char *)kind_word(kind), eject ? "eject" : "noeject",
			 cfg->debug ? "debug" : cfg->quiet ? "quiet" : "-", NULL };
	execv("/liveinit", argv);
	/* Still running from the old root's executable, which keeps it busy; everything else can still go. */
	log_error("unable to execute /liveinit in the tmpfs: %s", strerror(errno));
	exitrd_main(4, argv);
}

bool block_is_cdrom(const char *sysroot, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/sys/class/block/%s/device/type", sysroot, name);
	char text[16];
	return file_read_small(path, text, sizeof(text)) > 0 && atoi(text) == 5;
}

size_t loops_attached(const char *sysroot, char (*names)[32], size_t max)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/sys/block", sysroot);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while (n < max && (de = readdir(d))) {
		if (strncmp(de->d_name, "loop", 4) != 0 || strlen(de->d_name) >= 32)
			continue;
		char path[1024];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s/loop/backing_file", dir, de->d_name);
		if (stat(path, &st) == 0)
			memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	return n;
}

/* LOOP_CLR_FD on every attached loop device; a busy one only gets autoclear (detached once unused).
 * Returns how many are gone. */
static int detach_loops(void)
{
	char names[64][32];
	size_t n = loops_attached("", names, 64);
	int gone = 0;
	for (size_t i = 0; i < n; i++) {
		char dev[64], backing[512], path[512];
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", names[i]);
		if (file_read_small(path, backing, sizeof(backing)) <= 0)
			snprintf(backing, sizeof(backing), "?");
		backing[strcspn(backing, "\n")] = '\0';
		snprintf(dev, sizeof(dev), "/dev/%s", names[i]);
		int fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, LOOP_CLR_FD, 0) < 0) {
			log_error("unable to detach %s (%s): %s", dev, backing, strerror(errno));
		} else {
			struct stat st;
			if (stat(path, &st) < 0) {
				log_step("Detached %s (%s)", dev, backing);
				gone++;
			} else {
				log_step("Left %s attached (%s): busy; it detaches itself once unused", dev, backing);
			}
		}
		if (fd >= 0)
			close(fd);
	}
	return gone;
}

static void eject(const char *dev)
{
	log_begin("Ejecting %s", dev);
	int fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	/* The sr driver locks the door while the medium is mounted; unlocking first is what eject(1) does. */
	if (fd < 0 || ioctl(fd, CDROM_LOCKDOOR, 0) < 0 || ioctl(fd, CDROMEJECT, 0) < 0) {
		int err = errno;
		log_done("failed");
		log_error("unable to eject %s: %s", dev, strerror(err));
	} else {
		log_done("done");
	}
	if (fd >= 0)
		close(fd);
}

/* The new root's API filesystems, and the console from its /dev (the old one is the old root's). */
static void setup(void)
{
	for (int i = API_PROC; i <= API_DEV; i++) {
		char msg[256];
		if (api_mount("", &api_mounts[i], msg, sizeof(msg)) < 0)
			log_error("%s", msg);
	}
	int con = open("/dev/console", O_RDWR | O_NOCTTY);
	if (con >= 0) {
		for (int fd = 0; fd <= 2; fd++)
			dup2(con, fd);
		if (con > 2)
			close(con);
	}
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

/* The medium's device, if it is mounted under the old root ("" when not, e.g. with toram). */
static void find_medium(char *dev, size_t n)
{
	dev[0] = '\0';
	struct mount_table t;
	if (mountinfo_read("/proc/self/mountinfo", &t) < 0)
		return;
	const struct mount_entry *e = mountinfo_find_target(&t, EXITRD_OLDROOT LIVE_MEDIUM_DIR);
	if (e && strncmp(e->source, "/dev/", 5) == 0)
		snprintf(dev, n, "%s", e->source);
	mountinfo_free(&t);
}

/* The mounts on the old root, moved to the same place in the tmpfs.  The old root (an overlay) holds its lower
 * layer, the squashfs, whose loop device holds the medium, which is mounted under /run on the old root: that
 * circle keeps everything busy.  Moved out, the old root has nothing mounted on it and goes first, then what it
 * held. */
static void move_children_out(void)
{
	struct mount_table t;
	if (mountinfo_read("/proc/self/mountinfo", &t) < 0)
		return;
	const struct mount_entry *old = mountinfo_find_target(&t, EXITRD_OLDROOT);
	for (size_t i = 0; old && i < t.count; i++) {
		const struct mount_entry *e = &t.entries[i];
		if (e->parent_id != old->id)
			continue;
		char to[512];
		snprintf(to, sizeof(to), "%s", e->target + strlen(EXITRD_OLDROOT));
		struct mount_entry moved = { .target = to };
		if (mount_is_kept(&moved)) /* /proc, /sys, /dev: ours are there; theirs unmount anyway */
			continue;
		int r = mkdir_p(to, 0755);
		if (r < 0 || mount(e->target, to, NULL, MS_MOVE, NULL) < 0)
			log_error("unable to move %s to %s: %s", e->target, to, strerror(r < 0 ? -r : errno));
	}
	mountinfo_free(&t);
}

static bool still_mounted(const char *dev)
{
	struct mount_table t;
	if (mountinfo_read("/proc/self/mountinfo", &t) < 0)
		return true;
	bool found = false;
	for (size_t i = 0; i < t.count && !found; i++)
		found = strcmp(t.entries[i].source, dev) == 0;
	mountinfo_free(&t);
	return found;
}

int exitrd_main(int argc, char **argv)
{
	if (getpid() != 1 || argc < 3) {
		fprintf(stderr, "exitrd: run by init at shutdown only (exitrd poweroff|halt|reboot eject|noeject)\n");
		return 2;
	}
	enum shutdown_kind kind = strcmp(argv[1], "reboot") == 0 ? SHUTDOWN_REBOOT
				  : strcmp(argv[1], "halt") == 0 ? SHUTDOWN_HALT
								 : SHUTDOWN_POWEROFF;
	bool want_eject = strcmp(argv[2], "eject") == 0;
	if (argc > 3) {
		log_set_debug(strcmp(argv[3], "debug") == 0);
		log_set_quiet(strcmp(argv[3], "quiet") == 0);
	}
	setup();
	long t0 = monotonic_ms();
	char medium[256];
	find_medium(medium, sizeof(medium));
	move_children_out();
	shutdown_unmount(EXITRD_OLDROOT);
	if (detach_loops() > 0)
		shutdown_unmount(EXITRD_OLDROOT); /* what the loop's backing file held: the medium */
	if (want_eject && medium[0] && !still_mounted(medium) && block_is_cdrom("", medium + 5))
		eject(medium);
	log_debug("exitrd took %ld ms", monotonic_ms() - t0);
	shutdown_reboot(kind);
}
