/* Pid files (/run/dhcpc/IFACE.pid): reading one, and checking that the pid still names the program that
 * wrote it.  A pid file left by an earlier run may name an unrelated process by now: never signal or spare a
 * process on the pid file's word alone. */
#ifndef LIVEINIT_COMMON_PIDFILE_H
#define LIVEINIT_COMMON_PIDFILE_H

#include <stdbool.h>
#include <sys/types.h>

/* The pid in path ("1234" or "1234\n"): the pid, or -errno (-EINVAL when it holds no number > 0). */
pid_t pidfile_read(const char *path);

/* Is pid a running process whose PROCROOT/proc/PID/comm is comm?  procroot "" for the real /proc.  Without
 * /proc (nothing there at all) the pid file is trusted as long as the process exists. */
bool pid_is(const char *procroot, pid_t pid, const char *comm);

/* pidfile_read, then pid_is: the pid, or -errno (-ESRCH when it is not a running comm). */
pid_t pidfile_read_checked(const char *path, const char *procroot, const char *comm);

#endif
