/* Stage 1: /init in the initrd.  The boot, step by step:
 * mounts -> cmdline -> platform -> modules -> find medium -> mount root -> switch root -> exec init.
 * Each step is a line of the timing record (/run/liveinit/timing, stage1/steps.c).
 * Any failure: one line naming the step, the path and the reason, then a rescue shell. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/log.h"
#include "stage1/stage1.h"

static void fatal(const struct s1_error *err)
{
	log_error("%s", err->msg);
	rescue_forever("boot failed");
}

static void maybe_break(const struct live_config *cfg, enum break_point here, const char *name)
{
	if (cfg->brk == here) {
		char why[64];
		snprintf(why, sizeof why, "break=%s", name);
		rescue_shell(why);
	}
}

/* Write the adapt log to ADAPTED_FILE (in /run, which moves into the new root) and say what was done. */
static void report_adapted(const struct adapt_log *log, const char *what)
{
	char text[ADAPT_MAX * 242] = "";
	size_t len = 0;
	for (int i = 0; i < log->n; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", log->line[i]);
	struct s1_error err;
	if (root_write("", ADAPTED_FILE, text, &err) < 0)
		log_error("%s", err.msg);
	log_step("Adapted the root (%s): %d changes, listed in %s", what, log->n, ADAPTED_FILE);
}

/* A root that is not ours: liveinit.stage2 puts our stage 2 in as its init; otherwise, unless
 * liveinit.adapt=0, adapt it to this platform.  Only on an overlay (writes land in its tmpfs upper): a disk
 * root is never written.  Failures are reported and the boot goes on with what the root has. */
static void prepare_root(struct live_config *cfg, bool overlay)
{
	struct adapt_log log = {0};
	struct s1_error err;
	if (cfg->stage2) {
		if (!overlay) {
			log_warn("liveinit.stage2: the root is not an overlay (a disk); not writing into it, running %s",
				 cfg->init);
			return;
		}
		int rc = stage2_prepare(NEWROOT, "", LIVEINIT_RUN, &log, &err);
		if (rc < 0) {
			log_error("liveinit.stage2: %s; running the root's %s", err.msg, cfg->init);
			return;
		}
		if (rc > 0)
			log_warn("the root has no /bin/sh: the console shell is the initrd's busybox (%s/busybox)",
				 LIVEINIT_RUN);
		snprintf(cfg->init, sizeof cfg->init, "%s", STAGE2_INIT);
		report_adapted(&log, "liveinit.stage2");
		return;
	}
	enum root_init kind = adapt_classify(NEWROOT, cfg->init);
	if (!cfg->adapt || !overlay || (kind != INIT_SYSTEMD && kind != INIT_SYSVINIT)) {
		log_debug("not adapting the root (%s%s)", root_init_name(kind),
			  !cfg->adapt ? ", liveinit.adapt=0" : !overlay ? ", not an overlay" : "");
		return;
	}
	if (adapt_root(cfg, NEWROOT, &log, &err) < 0)
		log_error("%s", err.msg);
	report_adapted(&log, root_init_name(kind));
}

static void read_config(struct live_config *cfg)
{
	config_load(cfg, true);
	log_step("liveinit %s stage 1 on %s (%s)", LIVEINIT_VERSION, platform_name(cfg->platform),
		 cfg->platform_given ? "given" : "detected");
}

int main(int argc, char **argv)
{
	(void)argc;
	int64_t started = boottime_us();
	struct s1_error err;
	struct live_config cfg;
	struct medium medium;

	steps_begin(started, "mounts");
	if (early_mounts(&err) < 0)
		fatal(&err);
	step_next("config");
	read_config(&cfg);
	steps_show_early();
	step_next("modules");
	modules_start(&cfg);
	maybe_break(&cfg, BREAK_PREMOUNT, "premount");

	if (cfg.fetch[0]) {
		step_next("fetch");
		char image[512];
		if (mkdir_p(LIVE_DIR, 0755) < 0 || fetch_image(&cfg, image, sizeof image, &err) < 0 ||
		    rootfs_mount_image(&cfg, image, &err) < 0)
			fatal(&err);
		modules_stop();
		maybe_break(&cfg, BREAK_SWITCH, "switch");
		step_next("switch");
		log_step("Switching to the live root, running %s", cfg.init);
		switch_root(&cfg, argv, started, &err);
		fatal(&err);
	}
	step_next("medium");
	if ((cfg.findiso[0] ? findiso_find(&cfg, &medium, &err) : media_find(&cfg, &medium, &err)) < 0)
		fatal(&err);
	modules_found();
	if (cfg.squashroot && medium.probe.type != FS_SQUASHFS) {
		s1_fail(&err, "squashroot: %s holds %s, not a squashfs", medium.dev, fs_type_name(medium.probe.type));
		fatal(&err);
	}
	maybe_break(&cfg, BREAK_MOUNT, "mount");

	log_debug("found %s", medium.dev);
	step_next("rootfs");
	persistence_setup(&cfg, &medium);
	if (rootfs_mount(&cfg, &medium, &err) < 0)
		fatal(&err);
	persistence_mount_dirs();
	modules_stop();
	maybe_break(&cfg, BREAK_SWITCH, "switch");

	log_debug("root mounted");
	step_next("adapt");
	prepare_root(&cfg, medium.probe.type == FS_ISO9660 || medium.probe.type == FS_SQUASHFS);
	step_next("switch");
	log_step("Switching to the live root, running %s", cfg.init);
	switch_root(&cfg, argv, started, &err);
	fatal(&err);
}
