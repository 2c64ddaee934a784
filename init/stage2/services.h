/* Stage 2's services: long-running programs PID 1 starts, keeps alive and stops first at shutdown.
 *
 * A service is a directory DIR/NAME (DIR is /etc/liveinit/services):
 *   run      executable, runs in the foreground; started in NAME's directory, in its own session, stdin on
 *            /dev/null, stdout and stderr appended to LOGDIR/NAME (/run/liveinit/log/NAME)
 *   down     optional file: not started at boot (`liveinit-svc start NAME` starts it)
 *   finish   optional executable: run after `run` exits, as `finish EXITCODE SIGNAL` (-1 for the one that
 *            does not apply), before the restart
 * A `run` that exits is started again after a backoff: 1 s, doubling up to 60 s; a run that lasted 60 s or
 * more counts as healthy and the backoff starts again at 1 s.  Stopping sends SIGTERM (and SIGCONT) to the
 * service's process group, then SIGKILL after the stop timeout (shutdown_timeout=).
 *
 * The table and its transitions take the time and the process operations from the caller, so the unit
 * tests drive them with real processes and a chosen clock. */
#ifndef LIVEINIT_STAGE2_SERVICES_H
#define LIVEINIT_STAGE2_SERVICES_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SERVICES_DIR "/etc/liveinit/services"
#define SERVICES_LOGDIR "/run/liveinit/log"
#define SERVICES_SOCKET "/run/liveinit/control"

#define SVC_MAX 64
#define SVC_NAME_MAX 64
#define SVC_BACKOFF_MIN_MS 1000
#define SVC_BACKOFF_MAX_MS 60000
#define SVC_HEALTHY_MS 60000

enum svc_state {
	SVC_DOWN,      /* not running, not wanted */
	SVC_RUNNING,   /* run is up */
	SVC_FINISHING, /* run exited, finish is up */
	SVC_BACKOFF,   /* waiting for next_ms to start run again */
	SVC_STOPPING,  /* TERM sent; KILL at kill_ms */
};

struct service {
	char name[SVC_NAME_MAX];
	char dir[PATH_MAX];
	bool has_finish;
	bool want_up;
	enum svc_state state;
	pid_t pid;          /* run or finish while RUNNING, FINISHING or STOPPING; 0 otherwise */
	long started_ms;    /* when run last started */
	long next_ms;       /* BACKOFF: when run starts again */
	long kill_ms;       /* STOPPING: when SIGKILL follows */
	long backoff_ms;    /* the delay the next unhealthy exit gets */
	unsigned restarts;  /* starts of run after the first */
	int last_status;    /* wait status of run's last exit; -1 before any */
};

struct services {
	struct service svc[SVC_MAX];
	size_t count;
	char logdir[PATH_MAX];
	long stop_timeout_ms; /* TERM -> KILL */
	const sigset_t *restore; /* the signal mask children get back (PID 1 blocks what it handles) */
};

/* Read DIR: every subdirectory with an executable `run`, sorted by name (start order; stop is the reverse).
 * Entries without `run` are skipped with a note in err (first one only).  A missing DIR is no services.
 * Returns the count, or -errno when DIR cannot be read (err names it). */
int services_load(struct services *s, const char *dir, const char *logdir, char *err, size_t errlen);

struct service *services_find(struct services *s, const char *name);

/* The backoff for an exit of run at now_ms: reset to the minimum when it ran SVC_HEALTHY_MS or longer;
 * returns the delay and doubles backoff_ms (capped) for the next one. */
long svc_backoff_next(struct service *sv, long now_ms);

/* Start every wanted service that is DOWN or whose backoff has passed.  Returns the ms until the next
 * timer (a backoff ending, a KILL due), or -1 for none.  Start failures are printed. */
long services_tick(struct services *s, long now_ms);

/* A child exited: if it was a service's run, finish or stopped process, move that service on (finish, backoff
 * or down).  Returns true if pid belonged to a service. */
bool services_reaped(struct services *s, pid_t pid, int status, long now_ms);

/* Ask for a service to be up or down (liveinit-svc start/stop); stopping sends TERM at once. */
void services_start(struct services *s, struct service *sv, long now_ms);
void services_stop(struct services *s, struct service *sv, long now_ms);

/* Shutdown: stop the running services one by one, last first: TERM, wait up to stop_timeout_ms, KILL.  One
 * console line each ("Stopping service NAME... done" / "killed after N s").  Reaps what it waits for. */
void services_stop_all(struct services *s);

/* One line per service (or just name's): "NAME state=running pid=N uptime=Ns restarts=N want=up".
 * Writes into buf (truncated at n). */
void services_status(const struct services *s, const char *name, long now_ms, char *buf, size_t n);

/* The control socket PID 1 answers liveinit-svc on (a datagram per request and per reply).
 * Returns the fd or -errno. */
int services_control_open(const char *path);
/* Read one request from fd and answer it. */
void services_control_handle(struct services *s, int fd, long now_ms);

/* Handle a request text ("status [NAME]", "start NAME", "stop NAME", "restart NAME") and write the reply:
 * "ok\n" + status lines, or "error: ...\n".  Returns 0, or -1 for an error reply. */
int services_request(struct services *s, const char *req, long now_ms, char *reply, size_t n);

#endif
