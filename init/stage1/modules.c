/* Kernel modules from the initrd: /lib/modules/<release>/ holds the .ko files mkinitrd packed, a trimmed
 * modules.dep and modules.alias, modules.builtin, and liveinit.load (every packed module by name: what
 * `allmodules` loads).  On PC and Xen stage 1 loads only the drivers of the storage devices present, and the
 * filesystems of a live medium (isofs, loop, squashfs, overlay) in the background at idle priority; any other
 * filesystem, or one not in yet, is loaded when the medium needs it (module_need_fs, module_need_loop). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/moddep.h"
#include "common/modload.h"
#include "common/select.h"
#include "common/uevent.h"
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
static void load_listed(void)
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

/* ---- the drivers of the storage devices present, loaded in the background ----
 * A child process walks /sys/devices once (common/select.h) and loads what matches; stage 1 waits only for the
 * first module (or the end of that walk), then scans for the medium while the child goes on.  The devices that
 * appear later -- a disk controller's SCSI disks and CD drives, virtio disks, a USB stick, milliseconds to a
 * second after their bus driver -- announce themselves with a uevent (common/uevent.h) carrying their modalias,
 * and the child loads their drivers as the events come: no walk of /sys while the kernel probes (under qemu TCG
 * a walk every 10 ms took CPU from the very probe stage 1 waits for).  The socket is opened before the walk, so a
 * device added during it is not missed (a module tried twice is skipped).  Without uevents (socket refused) or
 * after an overflow (events lost) it walks again, as it used to.
 * A process, not a thread: fork is in stage 1 already, threads would add 4 KB to it.
 * The pipes: with break=premount the child writes one byte when the first module is in (stage 1 waits for it);
 * stage 1 writes one when the medium is found (modules_found) and closes its end to stop (modules_stop, before
 * the initramfs goes). */

/* Without uevents: walk every WALK_PAUSE_MS, then every WALK_PAUSE_FOUND_MS once the medium is found (other
 * disks, for persistence and swap, may still be appearing behind their controllers). */
#define WALK_PAUSE_MS 10
#define WALK_PAUSE_FOUND_MS 100

static struct {
	pid_t pid, fs_pid;
	int to_child, from_child;
	bool first_sent;
} bg = {.pid = -1, .fs_pid = -1, .to_child = -1, .from_child = -1};

static bool reply_wait(int timeout_ms);
/* How long stage 1 waits for the loader to settle (the load in progress, the events queued). */
#define SETTLE_MAX_MS 5000

static void bg_tell_first(void)
{
	if (bg.first_sent || bg.from_child < 0)
		return;
	bg.first_sent = true;
	ssize_t w = write(bg.from_child, "1", 1);
	(void)w; /* stage 1 gone: nothing to tell */
}

/* Insert a module file: async_probe, a line in the timing record for each module inserted (or declined: "no
 * such device here").  Returns what modload_file returned. */
static int load_timed(const char *path)
{
	int64_t t0 = boottime_us();
	int rc = modload_file(path, MODLOAD_ASYNC_PROBE);
	enum modload_outcome out = modload_outcome(rc);
	char name[80], line[100];
	moddep_normalise(path, name, sizeof name);
	snprintf(line, sizeof line, "module/%s", name);
	if (out == MODLOAD_LOADED || out == MODLOAD_NO_DEVICE)
		step_record(line, t0, boottime_us());
	if (out == MODLOAD_NO_DEVICE)
		log_debug("module %s: no such device here", path);
	if (out == MODLOAD_LOADED)
		log_debug("loaded %s", path);
	return rc;
}

/* The storage session's loader: tells stage 1 when the first module is in. */
static int bg_load(void *ctx, const char *path)
{
	(void)ctx;
	int rc = load_timed(path);
	if (modload_outcome(rc) == MODLOAD_LOADED)
		bg_tell_first();
	return rc;
}

static void bg_warn(void *ctx, const char *msg)
{
	(void)ctx;
	log_warn("%s", msg);
}

/* The uevents waiting: the driver of each device added.  Returns -ENOBUFS when events were lost (the caller
 * walks), 0 otherwise. */
static int bg_events(struct select *sel, int fd)
{
	struct uevent ev;
	int rc;
	while ((rc = uevent_read(fd, &ev)) > 0)
		if (!strcmp(ev.action, "add") && ev.modalias[0]) {
			log_debug("uevent: add %s %s", ev.subsystem, ev.modalias);
			select_device(sel, ev.modalias);
		}
	return rc == -ENOBUFS ? rc : 0;
}

/* The child: load until told to stop (or rootdelay passed); never returns. */
static void bg_main(enum platform platform, int64_t until_ms)
{
	char dir[320], failed[600];
	module_dir(dir, sizeof dir);
	int ev = uevent_open();
	if (ev < 0)
		log_debug("no uevents (%s): walking /sys every %d ms instead", strerror(-ev), WALK_PAUSE_MS);
	struct select sel;
	struct select_opts o = {.classes = SELECT_STORAGE, .platform = platform, .moddir = dir, .load = bg_load,
				.warn = bg_warn};
	int rc = select_start(&sel, &o, failed, sizeof failed);
	bg_tell_first(); /* a walk ended: stage 1 need not wait any longer, whatever it found */
	unsigned pause_ms = WALK_PAUSE_MS;
	while (rc >= 0) {
		int64_t left = until_ms ? until_ms - monotonic_ms() : -1;
		if (until_ms && left <= 0)
			break;
		int timeout = ev >= 0 ? (int)(left < 0 || left > 1000 ? 1000 : left) : (int)pause_ms;
		struct pollfd p[2] = {{.fd = bg.to_child, .events = POLLIN}, {.fd = ev, .events = POLLIN}};
		int n = poll(p, ev >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && p[0].revents) {
			char c;
			if (read(bg.to_child, &c, 1) != 1)
				break; /* stage 1 closed its end: stop */
			if (c == 's') {
				/* Settle: the loads for the devices announced so far, then answer.  (A Xen frontend's
				 * init returns once all its disks are connected.) */
				if (ev >= 0 && bg_events(&sel, ev) == -ENOBUFS)
					rc = select_more(&sel, failed, sizeof failed);
				ssize_t w = write(bg.from_child, "s", 1);
				(void)w;
				continue;
			}
			pause_ms = WALK_PAUSE_FOUND_MS;
		}
		if (ev < 0 && n == 0)
			rc = select_more(&sel, failed, sizeof failed);
		else if (n > 0 && p[1].revents && bg_events(&sel, ev) == -ENOBUFS) {
			log_debug("uevents lost (receive buffer full): walking /sys");
			rc = select_more(&sel, failed, sizeof failed);
		}
	}
	if (rc < 0)
		log_warn("unable to read %s: %s; loading no more drivers", failed, strerror(-rc));
	log_debug("modules: %u loaded, %u declined, %u failed, %u walks", sel.result.loaded, sel.result.declined,
		  sel.result.failed, sel.result.passes);
	_exit(rc < 0);
}

/* ---- the filesystems of a live medium, loaded while the hardware is probed ----
 * isofs, loop, squashfs and overlay are what a CD, a USB stick or a Xen vbd with the live ISO needs, and they go
 * in while the kernel waits for the hardware (an ATA reset sleeps 150 ms, a Xen frontend waits for dom0): a
 * second child at SCHED_IDLE, so it runs only when nothing else wants the CPU and never delays the storage
 * drivers.  A module stage 1 needs before this child got to it is loaded by stage 1 itself (module_need_fs;
 * finit_module waits for a load in flight).  Those the initrd lacks (built in) are skipped. */
static const char *const fs_preload[] = {"isofs", "loop", "squashfs", "overlay"};

static void fs_main(void)
{
	/* musl's sched_setscheduler is a stub (ENOSYS): the system call itself. */
	struct sched_param sp = {0};
	if (syscall(SYS_sched_setscheduler, 0, SCHED_IDLE, &sp) < 0)
		log_debug("filesystem preload: SCHED_IDLE: %s (loading at normal priority)", strerror(errno));
	char dir[320], failed[512];
	module_dir(dir, sizeof dir);
	struct moddep md;
	if (moddep_load(&md, dir, failed, sizeof failed) < 0)
		_exit(1); /* stage 1 reports it when it needs a filesystem */
	for (size_t i = 0; i < sizeof fs_preload / sizeof fs_preload[0]; i++) {
		struct modlist list = {0};
		if (moddep_resolve(&md, fs_preload[i], &list) == MODDEP_OK)
			for (size_t j = 0; j < list.n; j++) {
				char path[700];
				snprintf(path, sizeof path, "%s/%s", dir, list.paths[j]);
				load_timed(path);
			}
		modlist_free(&list);
	}
	_exit(0);
}

/* Does this initrd carry modules.alias (mkinitrd writes it with the modules)? */
static bool have_aliases(void)
{
	char dir[320], path[400];
	module_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/modules.alias", dir);
	return access(path, F_OK) == 0;
}

void modules_start(const struct live_config *cfg)
{
	if (cfg->all_modules || (cfg->platform != PLATFORM_UML && !have_aliases())) {
		log_debug("loading every module of the initrd%s", cfg->all_modules ? " (allmodules)" : "");
		load_listed();
		return;
	}
	/* UML's disks are built in; its initrd holds only filesystems, loaded when the medium needs them. */
	if (cfg->platform == PLATFORM_UML)
		return;
	/* The medium scan needs no driver to start: it waits for block devices' uevents, and finds the medium as
	 * soon as it appears (xen-blkfront's init returns up to 100 ms after its disk is there: the kernel polls
	 * for connected devices).  Only break=premount waits for the first driver, so its shell has one. */
	bool wait_first = cfg->brk == BREAK_PREMOUNT;
	int down[2], up[2];
	if (pipe2(down, O_CLOEXEC) < 0) {
		log_warn("unable to create a pipe for the module loader: %s; loading every module", strerror(errno));
		load_listed();
		return;
	}
	if (pipe2(up, O_CLOEXEC) < 0) {
		log_warn("unable to create a pipe for the module loader: %s; loading every module", strerror(errno));
		close(down[0]);
		close(down[1]);
		load_listed();
		return;
	}
	int64_t until_ms = cfg->rootwait ? 0 : monotonic_ms() + (int64_t)cfg->rootdelay * 1000;
	fflush(NULL); /* the child's stdio buffers start empty */
	bg.pid = fork();
	if (bg.pid == 0) {
		close(down[1]);
		close(up[0]);
		bg.to_child = down[0];
		bg.from_child = up[1];
		bg.first_sent = !wait_first; /* the first module's byte only when stage 1 waits for it */
		bg_main(cfg->platform, until_ms);
	}
	close(down[0]);
	close(up[1]);
	if (bg.pid < 0) {
		log_warn("unable to start the module loader: fork: %s; loading every module", strerror(errno));
		close(down[1]);
		close(up[0]);
		load_listed();
		return;
	}
	bg.to_child = down[1];
	bg.from_child = up[0];
	bg.fs_pid = fork();
	if (bg.fs_pid == 0) {
		close(down[1]);
		close(up[0]);
		fs_main();
	}
	if (bg.fs_pid < 0)
		log_debug("unable to start the filesystem preload: fork: %s (loaded when needed)", strerror(errno));
	if (wait_first)
		reply_wait(-1);
}

void modules_settle(void)
{
	if (bg.pid <= 0 || bg.to_child < 0)
		return;
	ssize_t w = write(bg.to_child, "s", 1);
	if (w == 1 && !reply_wait(SETTLE_MAX_MS))
		log_warn("loading drivers: a module load has not returned for %d s (a device that does not answer?); "
			 "looking at the disks there are", SETTLE_MAX_MS / 1000);
}

/* One byte from the loader (the first module, or the answer to a settle); false after timeout_ms (-1: none) or
 * when the loader has ended. */
static bool reply_wait(int timeout_ms)
{
	struct pollfd p = {.fd = bg.from_child, .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	char c;
	return n > 0 && read(bg.from_child, &c, 1) == 1;
}

void modules_found(void)
{
	if (bg.pid <= 0)
		return;
	ssize_t w = write(bg.to_child, "f", 1);
	(void)w; /* the child has ended already: nothing to slow down */
}

/* Has child pid ended (reaped now)?  A pid already collected counts as ended. */
static bool child_ended(pid_t *pid)
{
	if (*pid <= 0)
		return true;
	pid_t r = waitpid(*pid, NULL, WNOHANG);
	if (r == *pid || (r < 0 && errno != EINTR)) {
		*pid = -1;
		return true;
	}
	return false;
}

void modules_stop(void)
{
	if (bg.pid <= 0 && bg.fs_pid <= 0)
		return;
	if (bg.to_child >= 0)
		close(bg.to_child); /* the loader sees POLLHUP at once, or after the load in progress */
	if (bg.from_child >= 0)
		close(bg.from_child);
	bg.to_child = bg.from_child = -1;
	/* A module load waits for the kernel's asynchronous probes, a dying disk's among them: the loader may be
	 * stuck there for minutes.  Wait a bounded time, then go on without it (it is a child of PID 1, which
	 * stage 2 stays: its reaper collects it when the load returns).  The wait is in 1 ms steps: the children
	 * usually end within a few, and stage 1 is waiting on the boot's critical path. */
	for (int waited = 0; waited < 2000; waited++) {
		bool a = child_ended(&bg.pid), b = child_ended(&bg.fs_pid);
		if (a && b)
			return;
		usleep(1000);
	}
	log_warn("loading drivers: a module load has not returned for 2 s (a device that does not answer?); "
		 "going on without waiting for it");
	if (bg.pid > 0)
		kill(bg.pid, SIGKILL);
	if (bg.fs_pid > 0)
		kill(bg.fs_pid, SIGKILL);
	bg.pid = bg.fs_pid = -1;
}

/* ---- the drivers of the network hardware present, for fetch= ----
 * Called on each turn of netup's wait for the interface: the first call reads the tables and walks /sys once,
 * later calls walk again, because a bus driver's devices appear only after it is in (virtio_pci, loaded for a
 * virtio NIC's PCI function, then shows the virtio device that wants virtio_net).  In the foreground: netup
 * waits for the interface anyway.  The NIC drivers are packed '+' (not in liveinit.load), so `allmodules`
 * selects them the same way.  UML's NICs are built in. */
static struct {
	enum { NET_IDLE, NET_WALKING, NET_OFF } state;
	struct select sel;
	char dir[320];
} net = {.state = NET_IDLE};

/* The network session's loader. */
static int net_load(void *ctx, const char *path)
{
	(void)ctx;
	return load_timed(path);
}

void modules_network(const struct live_config *cfg)
{
	if (net.state == NET_OFF || cfg->platform == PLATFORM_UML)
		return;
	char failed[600];
	int rc;
	if (net.state == NET_IDLE) {
		module_dir(net.dir, sizeof net.dir);
		if (!have_aliases()) {
			net.state = NET_OFF; /* an initrd without modules: the NIC driver is built in or absent */
			return;
		}
		struct select_opts o = {.classes = SELECT_NETWORK, .platform = cfg->platform, .moddir = net.dir,
					.load = net_load, .warn = bg_warn};
		rc = select_start(&net.sel, &o, failed, sizeof failed);
		net.state = NET_WALKING;
	} else {
		rc = select_more(&net.sel, failed, sizeof failed);
	}
	if (rc < 0) {
		log_warn("unable to read %s: %s; loading no network drivers", failed, strerror(-rc));
		modules_network_end();
		net.state = NET_OFF;
	}
}

void modules_network_end(void)
{
	if (net.state != NET_WALKING)
		return;
	log_debug("network modules: %u loaded, %u declined, %u failed, %u walks", net.sel.result.loaded,
		  net.sel.result.declined, net.sel.result.failed, net.sel.result.passes);
	select_end(&net.sel);
	net.state = NET_OFF;
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
