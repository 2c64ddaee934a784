/* toram: copy the squashfs into a tmpfs so the medium can go, but only when it fits.
 * Admission: the squashfs plus a margin for the overlay's upper (also RAM) must fit in MemAvailable, and the
 * squashfs must fit in the tmpfs's size limit (by default half of RAM).  Copying more would push the
 * system into the OOM killer at the first write, long after the boot "succeeded". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "stage1/stage1.h"

#define MIB (1024.0 * 1024.0)

bool toram_fits(uint64_t squashfs, uint64_t mem_available, uint64_t tmpfs_limit)
{
	return squashfs + TORAM_OVERLAY_MARGIN <= mem_available && squashfs <= tmpfs_limit;
}

int meminfo_available(const char *path, uint64_t *bytes)
{
	char *text;
	int rc = file_read(path, &text, NULL);
	if (rc < 0)
		return rc;
	const char *line = strstr(text, "\nMemAvailable:");
	unsigned long long kb;
	rc = line && sscanf(line + 1, "MemAvailable: %llu kB", &kb) == 1 ? 0 : -ENOENT;
	if (rc == 0)
		*bytes = (uint64_t)kb * 1024;
	free(text);
	return rc;
}

/* Percent and MB/s once the copy has run a second: one updating line on a terminal, a line per second
 * otherwise (a serial log keeps every line); nothing with quiet. */
struct progress {
	const char *what;
	double start, last;
	bool shown, tty;
};

static void progress_show(struct progress *p, uint64_t done, uint64_t total, bool final)
{
	double now = monotonic_ms() / 1000.0;
	if (log_is_quiet() || (!final && now - p->start < 1.0) || (!final && !p->tty && now - p->last < 1.0) ||
	    (final && !p->shown))
		return;
	double rate = done / 1e6 / (now - p->start > 0 ? now - p->start : 1e-9);
	int pct = total ? (int)(done * 100 / total) : 100;
	if (p->tty)
		printf("\r[*] Copying %s to RAM: %3d%% %.0f MB/s%s", p->what, pct, rate, final ? "\n" : "");
	else
		printf("[*] Copying %s to RAM: %d%% %.0f MB/s\n", p->what, pct, rate);
	fflush(stdout);
	p->shown = true;
	p->last = now;
}

static void copy_progress(void *ctx, uint64_t done, uint64_t total)
{
	progress_show(ctx, done, total, done == total);
}

int toram_copy(const struct live_config *cfg, const char *src, const char *shown, char *dst, size_t size,
	       struct s1_error *err)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return s1_fail(err, "unable to stat %s: %s", src, strerror(errno));
	uint64_t avail = 0;
	int rc = meminfo_available("/proc/meminfo", &avail);
	if (rc < 0)
		return s1_fail(err, "toram: unable to read MemAvailable from /proc/meminfo: %s", strerror(-rc));
	/* One tmpfs for every layer copied (live-build ISOs may have several squashfs images). */
	static bool mounted;
	bool mounted_here = !mounted;
	if (!mounted && mount_fs("tmpfs", TORAM_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", err) < 0)
		return -1;
	mounted = true;
	struct statfs sf;
	if (statfs(TORAM_DIR, &sf) < 0)
		return s1_fail(err, "unable to statfs %s: %s", TORAM_DIR, strerror(errno));
	uint64_t limit = (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize; /* free: earlier layers may be in it */
	uint64_t need = (uint64_t)st.st_size;
	if (!toram_fits(need, avail, limit)) {
		if (mounted_here && umount(TORAM_DIR) == 0)
			mounted = false;
		s1_fail(err, "toram: %s needs %.0f MiB (%.0f MiB + %.0f MiB for the overlay) but MemAvailable is %.0f MiB "
			     "(tmpfs limit %.0f MiB); %s",
			shown, (need + TORAM_OVERLAY_MARGIN) / MIB, need / MIB, TORAM_OVERLAY_MARGIN / MIB, avail / MIB,
			limit / MIB, cfg->toram_strict ? "toram=strict: not booting from the medium" : "booting from the medium");
		return cfg->toram_strict ? -1 : 1;
	}
	snprintf(dst, size, "%s/%s", TORAM_DIR, strrchr(src, '/') + 1);
	double t0 = monotonic_ms() / 1000.0;
	struct progress p = {.what = shown, .start = t0, .last = t0, .tty = isatty(STDOUT_FILENO)};
	if (copy_file_progress(src, dst, 0444, copy_progress, &p, err) < 0)
		return -1;
	double secs = monotonic_ms() / 1000.0 - t0;
	log_step("Copied %s to RAM: %.0f MiB in %.2f s, %.0f MB/s", shown, need / MIB, secs,
		 need / 1e6 / (secs > 0 ? secs : 1e-9));
	return 0;
}
