#include "common/clock.h"

#include <time.h>

static int64_t read_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts); /* cannot fail for these clocks on any kernel we boot */
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t monotonic_us(void) { return read_us(CLOCK_MONOTONIC); }
int64_t monotonic_ms(void) { return read_us(CLOCK_MONOTONIC) / 1000; }
int64_t boottime_ms(void) { return read_us(CLOCK_BOOTTIME) / 1000; }
