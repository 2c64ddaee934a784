/* Stage 2: PID 1 of the live root.  Read top to bottom, this is the boot from the switch to the shell,
 * then the ordered shutdown.  PID 1 never exits: every step reports its failure and the boot goes on. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/coldplug.h"
#include "common/config.h"
#include "common/log.h"
#include "common/modload.h"
#include "stage2/applets.h"
#include "stage2/console.h"
#include "stage2/exitrd.h"
#include "stage2/fstab.h"
#include "stage2/mounts.h"
#include "stage2/network.h"
#include "stage2/shutdown.h"
#include "stage2/signals.h"
#include "stage2/swap.h"

static void say_kernel(void)
{
	struct utsname u;
	if (uname(&u) == 0)
		log_step("Running Linux kernel %s on %s", u.release, u.machine);
}

static void set_hostname(const char *name)
{
	if (!*name)
		name = "live";
	if (sethostname(name, strlen(name)) < 0)
		log_error("unable to set the hostname to %s: %s", name, strerror(errno));
}

static void coldplug_warn(void *ctx, const char *msg)
{
	(void)ctx;
	log_warn("%s", msg);
}

/* No udev: load the drivers of the devices the kernel found (NICs, storage, input) before anything
 * looks for disks or interfaces.  Module failures are warnings; the boot goes on.  load: the module loader
 * (NULL: modload_file), with ctx. */
static void load_drivers(coldplug_load_fn *load, void *ctx)
{
	struct coldplug_opts o = { .sysroot = "", .settle_ms = 200, .load = load, .warn = coldplug_warn, .ctx = ctx };
	struct coldplug_result r;
	char failed[600];
	int rc = coldplug_scan(&o, &r, failed, sizeof(failed));
	if (rc < 0) {
		log_warn("coldplug: unable to read %s: %s", failed, strerror(-rc));
		return;
	}
	log_step("Loaded %u driver modules for the devices found (coldplug)", r.loaded);
	log_debug("coldplug: %u devices, %u with a module, %u declined, %u failed, %u passes",
		  r.devices, r.matched, r.declined, r.failed, r.passes);
}

/* Module loading can hang on a dying disk: finit_module of a driver without async probing waits for every
 * asynchronous probe in the kernel (async_synchronize_full), and a disk driver's probe that reads the
 * partition table of a disk that never answers is one of them.  So coldplug runs in a child that reports
 * each module it starts and finishes loading through a pipe, and the boot goes on once none has been
 * started or finished for this long (a slow but healthy coldplug, ~2.5 s in qemu TCG, keeps going); the
 * stuck child goes on in the background and the signal loop reaps it.  (Not shutdown's run_bounded(): that
 * one kills the late child, and the drivers after the stuck one would never load.) */
#define COLDPLUG_STALL_MS 2000

static int load_reporting_progress(void *ctx, const char *path)
{
	int fd = *(int *)ctx;
	/* A write fails only once the parent has stopped listening: nothing to do about it then. */
	(void)!write(fd, "<", 1);
	int rc = modload_file(path, 0);
	(void)!write(fd, ">", 1);
	return rc;
}

static void load_drivers_bounded(void)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_error("unable to create a pipe for coldplug: %s", strerror(errno));
		load_drivers(NULL, NULL);
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		log_error("unable to fork for coldplug: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		load_drivers(NULL, NULL);
		return;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN); /* writes after the parent gave up fail with EPIPE instead */
		close(fds[0]);
		load_drivers(load_reporting_progress, &fds[1]);
		fflush(NULL);
		_exit(0); /* fds[1] closes: the parent sees the end */
	}
	close(fds[1]);
	struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
	for (;;) {
		int ready = poll(&pfd, 1, COLDPLUG_STALL_MS);
		if (ready < 0 && errno == EINTR)
			continue;
		char buf[64];
		if (ready <= 0) {
			log_warn("loading drivers (coldplug): no module loaded for %d s (a device that does not answer?): "
				 "going on, it finishes in the background", COLDPLUG_STALL_MS / 1000);
			break;
		}
		if (read(fds[0], buf, sizeof(buf)) <= 0) {
			waitpid(pid, NULL, 0);
			break;
		}
	}
	close(fds[0]);
}

static void scan_partitions(enum platform p, struct fstab_scan *scan)
{
	char what[512];
	int r = fstab_generate("", p, "/etc/fstab", true, scan, what, sizeof(what));
	log_begin("Scanning for partitions and creating /etc/fstab");
	log_done(r < 0 ? "failed" : "done");
	if (r < 0)
		log_error("unable to %s: %s", what, strerror(-r));
	for (size_t i = 0; i < scan->nnotes; i++)
		log_warn("%s", scan->notes[i]);
}

static void start_swap(const struct live_config *cfg, const struct fstab_scan *scan)
{
	for (size_t i = 0; i < scan->count; i++) {
		const struct fstab_dev *d = &scan->devs[i];
		if (d->probe.type != FS_SWAP || d->use == USE_BUSY || d->ro)
			continue;
		if (cfg->noswap) {
			log_debug("noswap: not using /dev/%s", d->name);
			continue;
		}
		char dev[64];
		snprintf(dev, sizeof(dev), "/dev/%s", d->name);
		int r = d->swap_active ? 0 : swap_on(dev);
		if (r < 0)
			log_error("unable to swapon %s: %s", dev, strerror(-r));
		else
			log_step("Using swap partition %s", dev);
	}
}

static void start_console(enum platform p, const struct live_config *cfg, char *tty, size_t n)
{
	console_pick(p, cfg->console, "", tty, n);
	int r = console_securetty_add("", tty);
	if (r < 0)
		log_error("unable to add %s to /etc/securetty: %s", tty, strerror(-r));
}

int init_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (getpid() != 1) {
		fprintf(stderr, "init: must run as PID 1; to stop the system use poweroff, halt or reboot\n");
		return 2;
	}
	sigset_t handled, restore;
	signals_block(&handled, &restore);
	/* First thing: from now on Ctrl-Alt-Del (UML's and create's `cad`, the PC keyboard) is a SIGINT, held
	 * blocked until the signal loop runs the ordered shutdown, instead of the kernel's immediate reset,
	 * which would lose what a read-write root has not written yet. */
	if (reboot(RB_DISABLE_CAD) < 0)
		log_error("unable to take over Ctrl-Alt-Del (reboot(RB_DISABLE_CAD)): %s", strerror(errno));
	umask(022);
	setsid();

	mounts_early();
	console_fds_fix();
	struct live_config cfg;
	/* Stage 1 already printed the parameter warnings when it left its /run/live behind. */
	struct stat st;
	config_load(&cfg, stat("/run/live", &st) != 0);
	if (cfg.root_mode != ROOT_MODE_RO)
		mounts_root_rw();
	mounts_rest();
	exitrd_keep_copy();
	say_kernel();
	set_hostname(cfg.hostname);
	enum platform p = cfg.platform;
	log_debug("platform: %s", platform_name(p));

	/* UML has no buses to probe: its disks, consoles and NICs come from the command line and its drivers are
	 * built in (Finnix's UML mode likewise skipped hardware detection).  The alias scan cost ~1.1 s there. */
	if (p != PLATFORM_UML)
		load_drivers_bounded();
	struct fstab_scan scan;
	scan_partitions(p, &scan);
	start_swap(&cfg, &scan);
	fstab_scan_free(&scan);
	net_start(&cfg, &restore); /* the DHCP hook; net_stop() in shutdown_run() is the other half */

	char tty[64];
	start_console(p, &cfg, tty, sizeof(tty));
	/* Printed even when quiet: the one line that says the system is up (tests and people wait for it). */
	printf("[*] liveinit %s ready\n", LIVEINIT_VERSION);
	fflush(stdout);

	struct respawn shell = { 0 };
	enum shutdown_kind kind = signal_loop(&handled, &restore, &shell, tty);
	shutdown_run(kind, &cfg);  /* processes, FUSE and network filesystems, network, swap, sync */
	exitrd_enter(kind, &cfg);  /* leave the root and unmount all of it from outside; returns if it cannot */
	shutdown_unmount("");      /* in place then: the root and what it holds stay, read-only */
	shutdown_reboot(kind);
}
