/* Stage 1's part of the timing record (common/steptime.h): contiguous steps, each ending where the next
 * begins, so that they add up to the "stage1" line and to the figure printed to the kernel log. */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/steptime.h"
#include "stage1/stage1.h"

static struct {
	int64_t started_us, step_us;
	char name[40];
	bool warned;
} st;

void step_record(const char *name, int64_t start_us, int64_t end_us)
{
	int rc = steptime_append(name, start_us, end_us);
	if (rc < 0 && !st.warned) {
		st.warned = true; /* /run missing or full: one warning, the boot goes on */
		log_warn("unable to write the timing record %s: %s", STEPTIME_FILE, strerror(-rc));
	}
}

void steps_begin(int64_t started_us, const char *first)
{
	st.started_us = st.step_us = started_us;
	snprintf(st.name, sizeof st.name, "stage1/%s", first);
}

void step_next(const char *name)
{
	int64_t now = boottime_us();
	step_record(st.name, st.step_us, now);
	st.step_us = now;
	snprintf(st.name, sizeof st.name, "stage1/%s", name);
}

int64_t steps_end(void)
{
	int64_t now = boottime_us();
	step_record(st.name, st.step_us, now);
	step_record("stage1", st.started_us, now);
	return now;
}

void steps_show_early(void)
{
	char buf[256];
	if (file_read_small(STEPTIME_FILE, buf, sizeof buf) <= 0)
		return;
	for (char *line = buf, *next; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		log_debug("timing: %s", line);
	}
}
