/* Console messages in the seeds' style: "[*] Doing something... done".
 * Library code returns errors; the pipelines (stage1/stage2 main) print them through here. */
#ifndef LIVEINIT_LOG_H
#define LIVEINIT_LOG_H

#include <stdbool.h>

/* quiet: progress lines are dropped, errors and warnings still print. */
void log_set_quiet(bool quiet);
void log_set_debug(bool debug);
bool log_is_quiet(void);

/* "[*] fmt\n" on stdout (the console); nothing when quiet. */
void log_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_step but without the newline, for "... done" completions via log_done(). */
void log_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_done(const char *word);
/* Only with `debug`. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "liveinit: warning: fmt\n" on stderr, always. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "liveinit: fmt\n" on stderr, always: one line naming the step, path and strerror. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
