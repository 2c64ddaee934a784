/* Hand over to the real root: move the API mounts into it, delete the initramfs (it is RAM we would
 * otherwise lose), make NEWROOT "/" and exec init.  As busybox switch_root and klibc run-init do:
 * refuse unless we are PID 1 on a ramfs/tmpfs root, and never cross into another filesystem while deleting. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "stage1/stage1.h"

/* Delete everything under dirfd that lives on device dev. */
static void delete_tree(int dirfd, dev_t dev)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue; /* a mount point: not ours to delete */
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				delete_tree(sub, dev);
			unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, e->d_name, 0);
		}
	}
	closedir(d);
}

static int move_api_mounts(struct s1_error *err)
{
	static const char *const api[] = {"/dev", "/proc", "/sys", "/run"};
	for (size_t i = 0; i < sizeof api / sizeof api[0]; i++) {
		char target[64];
		snprintf(target, sizeof target, NEWROOT "%s", api[i]);
		if (mount_fs(api[i], target, NULL, MS_MOVE, NULL, err) < 0)
			return -1;
	}
	return 0;
}

static int check_init(const struct live_config *cfg, struct s1_error *err)
{
	char path[512];
	/* liveinit.stage2's init lies in /run, which is still ours until move_api_mounts(). */
	bool in_run = !strncmp(cfg->init, LIVEINIT_RUN "/", sizeof LIVEINIT_RUN);
	snprintf(path, sizeof path, "%s%s", in_run ? "" : NEWROOT, cfg->init);
	struct stat st;
	/* faccessat on a dangling absolute symlink would look on the initramfs; resolve inside the root later,
	 * here only require that something is there. */
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return s1_fail(err, "unable to find init %s in the new root: %s", cfg->init, strerror(errno));
	return 0;
}

int switch_root(const struct live_config *cfg, char **argv, int64_t started_us, struct s1_error *err)
{
	struct statfs sfs;
	struct stat root, newroot;
	if (getpid() != 1)
		return s1_fail(err, "switch root: not running as PID 1");
	if (statfs("/", &sfs) < 0 || (sfs.f_type != RAMFS_MAGIC && sfs.f_type != TMPFS_MAGIC))
		return s1_fail(err, "switch root: / is not an initramfs (ramfs/tmpfs); refusing to delete it");
	if (stat("/", &root) < 0 || stat(NEWROOT, &newroot) < 0)
		return s1_fail(err, "switch root: unable to stat / or %s: %s", NEWROOT, strerror(errno));
	if (root.st_dev == newroot.st_dev)
		return s1_fail(err, "switch root: %s is not a mounted filesystem", NEWROOT);
	if (check_init(cfg, err) < 0 || move_api_mounts(err) < 0)
		return -1;
	/* Keep a handle on the initramfs: once the new root is in place it is reachable only through this fd.
	 * It is emptied only then, so that a failed switch still has the rescue shell's busybox (util-linux's
	 * switch_root order). */
	int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return s1_fail(err, "switch root: unable to open the initramfs /: %s", strerror(errno));
	if (chdir(NEWROOT) < 0) {
		close(rootfd);
		return s1_fail(err, "switch root: unable to enter %s: %s", NEWROOT, strerror(errno));
	}
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) {
		close(rootfd);
		return s1_fail(err, "switch root: unable to move %s to /: %s", NEWROOT, strerror(errno));
	}
	if (chroot(".") < 0 || chdir("/") < 0) {
		close(rootfd);
		return s1_fail(err, "switch root: unable to chroot into the new root: %s", strerror(errno));
	}
	delete_tree(rootfd, root.st_dev);
	/* The last step ends here: /run (moved into the new root) keeps the record for stage 2 and the user. */
	int64_t done_us = steps_end();
	/* Bench and debugging read this from the kernel log, where it carries the kernel's timestamp. */
	int kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg >= 0) {
		dprintf(kmsg, "<5>liveinit: stage 1 done in %.1f ms, exec %s\n", (double)(done_us - started_us) / 1e3,
			cfg->init);
		close(kmsg);
	}
	argv[0] = (char *)cfg->init;
	execv(cfg->init, argv);
	return s1_fail(err, "unable to execute %s in the new root: %s", cfg->init, strerror(errno));
}
