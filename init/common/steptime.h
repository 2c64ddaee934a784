/* The timing record: /run/liveinit/timing, one line per boot or shutdown step,
 *     NAME START_MS DURATION_MS
 * both in milliseconds of the kernel's boot clock (CLOCK_BOOTTIME: 0 is when the kernel started, so the first
 * stage 1 line also says how long the kernel took).  Stage 1 writes its steps ("stage1/...", contiguous, and
 * "stage1" for the whole), the modules it loads ("module/NAME", in the background, overlapping the steps);
 * stage 2 appends "stage2/ready"; the shutdown appends "shutdown/..." for each step.  With `debug` each line is
 * also printed.  See README.md "Where did the boot go?". */
#ifndef LIVEINIT_COMMON_STEPTIME_H
#define LIVEINIT_COMMON_STEPTIME_H

#include <stdint.h>

#define STEPTIME_FILE "/run/liveinit/timing"

/* Append "name start duration" for a step from start_us to end_us (boottime_us() values) to STEPTIME_FILE,
 * creating it and /run/liveinit; print the line with log_debug.  Milliseconds are the microsecond figures
 * divided and truncated, so contiguous steps add up exactly to their whole.  Returns 0 or -errno
 * (the caller reports it, naming STEPTIME_FILE). */
int steptime_append(const char *name, int64_t start_us, int64_t end_us);

#endif
