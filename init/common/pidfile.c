#include "common/pidfile.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"

pid_t pidfile_read(const char *path)
{
	char b[32];
	ssize_t n = file_read_small(path, b, sizeof(b));
	if (n < 0)
		return (pid_t)n;
	long v = 0;
	char *c = b;
	for (; *c >= '0' && *c <= '9' && v <= 0x3fffffff; c++)
		v = v * 10 + (*c - '0');
	if (c == b || (*c && *c != '\n') || v <= 0 || v > 0x3fffffff)
		return -EINVAL;
	return (pid_t)v;
}

bool pid_is(const char *procroot, pid_t pid, const char *comm)
{
	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return false;
	char path[512], name[32];
	snprintf(path, sizeof(path), "%s/proc/%d/comm", procroot, (int)pid);
	ssize_t n = file_read_small(path, name, sizeof(name));
	if (n < 0) {
		/* ENOENT with /proc there: it exited just now.  No /proc at all: trust the pid file. */
		snprintf(path, sizeof(path), "%s/proc/self", procroot);
		return n != -ENOENT || access(path, F_OK) < 0;
	}
	char *nl = strchr(name, '\n');
	if (nl)
		*nl = '\0';
	return strcmp(name, comm) == 0;
}

pid_t pidfile_read_checked(const char *path, const char *procroot, const char *comm)
{
	pid_t pid = pidfile_read(path);
	if (pid > 0 && !pid_is(procroot, pid, comm))
		return -ESRCH;
	return pid;
}
