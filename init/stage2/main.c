/* Stage 2: PID 1 of the live root.  Read top to bottom, this is the boot from the switch to the shell,
 * then the ordered shutdown.  PID 1 never exits: every step reports its failure and the boot goes on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/coldplug.h"
#include "common/config.h"
#include "common/log.h"
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
 * looks for disks or interfaces.  Module failures are warnings; the boot goes on. */
static void load_drivers(void)
{
	struct coldplug_result r;
	if (coldplug_run("", NULL, coldplug_warn, NULL, &r) < 0)
		return; /* already reported through coldplug_warn */
	log_step("Loaded %u driver modules for the devices found (coldplug)", r.loaded);
	log_debug("coldplug: %u devices, %u with a module, %u declined, %u failed, %u passes",
		  r.devices, r.matched, r.declined, r.failed, r.passes);
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
	/* From now on Ctrl-Alt-Del is a SIGINT to us instead of an immediate reboot by the kernel. */
	if (reboot(RB_DISABLE_CAD) < 0)
		log_error("unable to take over Ctrl-Alt-Del (reboot(RB_DISABLE_CAD)): %s", strerror(errno));
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
		load_drivers();
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
