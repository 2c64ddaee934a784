#include "stage2/services.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

/* ---- the table ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct service *)a)->name, ((const struct service *)b)->name);
}

static bool is_executable(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

int services_load(struct services *s, const char *dir, const char *logdir, char *err, size_t errlen)
{
	s->count = 0;
	snprintf(s->logdir, sizeof(s->logdir), "%s", logdir);
	if (errlen)
		err[0] = '\0';
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		int e = errno;
		snprintf(err, errlen, "unable to read the service directory %s: %s", dir, strerror(e));
		return -e;
	}
	struct dirent *de;
	while ((de = readdir(d)) && s->count < SVC_MAX) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= SVC_NAME_MAX)
			continue;
		struct service *sv = &s->svc[s->count];
		memset(sv, 0, sizeof(*sv));
		if (snprintf(sv->dir, sizeof(sv->dir), "%s/%s", dir, de->d_name) >= (int)sizeof(sv->dir))
			continue;
		struct stat st;
		if (stat(sv->dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!is_executable(sv->dir, "run")) {
			if (errlen && !err[0])
				snprintf(err, errlen, "service %s skipped: %s/run is missing or not executable", de->d_name,
					 sv->dir);
			continue;
		}
		memcpy(sv->name, de->d_name, strlen(de->d_name) + 1); /* length checked above */
		sv->has_finish = is_executable(sv->dir, "finish");
		sv->want_up = !exists(sv->dir, "down");
		sv->state = SVC_DOWN;
		sv->backoff_ms = SVC_BACKOFF_MIN_MS;
		sv->last_status = -1;
		s->count++;
	}
	closedir(d);
	qsort(s->svc, s->count, sizeof(s->svc[0]), by_name);
	return (int)s->count;
}

struct service *services_find(struct services *s, const char *name)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->svc[i].name, name) == 0)
			return &s->svc[i];
	return NULL;
}

long svc_backoff_next(struct service *sv, long now_ms)
{
	if (now_ms - sv->started_ms >= SVC_HEALTHY_MS)
		sv->backoff_ms = SVC_BACKOFF_MIN_MS;
	long delay = sv->backoff_ms;
	sv->backoff_ms = delay * 2 > SVC_BACKOFF_MAX_MS ? SVC_BACKOFF_MAX_MS : delay * 2;
	return delay;
}

/* ---- processes ---- */

/* In the child: own session (so TERM and KILL reach everything it starts), stdin /dev/null, output to the
 * service's log (the console if that cannot be opened), then exec argv[0] in the service's directory. */
static void child_exec(const struct services *s, const struct service *sv, char *const argv[])
{
	if (s->restore)
		sigprocmask(SIG_SETMASK, s->restore, NULL);
	setsid();
	int in = open("/dev/null", O_RDONLY);
	if (in >= 0 && in != 0) {
		dup2(in, 0);
		close(in);
	}
	char log[PATH_MAX + SVC_NAME_MAX + 1];
	snprintf(log, sizeof(log), "%s/%s", s->logdir, sv->name);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0640);
	if (out < 0)
		dprintf(2, "liveinit: service %s: unable to open its log %s: %s; output goes to the console\n",
			sv->name, log, strerror(errno));
	else {
		dup2(out, 1);
		dup2(out, 2);
		if (out > 2)
			close(out);
	}
	if (chdir(sv->dir) < 0) {
		dprintf(2, "liveinit: service %s: unable to change to %s: %s\n", sv->name, sv->dir, strerror(errno));
		_exit(127);
	}
	char *const envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
			       "TERM=linux", NULL };
	execve(argv[0], argv, envp);
	dprintf(2, "liveinit: service %s: unable to run %s/%s: %s\n", sv->name, sv->dir, argv[0], strerror(errno));
	_exit(127);
}

static pid_t spawn(const struct services *s, const struct service *sv, char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0)
		child_exec(s, sv, argv);
	return pid < 0 ? -errno : pid;
}

/* The process group first (everything the service started), the leader itself if the group is gone. */
static void signal_service(const struct service *sv, int sig)
{
	if (kill(-sv->pid, sig) < 0)
		kill(sv->pid, sig);
}

static void start_run(struct services *s, struct service *sv, long now_ms)
{
	if (sv->started_ms) /* started before */
		sv->restarts++;
	sv->started_ms = now_ms > 0 ? now_ms : 1;
	char *const argv[] = { "./run", NULL };
	pid_t pid = spawn(s, sv, argv);
	if (pid < 0) {
		log_error("unable to start service %s: fork: %s", sv->name, strerror((int)-pid));
		sv->pid = 0;
		sv->state = SVC_BACKOFF;
		sv->next_ms = now_ms + svc_backoff_next(sv, now_ms);
		return;
	}
	sv->pid = pid;
	sv->state = SVC_RUNNING;
}

static void start_finish(struct services *s, struct service *sv, int status)
{
	char code[16], sig[16];
	snprintf(code, sizeof(code), "%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	snprintf(sig, sizeof(sig), "%d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	char *const argv[] = { "./finish", code, sig, NULL };
	pid_t pid = spawn(s, sv, argv);
	if (pid < 0) {
		log_error("unable to run %s/finish: fork: %s", sv->dir, strerror((int)-pid));
		sv->pid = 0;
		sv->state = SVC_BACKOFF;
		return;
	}
	sv->pid = pid;
	sv->state = SVC_FINISHING;
}

static long min_timer(long current, long left)
{
	if (left < 0)
		left = 0;
	return current < 0 || left < current ? left : current;
}

long services_tick(struct services *s, long now_ms)
{
	long next = -1;
	for (size_t i = 0; i < s->count; i++) {
		struct service *sv = &s->svc[i];
		if (sv->state == SVC_BACKOFF && !sv->want_up)
			sv->state = SVC_DOWN;
		if (sv->want_up && (sv->state == SVC_DOWN || (sv->state == SVC_BACKOFF && now_ms >= sv->next_ms)))
			start_run(s, sv, now_ms);
		if (sv->state == SVC_BACKOFF)
			next = min_timer(next, sv->next_ms - now_ms);
		if (sv->state == SVC_STOPPING) {
			if (sv->kill_ms && now_ms >= sv->kill_ms) {
				log_warn("service %s did not stop on SIGTERM within %ld s; sending SIGKILL", sv->name,
					 s->stop_timeout_ms / 1000);
				signal_service(sv, SIGKILL);
				sv->kill_ms = 0;
			}
			if (sv->kill_ms)
				next = min_timer(next, sv->kill_ms - now_ms);
		}
	}
	return next;
}

bool services_reaped(struct services *s, pid_t pid, int status, long now_ms)
{
	for (size_t i = 0; i < s->count; i++) {
		struct service *sv = &s->svc[i];
		if (sv->pid != pid || pid <= 0)
			continue;
		sv->pid = 0;
		switch (sv->state) {
		case SVC_RUNNING:
			sv->last_status = status;
			sv->next_ms = now_ms + svc_backoff_next(sv, now_ms);
			if (sv->has_finish)
				start_finish(s, sv, status);
			else
				sv->state = SVC_BACKOFF;
			break;
		case SVC_FINISHING:
			sv->state = SVC_BACKOFF;
			break;
		default: /* STOPPING */
			sv->last_status = status;
			sv->state = SVC_DOWN;
			break;
		}
		return true;
	}
	return false;
}

void services_start(struct services *s, struct service *sv, long now_ms)
{
	sv->want_up = true;
	if (sv->state == SVC_DOWN || sv->state == SVC_BACKOFF) {
		sv->backoff_ms = SVC_BACKOFF_MIN_MS;
		start_run(s, sv, now_ms);
	}
}

void services_stop(struct services *s, struct service *sv, long now_ms)
{
	sv->want_up = false;
	if (sv->state == SVC_BACKOFF || sv->state == SVC_DOWN) {
		sv->state = SVC_DOWN;
		return;
	}
	if (sv->state == SVC_STOPPING)
		return;
	signal_service(sv, SIGTERM);
	signal_service(sv, SIGCONT); /* a stopped process cannot act on TERM */
	sv->state = SVC_STOPPING;
	sv->kill_ms = now_ms + s->stop_timeout_ms;
	if (!sv->kill_ms)
		sv->kill_ms = 1;
}

/* ---- shutdown ---- */

/* Wait for pid up to ms; true when it exited (and was reaped). */
static bool wait_exit(pid_t pid, long ms, int *status)
{
	long deadline = monotonic_ms() + ms, delay = 2;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			return true;
		long left = deadline - monotonic_ms();
		if (left <= 0)
			return false;
		long d = delay < left ? delay : left;
		struct timespec ts = { d / 1000, (d % 1000) * 1000000 };
		nanosleep(&ts, NULL);
		if (delay < 50)
			delay *= 2;
	}
}

void services_stop_all(struct services *s)
{
	for (size_t i = s->count; i-- > 0;) {
		struct service *sv = &s->svc[i];
		sv->want_up = false;
		if (!sv->pid) {
			sv->state = SVC_DOWN;
			continue;
		}
		log_begin("Stopping service %s", sv->name);
		if (sv->state != SVC_STOPPING) {
			signal_service(sv, SIGTERM);
			signal_service(sv, SIGCONT);
		}
		int status = 0;
		const char *how = "done";
		char killed[64];
		if (!wait_exit(sv->pid, s->stop_timeout_ms, &status)) {
			signal_service(sv, SIGKILL);
			snprintf(killed, sizeof(killed), "killed after %ld s", s->stop_timeout_ms / 1000);
			how = wait_exit(sv->pid, 3000, &status) ? killed : "still there after SIGKILL";
		}
		log_done(how);
		sv->pid = 0;
		sv->state = SVC_DOWN;
	}
}

/* ---- status and control ---- */

static const char *state_name(enum svc_state st)
{
	static const char *const names[] = { "down", "running", "finishing", "backoff", "stopping" };
	return names[st];
}

static size_t status_line(const struct service *sv, long now_ms, char *buf, size_t n)
{
	int len = snprintf(buf, n, "%s state=%s", sv->name, state_name(sv->state));
	if (sv->pid)
		len += snprintf(buf + len, n > (size_t)len ? n - len : 0, " pid=%d", (int)sv->pid);
	if (sv->state == SVC_RUNNING)
		len += snprintf(buf + len, n > (size_t)len ? n - len : 0, " uptime=%lds",
				(now_ms - sv->started_ms) / 1000);
	if (sv->state == SVC_BACKOFF)
		len += snprintf(buf + len, n > (size_t)len ? n - len : 0, " next_start=%lds",
				(sv->next_ms - now_ms + 999) / 1000);
	len += snprintf(buf + len, n > (size_t)len ? n - len : 0, " restarts=%u want=%s", sv->restarts,
			sv->want_up ? "up" : "down");
	if (sv->last_status != -1) {
		int st = sv->last_status;
		len += snprintf(buf + len, n > (size_t)len ? n - len : 0, " last_exit=%s%d",
				WIFSIGNALED(st) ? "signal:" : "", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	len += snprintf(buf + len, n > (size_t)len ? n - len : 0, "\n");
	return (size_t)len < n ? (size_t)len : n;
}

void services_status(const struct services *s, const char *name, long now_ms, char *buf, size_t n)
{
	size_t used = 0;
	if (n)
		buf[0] = '\0';
	for (size_t i = 0; i < s->count && used + 1 < n; i++)
		if (!name || strcmp(name, s->svc[i].name) == 0)
			used += status_line(&s->svc[i], now_ms, buf + used, n - used);
}

int services_request(struct services *s, const char *req, long now_ms, char *reply, size_t n)
{
	char verb[16] = "", name[SVC_NAME_MAX + 1] = "";
	int k = sscanf(req, "%15s %64s", verb, name);
	bool known = strcmp(verb, "status") == 0 || strcmp(verb, "start") == 0 || strcmp(verb, "stop") == 0 ||
		     strcmp(verb, "restart") == 0;
	if (k < 1 || !known || (k < 2 && strcmp(verb, "status") != 0)) {
		snprintf(reply, n, "error: unknown request \"%.40s\" (status [NAME], start|stop|restart NAME)\n", req);
		return -1;
	}
	struct service *sv = k == 2 ? services_find(s, name) : NULL;
	if (k == 2 && !sv) {
		snprintf(reply, n, "error: no service %s in %s\n", name, SERVICES_DIR);
		return -1;
	}
	if (strcmp(verb, "start") == 0)
		services_start(s, sv, now_ms);
	else if (strcmp(verb, "stop") == 0)
		services_stop(s, sv, now_ms);
	else if (strcmp(verb, "restart") == 0) {
		services_stop(s, sv, now_ms);
		sv->want_up = true; /* started again when the stop completes */
		if (sv->state == SVC_DOWN)
			services_start(s, sv, now_ms);
	}
	int len = snprintf(reply, n, "ok\n");
	services_status(s, sv ? sv->name : NULL, now_ms, reply + len, n - (size_t)len);
	return 0;
}

int services_control_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* Only root may talk to PID 1: the socket is made 0600 before anyone can connect. */
	mode_t old = umask(077);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (r < 0) {
		close(fd);
		return -e;
	}
	return fd;
}

void services_control_handle(struct services *s, int fd, long now_ms)
{
	char req[256], reply[8192];
	struct sockaddr_un from;
	socklen_t fromlen = sizeof(from);
	ssize_t n = recvfrom(fd, req, sizeof(req) - 1, 0, (struct sockaddr *)&from, &fromlen);
	if (n < 0)
		return;
	req[n] = '\0';
	services_request(s, req, now_ms, reply, sizeof(reply));
	if (fromlen > sizeof(sa_family_t) &&
	    sendto(fd, reply, strlen(reply), MSG_DONTWAIT, (struct sockaddr *)&from, fromlen) < 0)
		log_debug("liveinit-svc: unable to send the reply: %s", strerror(errno));
}
