/* liveinit.stage2: our stage 2 as the init of any root (Finnix 86.1's boot on a modern distro: fstab and swap
 * scan, DHCP, the shell on the right console and the ordered shutdown, without the root's init).
 * The initrd carries stage 2 and dhcpc in /lib/liveinit; they are copied to /run/liveinit, which moves into the
 * new root with /run.  The root's poweroff, reboot, halt and shutdown (systemctl links on a systemd root) are
 * replaced, in the overlay's upper, by links to ours, so typing `poweroff` runs our ordered shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "stage1/stage1.h"

#define INITRD_LIB "/lib/liveinit"

/* initrd_dir/lib/liveinit/NAME -> run_dir/NAME */
static int carry(const char *initrd_dir, const char *name, const char *from, const char *run_dir,
		 struct s1_error *err)
{
	char src[PATH_MAX], dst[PATH_MAX];
	snprintf(src, sizeof src, "%s%s/%s", initrd_dir, from, name);
	snprintf(dst, sizeof dst, "%s/%s", run_dir, name);
	return copy_file(src, dst, 0755, err);
}

/* Replace every copy of the command the root has in its PATH directories; one in /sbin when it has none.
 * Directories that are one (merged /usr: /sbin -> usr/sbin) are handled once. */
static int take_over_command(const char *root, const char *name, struct adapt_log *log, struct s1_error *err)
{
	static const char *const dirs[] = {"/sbin", "/usr/sbin", "/bin", "/usr/bin"};
	char done[4][PATH_MAX];
	int ndone = 0;
	char target[64];
	snprintf(target, sizeof target, LIVEINIT_RUN "/liveinit");
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char path[64], real[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dirs[i], name);
		if (root_path(root, path, real, sizeof real) < 0 || lstat(real, &st) < 0)
			continue;
		bool seen = false;
		for (int j = 0; j < ndone; j++)
			seen |= !strcmp(done[j], real);
		if (seen)
			continue;
		snprintf(done[ndone++], sizeof done[0], "%s", real);
		if (root_symlink(root, path, target, err) < 0)
			return -1;
		adapt_note(log, "stage2: %s -> %s (our ordered shutdown)", path, target);
	}
	if (ndone == 0) {
		char path[64];
		snprintf(path, sizeof path, "/sbin/%s", name);
		if (root_symlink(root, path, target, err) < 0)
			return -1;
		adapt_note(log, "stage2: %s -> %s (the root had none)", path, target);
	}
	return 0;
}

int stage2_prepare(const char *root, const char *initrd_dir, const char *run_dir, struct adapt_log *log,
		   struct s1_error *err)
{
	char link[PATH_MAX];
	int r = mkdir_p(run_dir, 0755);
	if (r < 0)
		return s1_fail(err, "unable to create %s: %s", run_dir, strerror(-r));
	if (carry(initrd_dir, "liveinit", INITRD_LIB, run_dir, err) < 0)
		return -1;
	/* argv[0] "init" selects stage 2 in the multi-call binary whatever the kernel passes as arguments. */
	snprintf(link, sizeof link, "%s/init", run_dir);
	if ((unlink(link) < 0 && errno != ENOENT) || symlink("liveinit", link) < 0)
		return s1_fail(err, "unable to link %s to liveinit: %s", link, strerror(errno));
	adapt_note(log, "stage2: init is " STAGE2_INIT " (the initrd's stage 2), not the root's");

	static const char *const commands[] = {"poweroff", "reboot", "halt", "shutdown"};
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (take_over_command(root, commands[i], log, err) < 0)
			return -1;

	if (!root_exists(root, "/sbin/dhcpc")) {
		if (carry(initrd_dir, "dhcpc", INITRD_LIB, run_dir, err) < 0 ||
		    root_symlink(root, "/sbin/dhcpc", LIVEINIT_RUN "/dhcpc", err) < 0)
			return -1;
		adapt_note(log, "stage2: /sbin/dhcpc -> " LIVEINIT_RUN "/dhcpc (the initrd's DHCP client)");
	}
	if (!root_exists(root, "/bin/sh")) {
		if (carry(initrd_dir, "busybox", "/bin", run_dir, err) < 0 ||
		    root_symlink(root, "/bin/sh", LIVEINIT_RUN "/busybox", err) < 0)
			return -1;
		adapt_note(log, "stage2: /bin/sh -> " LIVEINIT_RUN "/busybox (the root has no shell)");
		return 1;
	}
	return 0;
}
