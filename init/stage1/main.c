/* Stage 1: /init in the initrd.  The boot, step by step:
 * mounts -> cmdline -> platform -> modules -> find medium -> mount root -> switch root -> exec init.
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

static void read_config(struct live_config *cfg)
{
	config_load(cfg, true);
	log_step("liveinit %s stage 1 on %s (%s)", LIVEINIT_VERSION, platform_name(cfg->platform),
		 cfg->platform_given ? "given" : "detected");
}

int main(int argc, char **argv)
{
	(void)argc;
	int64_t started = monotonic_us();
	struct s1_error err;
	struct live_config cfg;
	struct medium medium;

	if (early_mounts(&err) < 0)
		fatal(&err);
	read_config(&cfg);
	log_debug("modules");
	modules_load_initial();
	log_debug("modules loaded");
	maybe_break(&cfg, BREAK_PREMOUNT, "premount");

	if (cfg.fetch[0]) {
		char image[512];
		if (mkdir_p(LIVE_DIR, 0755) < 0 || fetch_image(&cfg, image, sizeof image, &err) < 0 ||
		    rootfs_mount_image(&cfg, image, &err) < 0)
			fatal(&err);
		maybe_break(&cfg, BREAK_SWITCH, "switch");
		log_step("Switching to the live root, running %s", cfg.init);
		switch_root(&cfg, argv, started, &err);
		fatal(&err);
	}
	if ((cfg.findiso[0] ? findiso_find(&cfg, &medium, &err) : media_find(&cfg, &medium, &err)) < 0)
		fatal(&err);
	if (cfg.squashroot && medium.probe.type != FS_SQUASHFS) {
		s1_fail(&err, "squashroot: %s holds %s, not a squashfs", medium.dev, fs_type_name(medium.probe.type));
		fatal(&err);
	}
	maybe_break(&cfg, BREAK_MOUNT, "mount");

	log_debug("found %s", medium.dev);
	persistence_setup(&cfg, &medium);
	if (rootfs_mount(&cfg, &medium, &err) < 0)
		fatal(&err);
	persistence_mount_dirs();
	maybe_break(&cfg, BREAK_SWITCH, "switch");

	log_debug("root mounted");
	log_step("Switching to the live root, running %s", cfg.init);
	switch_root(&cfg, argv, started, &err);
	fatal(&err);
}
