/* Stage 2: PID 1 of the live root.  Read top to bottom, this is the boot from the switch to the shell,
 * then the ordered shutdown.  PID 1 never exits: every step reports its failure and the boot goes on. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/coldplug.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/shadow.h"
#include "common/steptime.h"
#include "common/modload.h"
#include "stage2/applets.h"
#include "stage2/console.h"
#include "stage2/exitrd.h"
#include "stage2/dpkg.h"
#include "stage2/fstab.h"
#include "stage2/mounts.h"
#include "stage2/network.h"
#include "stage2/services.h"
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

/* The kernel runs this helper for request_module(): a mount asking for fs-ext4, ext4 asking the crypto API for
 * crypto-crc32c.  Ours follows modules.softdep and modules.alias (stage2/modprobe.c). */
#define MODPROBE_PATH "/sbin/modprobe"
static void set_modprobe(void)
{
	const char *knob = "/proc/sys/kernel/modprobe", *text = MODPROBE_PATH "\n";
	int fd = open(knob, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));
	if (n != (ssize_t)strlen(text))
		log_error("unable to write %s to %s: %s", MODPROBE_PATH, knob, n < 0 ? strerror(errno) : "short write");
	if (fd >= 0)
		close(fd);
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

static void start_consoles(enum platform p, const struct live_config *cfg, struct pid1_state *st)
{
	st->nshells = console_pick_all(p, cfg->console, "", st->tty, CONSOLE_MAX);
	for (size_t i = 0; i < st->nshells; i++) {
		int r = console_securetty_add("", st->tty[i]);
		if (r < 0)
			log_error("unable to add %s to /etc/securetty: %s", st->tty[i], strerror(-r));
	}
}

/* passwd= (Finnix's parameter): root's password, hashed into /etc/shadow -- in the overlay's upper layer,
 * the medium is never written.  Without it root keeps the locked password the image ships. */
static void set_root_password(const struct live_config *cfg)
{
	if (!cfg->passwd[0])
		return;
	char err[256];
	if (shadow_set_password("/etc/shadow", "root", cfg->passwd, err, sizeof(err)) < 0)
		log_error("passwd=: %s; root's password is unchanged", err);
	else
		log_step("Set root's password from passwd= (note: /proc/cmdline shows it)");
}

/* The service directory (stage2/services.h), after the network hook; `sshd` (Finnix's parameter) starts the
 * sshd service even though it ships with a `down` file. */
static void start_services(const struct live_config *cfg, struct services *svc, const sigset_t *restore,
			   struct pid1_state *st)
{
	int r = mkdir_p(SERVICES_LOGDIR, 0750);
	if (r < 0)
		log_error("unable to create %s: %s; service output goes to the console", SERVICES_LOGDIR, strerror(-r));
	char err[256];
	int n = services_load(svc, SERVICES_DIR, SERVICES_LOGDIR, err, sizeof(err));
	if (err[0])
		log_warn("%s", err);
	svc->stop_timeout_ms = (cfg->shutdown_timeout > 0 ? cfg->shutdown_timeout : 5) * 1000L;
	svc->restore = restore;
	st->services = svc;
	st->control_fd = services_control_open(SERVICES_SOCKET);
	if (st->control_fd < 0)
		log_error("unable to open the control socket %s: %s; liveinit-svc will not work", SERVICES_SOCKET,
			  strerror(-st->control_fd));
	struct service *ssh = services_find(svc, "sshd");
	if (cfg->sshd && ssh)
		ssh->want_up = true;
	else if (cfg->sshd)
		log_warn("sshd given, but this root has no sshd service (%s/sshd)", SERVICES_DIR);
	if (n <= 0)
		return;
	services_tick(svc, monotonic_ms());
	for (size_t i = 0; i < svc->count; i++)
		if (svc->svc[i].pid)
			log_step("Started service %s (log: %s/%s)", svc->svc[i].name, SERVICES_LOGDIR, svc->svc[i].name);
	if (ssh && ssh->want_up && !cfg->passwd[0])
		log_step("sshd: root has no password (no passwd= given): password logins stay off");
}

static void say_ready(void)
{
	/* Printed even when quiet: the one line that says the system is up (tests and people wait for it). */
	int pkgs = dpkg_installed_count(DPKG_STATUS);
	if (pkgs >= 0)
		printf("[*] liveinit %s ready; %d packages available\n", LIVEINIT_VERSION, pkgs);
	else
		printf("[*] liveinit %s ready\n", LIVEINIT_VERSION);
	fflush(stdout);
}

/* usb-storage scans a stick for its disk only after delay_use (1 s in Debian's kernel) from the moment it binds,
 * so a stick present at boot would miss the partition scan.  Wait, at most USB_SCAN_WAIT_MS, until every
 * usb-storage SCSI host has a target (with block: until the target's disk is a block device, which needs its
 * driver, sd_mod, loaded); true when something was waited for. */
#define USB_SCAN_WAIT_MS 3000
static bool has_entry(const char *dir, const char *prefix, bool block)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (!block) {
			found = true;
		} else { /* DIR/targetH:C:T/H:C:T:L/block */
			char sub[600];
			snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
			DIR *t = opendir(sub);
			struct dirent *l;
			while (t && !found && (l = readdir(t))) {
				char path[900];
				snprintf(path, sizeof path, "%s/%s/block", sub, l->d_name);
				found = l->d_name[0] != '.' && access(path, F_OK) == 0;
			}
			if (t)
				closedir(t);
		}
	}
	closedir(d);
	return found;
}

static bool usb_host_pending(const char *host, bool block)
{
	char path[300], name[32];
	snprintf(path, sizeof path, "/sys/class/scsi_host/%s/proc_name", host);
	if (file_read_small(path, name, sizeof name) < 0 || strncmp(name, "usb-storage", 11) != 0)
		return false;
	snprintf(path, sizeof path, "/sys/class/scsi_host/%s/device", host);
	return !has_entry(path, "target", block);
}

static bool wait_usb_storage(bool block)
{
	for (int waited = 0;; waited += 50) {
		bool pending = false;
		DIR *d = opendir("/sys/class/scsi_host");
		if (!d)
			return waited > 0;
		struct dirent *e;
		while (!pending && (e = readdir(d)))
			pending = e->d_name[0] != '.' && usb_host_pending(e->d_name, block);
		closedir(d);
		if (!pending)
			return waited > 0;
		if (waited >= USB_SCAN_WAIT_MS) {
			log_warn("a USB storage device showed no disk within %d s: it is not in /etc/fstab (run mkfstab "
				 "once it is there)", USB_SCAN_WAIT_MS / 1000);
			return false;
		}
		usleep(50000);
	}
}

int init_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (getpid() != 1) {
		fprintf(stderr, "init: must run as PID 1; to stop the system use poweroff, halt or reboot\n");
		return 2;
	}
	int64_t started = boottime_us();
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
	set_modprobe();
	if (p != PLATFORM_UML) {
		load_drivers_bounded();
		if (wait_usb_storage(false)) {
			load_drivers_bounded(); /* the stick's disk: sd_mod */
			wait_usb_storage(true);
		}
	}
	struct fstab_scan scan;
	scan_partitions(p, &scan);
	start_swap(&cfg, &scan);
	fstab_scan_free(&scan);
	net_start(&cfg, &restore); /* the DHCP hook; net_stop() in shutdown_run() is the other half */
	set_root_password(&cfg);

	static struct pid1_state pid1 = { .control_fd = -1 };
	static struct services services;
	start_services(&cfg, &services, &restore, &pid1);
	start_consoles(p, &cfg, &pid1);
	int rc = steptime_append("stage2/ready", started, boottime_us());
	if (rc < 0)
		log_warn("unable to append to the timing record %s: %s", STEPTIME_FILE, strerror(-rc));
	say_ready();

	enum shutdown_kind kind = signal_loop(&handled, &restore, &pid1);
	services_stop_all(&services); /* before the global TERM: each service gets its own stop and line */
	/* The socket would keep /run busy at the unmount step. */
	if (pid1.control_fd >= 0 && (close(pid1.control_fd) < 0 || unlink(SERVICES_SOCKET) < 0))
		log_error("unable to close the control socket %s: %s", SERVICES_SOCKET, strerror(errno));
	shutdown_run(kind, &cfg);
	exitrd_enter(kind, &cfg);  /* leave the root and unmount all of it from outside; returns if it cannot */
	shutdown_unmount("");      /* in place then: the root and what it holds stay, read-only */
	shutdown_reboot(kind);
}
