/* Small helpers for the stage 2 unit tests: fixture trees in a fresh temporary directory. */
#ifndef LIVEINIT_TEST_STAGE2_UTIL_H
#define LIVEINIT_TEST_STAGE2_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void tu_die(const char *what, const char *path)
{
	fprintf(stderr, "test setup: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

static inline char *tu_tmpdir(void)
{
	char tmpl[] = "/tmp/liveinit-test-XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		tu_die("mkdtemp", tmpl);
	return strdup(d);
}

static inline void tu_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			tu_die("mkdir", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		tu_die("mkdir", buf);
}

static inline void tu_write(const char *path, const char *text)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	tu_mkdirs(dir);
	FILE *f = fopen(path, "w");
	if (!f)
		tu_die("create", path);
	fputs(text, f);
	fclose(f);
}

static inline char *tu_path(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, PATH_MAX, fmt, ap);
	va_end(ap);
	return b;
}

static inline char *tu_read(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r = getdelim(&buf, &n, '\0', f);
	fclose(f);
	if (r < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

/* Run argv with stdout/stderr to /dev/null unless keep_output; returns the exit status or -1. */
static inline int tu_run(char *const argv[], bool keep_output)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (!keep_output) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int tu_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void tu_rmtree(const char *dir)
{
	nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
