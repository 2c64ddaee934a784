/* The one clock: milliseconds (or microseconds) since an arbitrary start, never stepped by settimeofday. */
#ifndef LIVEINIT_COMMON_CLOCK_H
#define LIVEINIT_COMMON_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: timeouts and durations (stops while the machine is suspended). */
int64_t monotonic_ms(void);
int64_t monotonic_us(void);

/* CLOCK_BOOTTIME: keeps counting across suspend, as a DHCP lease does. */
int64_t boottime_ms(void);

#endif
