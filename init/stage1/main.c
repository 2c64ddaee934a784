/* Stage 1: /init in the initrd.  The boot, step by step:
 * mounts -> cmdline -> platform -> modules -> find medium -> mount root -> switch root -> exec init.
 * Each step is a line of the timing record (/run/liveinit/timing, stage1/steps.c).
 * Any failure: one line naming the step, the path and the reason, then a rescue shell. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
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
	step_next("switch");
	log_step("Switching to the live root, running %s", cfg.init);
	switch_root(&cfg, argv, started, &err);
	fatal(&err);
}
