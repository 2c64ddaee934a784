#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/clock.h"

/* Set once from the command line before anything is printed; a process-wide output mode. */
static bool quiet_mode;
static bool debug_mode;

void log_set_quiet(bool quiet) { quiet_mode = quiet; }
void log_set_debug(bool debug) { debug_mode = debug; }
bool log_is_quiet(void) { return quiet_mode; }

static void vprint(FILE *f, const char *prefix, const char *fmt, va_list ap, const char *end)
{
	fputs(prefix, f);
	vfprintf(f, fmt, ap);
	fputs(end, f);
	fflush(f);
}

void log_step(const char *fmt, ...)
{
	if (quiet_mode)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprint(stdout, "[*] ", fmt, ap, "\n");
	va_end(ap);
}

void log_begin(const char *fmt, ...)
{
	if (quiet_mode)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprint(stdout, "[*] ", fmt, ap, "... ");
	va_end(ap);
}

void log_done(const char *word)
{
	if (quiet_mode)
		return;
	fputs(word, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Debug lines carry CLOCK_MONOTONIC milliseconds (common/clock.h), so `debug` doubles as a boot profile. */
void log_debug(const char *fmt, ...)
{
	if (!debug_mode)
		return;
	long long ms = monotonic_ms();
	fprintf(stderr, "liveinit: debug: [%lld.%03lld] ", ms / 1000, ms % 1000);
	va_list ap;
	va_start(ap, fmt);
	vprint(stderr, "", fmt, ap, "\n");
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint(stderr, "liveinit: warning: ", fmt, ap, "\n");
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint(stderr, "liveinit: ", fmt, ap, "\n");
	va_end(ap);
}
