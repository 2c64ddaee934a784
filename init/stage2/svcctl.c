/* liveinit-svc: ask PID 1 about its services (stage2/services.h) over its control socket.
 *   liveinit-svc status [NAME]   state, pid, uptime, restarts of each service (or of NAME)
 *   liveinit-svc start|stop|restart NAME
 * stop and restart wait until PID 1 reports the service down (stop) or running again (restart), at most
 * --wait SECONDS (default 15).  Exit codes: 0 ok, 1 failure (PID 1 refused, no answer, timeout), 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "stage2/applets.h"
#include "stage2/services.h"

static int usage(void)
{
	fprintf(stderr, "usage: liveinit-svc [--wait SECONDS] status [NAME] | start NAME | stop NAME | restart NAME\n");
	return 2;
}

/* One request, one reply (datagrams; our end autobound so PID 1 can answer).  0 or -1 (printed). */
static int ask(const char *socket_path, const char *req, char *reply, size_t n)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "liveinit-svc: unable to make a socket: %s\n", strerror(errno));
		return -1;
	}
	struct sockaddr_un self = { .sun_family = AF_UNIX };
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	snprintf(to.sun_path, sizeof(to.sun_path), "%s", socket_path);
	struct timeval tv = { 5, 0 };
	int r = -1;
	if (bind(fd, (struct sockaddr *)&self, sizeof(sa_family_t)) < 0)
		fprintf(stderr, "liveinit-svc: unable to bind a reply address: %s\n", strerror(errno));
	else if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		fprintf(stderr, "liveinit-svc: unable to set a receive timeout: %s\n", strerror(errno));
	else if (sendto(fd, req, strlen(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		fprintf(stderr, "liveinit-svc: unable to reach init at %s: %s\n", socket_path, strerror(errno));
	else {
		ssize_t got = recv(fd, reply, n - 1, 0);
		if (got < 0)
			fprintf(stderr, "liveinit-svc: no answer from init on %s: %s\n", socket_path,
				strerror(errno == EAGAIN ? ETIMEDOUT : errno));
		else {
			reply[got] = '\0';
			r = 0;
		}
	}
	close(fd);
	return r;
}

static bool reply_has(const char *reply, const char *word)
{
	return strstr(reply, word) != NULL;
}

int svc_main(int argc, char **argv)
{
	const char *sock = getenv("LIVEINIT_CONTROL");
	if (!sock || !*sock)
		sock = SERVICES_SOCKET;
	long wait_s = 15;
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "--wait") == 0) {
		wait_s = strtol(argv[i + 1], NULL, 10);
		i += 2;
	}
	if (i >= argc)
		return usage();
	const char *verb = argv[i], *name = i + 1 < argc ? argv[i + 1] : NULL;
	bool is_status = strcmp(verb, "status") == 0;
	if (!is_status && strcmp(verb, "start") && strcmp(verb, "stop") && strcmp(verb, "restart"))
		return usage();
	if ((!is_status && !name) || i + 2 < argc)
		return usage();
	char req[128], reply[8192];
	snprintf(req, sizeof(req), "%s%s%s", verb, name ? " " : "", name ? name : "");
	if (ask(sock, req, reply, sizeof(reply)) < 0)
		return 1;
	if (strncmp(reply, "ok\n", 3) != 0) {
		fprintf(stderr, "liveinit-svc: %s", reply);
		return 1;
	}
	/* stop / restart: poll until the stop has completed (restart: running again). */
	bool stop = strcmp(verb, "stop") == 0, restart = strcmp(verb, "restart") == 0;
	for (long waited = 0; (stop || restart) && waited <= wait_s * 1000; waited += 100) {
		if (stop && reply_has(reply, "state=down"))
			break;
		if (restart && reply_has(reply, "state=running"))
			break;
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		snprintf(req, sizeof(req), "status %s", name);
		if (ask(sock, req, reply, sizeof(reply)) < 0)
			return 1;
	}
	fputs(reply + 3, stdout);
	if ((stop && !reply_has(reply, "state=down")) || (restart && !reply_has(reply, "state=running"))) {
		fprintf(stderr, "liveinit-svc: %s %s did not complete within %ld s\n", verb, name, wait_s);
		return 1;
	}
	return 0;
}
