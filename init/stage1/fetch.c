/* fetch=URL: bring the network up (netup.c), resolve the host (a stub resolver: A over UDP to the lease's
 * DNS servers, retries, search domain), GET the image over HTTP/1.1 into a tmpfs (size checked against
 * MemAvailable first), with a progress line, timeouts, and retries with backoff that resume with Range.
 * Then the SHA-256 from fetch-sha256= or URL.sha256 is checked as `check` does.  Every failure is one line
 * naming the URL and the step; after the last retry it goes to the caller (the rescue shell). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/dns.h"
#include "common/fileio.h"
#include "common/http.h"
#include "common/log.h"
#include "common/url.h"
#include "stage1/stage1.h"

#define TRIES 5                 /* attempts per step before the rescue shell; backoff 1 2 4 8 s between */
#define CONNECT_MS 10000
#define IDLE_MS 15000           /* no byte for this long: the connection is dead */
#define DNS_TRIES 3
#define MEM_RESERVE (64ull << 20)   /* what must stay free beside the image for the rest of the boot */

/* One step's failure: the message, and whether trying again can help. */
struct attempt {
	bool permanent;
};

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- DNS ---- */

static int query_server(struct in_addr server, const char *name, int timeout_ms, struct in_addr *addr, int *rc)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = server};
	uint8_t q[DNS_MAX_MSG], r[DNS_MAX_MSG];
	uint16_t id = (uint16_t)(monotonic_us() ^ getpid());
	size_t qlen = dns_build_query(q, sizeof q, id, name);
	int ret = -EINVAL;
	if (qlen && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && send(fd, q, qlen, 0) == (ssize_t)qlen) {
		ret = -ETIMEDOUT;
		int64_t until = monotonic_ms() + timeout_ms;
		for (int64_t left; (left = until - monotonic_ms()) > 0;) {
			struct pollfd p = {fd, POLLIN, 0};
			if (poll(&p, 1, (int)left) <= 0)
				continue;
			ssize_t n = recv(fd, r, sizeof r, 0);
			if (n < 0) {
				ret = -errno;   /* ECONNREFUSED: nothing listens on port 53 there */
				break;
			}
			struct in_addr addrs[DNS_MAX_ADDRS];
			int count;
			const char *why;
			int res = dns_parse_reply(r, (size_t)n, id, name, addrs, &count, &why);
			if (res == DNS_BAD) {
				log_debug("fetch: ignoring a DNS reply from %s: %s", inet_ntoa(server), why);
				continue;
			}
			*rc = res;
			if (res == DNS_OK)
				*addr = addrs[0];
			ret = 0;
			break;
		}
	} else if (qlen) {
		ret = -errno;
	}
	close(fd);
	return ret;
}

/* Candidates in resolv.conf's order: a name with a dot first as given, then with each search domain. */
static int resolve(const struct net_config *net, const char *host, struct in_addr *addr, char *why, size_t cap)
{
	if (inet_pton(AF_INET, host, addr) == 1)
		return 0;
	if (net->ndns == 0) {
		snprintf(why, cap, "no DNS server (none in the DHCP lease or ip=)");
		return -1;
	}
	char names[4][300];
	int nn = 0;
	bool dotted = strchr(host, '.') != NULL;
	if (dotted)
		snprintf(names[nn++], sizeof names[0], "%s", host);
	char search[256];
	snprintf(search, sizeof search, "%s", net->search);
	for (char *save, *d = strtok_r(search, " ", &save); d && nn < 3; d = strtok_r(NULL, " ", &save))
		snprintf(names[nn++], sizeof names[0], "%s.%s", host, d);
	if (!dotted)
		snprintf(names[nn++], sizeof names[0], "%s", host);
	int last = -ETIMEDOUT;
	bool answered = false;
	for (int i = 0; i < nn; i++) {
		int rc = DNS_SERVFAIL;
		bool done = false;
		for (int t = 0; t < DNS_TRIES && !done; t++)
			for (int s = 0; s < net->ndns && !done; s++) {
				int r = query_server(net->dns[s], names[i], 1000 << t, addr, &rc);
				if (r == 0 && rc != DNS_SERVFAIL)
					done = true;
				else if (r)
					last = r;
			}
		if (done && rc == DNS_OK)
			return 0;
		answered = answered || done;
	}
	if (answered)
		snprintf(why, cap, "name not resolved: %s has no address (NXDOMAIN or no A record)", host);
	else
		snprintf(why, cap, "name not resolved: no answer from the DNS server %s: %s", inet_ntoa(net->dns[0]),
			 strerror(-last));
	return -1;
}

/* ---- HTTP ---- */

static int connect_to(struct in_addr addr, uint16_t port, char *why, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, cap, "unable to create a socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr};
	int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	if (r < 0 && errno == EINPROGRESS) {
		struct pollfd p = {fd, POLLOUT, 0};
		r = poll(&p, 1, CONNECT_MS);
		int e = 0;
		socklen_t el = sizeof e;
		if (r == 0)
			errno = ETIMEDOUT;
		else if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0)
			errno = e;
		r = r > 0 && e == 0 ? 0 : -1;
	}
	if (r < 0) {
		snprintf(why, cap, "connect to %s:%u: %s", inet_ntoa(addr), port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t read_some(int fd, void *buf, size_t cap)
{
	struct pollfd p = {fd, POLLIN, 0};
	int r = poll(&p, 1, IDLE_MS);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (r < 0)
		return -1;
	return recv(fd, buf, cap, 0);
}

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		struct pollfd p = {fd, POLLOUT, 0};
		if (poll(&p, 1, IDLE_MS) <= 0)
			return -1;
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (n > 0) {
			s += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

struct sink {
	int fd;               /* the file in the tmpfs, or -1 for mem */
	char *mem;            /* small bodies (URL.sha256) */
	size_t mem_cap;
	uint64_t have;        /* bytes already there (Range resumes from here) */
	uint64_t total;       /* HTTP_UNKNOWN_LENGTH until a response says */
	int64_t started_ms, last_progress_ms;
	uint64_t started_have;
	const char *label;    /* for the progress line; NULL = none */
	bool line_open;       /* a progress line without its newline is on the console */
};

static void progress(struct sink *s, bool last)
{
	int64_t now = monotonic_ms();
	if (!s->label || log_is_quiet() || (!last && now - s->last_progress_ms < 1000))
		return;
	s->last_progress_ms = now;
	double secs = (double)(now - s->started_ms) / 1000.0, mb = (double)(s->have - s->started_have) / 1e6;
	if (s->total != HTTP_UNKNOWN_LENGTH)
		printf("\r[*] Fetching %s: %llu/%llu MiB %3d%% %.1f MB/s ", s->label, (unsigned long long)(s->have >> 20),
		       (unsigned long long)(s->total >> 20), (int)(s->total ? s->have * 100 / s->total : 100),
		       secs > 0 ? mb / secs : 0.0);
	else
		printf("\r[*] Fetching %s: %llu MiB ", s->label, (unsigned long long)(s->have >> 20));
	if (last)
		putchar('\n');
	s->line_open = !last;
	fflush(stdout);
}

static uint64_t mem_available(void)
{
	char text[4096];
	if (file_read_small("/proc/meminfo", text, sizeof text) <= 0)
		return 0;
	const char *p = strstr(text, "MemAvailable:");
	return p ? strtoull(p + 13, NULL, 10) << 10 : 0;
}

static int store(struct sink *s, const char *data, size_t len)
{
	if (s->fd < 0) {
		if (s->have + len >= s->mem_cap)
			return -EFBIG;
		memcpy(s->mem + s->have, data, len);
		s->have += len;
		s->mem[s->have] = 0;
		return 0;
	}
	while (len) {
		ssize_t n = write(s->fd, data, len);
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
		s->have += (uint64_t)n;
	}
	return 0;
}

/* One GET (with Range when s->have > 0).  Returns 0 when the body is complete, -1 with why (and
 * a->permanent when retrying cannot help). */
static int http_get(struct in_addr addr, const struct url *u, struct sink *s, struct attempt *a, char *why,
		    size_t cap)
{
	int fd = connect_to(addr, u->port, why, cap);
	if (fd < 0)
		return -1;
	char req[1024];
	int len = snprintf(req, sizeof req,
			   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: liveinit/" LIVEINIT_VERSION "\r\n"
			   "Accept-Encoding: identity\r\nConnection: close\r\n",
			   u->path, u->host);
	if (s->have)
		len += snprintf(req + len, sizeof req - (size_t)len, "Range: bytes=%llu-\r\n", (unsigned long long)s->have);
	len += snprintf(req + len, sizeof req - (size_t)len, "\r\n");
	static char buf[1 << 16];
	size_t got = 0;
	struct http_response h;
	const char *perr = NULL;
	int rc = -1;
	if (send_all(fd, req, (size_t)len) < 0) {
		snprintf(why, cap, "sending the request: %s", strerror(errno));
		goto out;
	}
	int head;
	while ((head = http_parse_response(buf, got, &h, &perr)) == 0) {
		ssize_t n = got < sizeof buf ? read_some(fd, buf + got, sizeof buf - got) : -1;
		if (n <= 0) {
			snprintf(why, cap, "reading the response: %s", n == 0 ? "connection closed before the headers" : strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	if (head < 0) {
		snprintf(why, cap, "bad HTTP response: %s", perr);
		goto out;
	}
	if (h.status == 404 || h.status == 410 || h.status == 403) {
		snprintf(why, cap, "HTTP %d %s", h.status, h.status == 403 ? "Forbidden" : "Not Found");
		a->permanent = h.status != 404;   /* a 404 may be a server still being filled: retry it */
		goto out;
	}
	if (h.status == 416 && s->have && s->total != HTTP_UNKNOWN_LENGTH && s->have == s->total) {
		rc = 0;   /* already complete */
		goto out;
	}
	if (h.status != 200 && h.status != 206) {
		snprintf(why, cap, "HTTP %d", h.status);
		goto out;
	}
	if (h.chunked) {
		snprintf(why, cap, "the server sent a chunked body (not supported; serve a static file)");
		a->permanent = true;
		goto out;
	}
	if (h.status == 206) {
		if (!h.has_range || h.range_first != s->have) {
			snprintf(why, cap, "HTTP 206 for another range than bytes=%llu-", (unsigned long long)s->have);
			goto out;
		}
		s->total = h.range_total;
	} else {
		if (s->have) {   /* the server ignored Range: start over */
			log_warn("fetch: %s: the server does not resume (no Range support); starting over", s->label ? s->label : u->path);
			if (s->fd >= 0 && (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)) {
				snprintf(why, cap, "unable to truncate the partial file: %s", strerror(errno));
				goto out;
			}
			s->have = s->started_have = 0;
		}
		s->total = h.content_length;
	}
	if (s->fd >= 0 && s->total != HTTP_UNKNOWN_LENGTH) {
		uint64_t avail = mem_available();
		if (avail && s->total - s->have + MEM_RESERVE > avail) {
			snprintf(why, cap, "not enough memory: the image is %llu MiB, MemAvailable %llu MiB (%llu MiB kept free)",
				 (unsigned long long)(s->total >> 20), (unsigned long long)(avail >> 20),
				 (unsigned long long)(MEM_RESERVE >> 20));
			a->permanent = true;
			goto out;
		}
	}
	int r = store(s, buf + h.header_len, got - h.header_len);
	while (r == 0 && (s->total == HTTP_UNKNOWN_LENGTH || s->have < s->total)) {
		ssize_t n = read_some(fd, buf, sizeof buf);
		if (n == 0 && s->total == HTTP_UNKNOWN_LENGTH)
			break;   /* no length given: the end of the connection is the end of the body */
		if (n <= 0) {
			if (n == 0)
				snprintf(why, cap, "short read: connection closed at %llu of %llu bytes", (unsigned long long)s->have,
					 (unsigned long long)s->total);
			else
				snprintf(why, cap, "short read at %llu of %llu bytes: %s", (unsigned long long)s->have,
					 (unsigned long long)s->total, strerror(errno));
			goto out;
		}
		uint64_t room = s->total == HTTP_UNKNOWN_LENGTH ? (uint64_t)n : s->total - s->have;
		r = store(s, buf, (size_t)n < room ? (size_t)n : (size_t)room);
		progress(s, false);
	}
	if (r) {
		snprintf(why, cap, "unable to store the body: %s", strerror(-r));
		a->permanent = r == -EFBIG;
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Resolve and GET with retries and backoff; one line per failed attempt.  Returns 0, 1 for a 404 when
 * missing_ok, or -1 with err. */
static int fetch_with_retries(const struct net_config *net, const char *text, struct sink *s, bool missing_ok,
			      struct s1_error *err)
{
	struct url u;
	const char *perr;
	if (url_parse(text, &u, &perr))
		return s1_fail(err, "fetch: %s: %s", text, perr);
	char why[400];
	struct in_addr addr;
	bool resolved = false;
	for (int t = 0;; t++) {
		struct attempt a = {false};
		const char *step = "resolve";
		int rc = -1;
		if (!resolved && resolve(net, u.host, &addr, why, sizeof why) == 0)
			resolved = true;
		if (resolved) {
			step = "GET";
			rc = http_get(addr, &u, s, &a, why, sizeof why);
			if (rc == 0) {
				progress(s, true);
				return 0;
			}
			if (missing_ok && !strncmp(why, "HTTP 404", 8))
				return 1;
		}
		if (a.permanent || t + 1 >= TRIES)
			return s1_fail(err, "fetch: %s: %s: %s%s", text, step, why, a.permanent ? "" : " (giving up)");
		int64_t wait = 1000LL << t;
		if (s->line_open) {
			putchar('\n');
			s->line_open = false;
		}
		log_error("fetch: %s: %s: %s; retrying in %lld s", text, step, why, (long long)(wait / 1000));
		sleep_ms(wait);
	}
}

/* The expected digest: fetch-sha256=, else the first 64 hex digits of URL.sha256 (sha256sum format).
 * Returns 1 when there is one, 0 when there is none (404), -1 on error. */
static int expected_digest(const struct live_config *cfg, const struct net_config *net, char hex[65],
			   struct s1_error *err)
{
	if (cfg->fetch_sha256[0]) {
		snprintf(hex, 65, "%s", cfg->fetch_sha256);
		return 1;
	}
	char url[CMDLINE_VALUE_MAX + 8], body[4096];
	snprintf(url, sizeof url, "%s.sha256", cfg->fetch);
	struct sink s = {.fd = -1, .mem = body, .mem_cap = sizeof body, .total = HTTP_UNKNOWN_LENGTH};
	int r = fetch_with_retries(net, url, &s, true, err);
	if (r)
		return r == 1 ? 0 : -1;
	if (strspn(body, "0123456789abcdefABCDEF") < 64)
		return s1_fail(err, "fetch: %s holds no SHA-256 digest", url);
	memcpy(hex, body, 64);
	hex[64] = 0;
	return 1;
}

static const char *basename_of(const char *path)
{
	const char *b = strrchr(path, '/');
	return b && b[1] ? b + 1 : "image";
}

/* Nothing writes the image again: read-only, so shutdown counts it with the other read-only mounts instead of
 * reporting a busy tmpfs it cannot unmount (the root's lower layer lives in it). */
static int seal(const char *image, struct s1_error *err)
{
	if (mount(NULL, FETCH_DIR, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return s1_fail(err, "fetch: unable to remount %s (holding %s) read-only: %s", FETCH_DIR, image,
			       strerror(errno));
	return 0;
}

int fetch_image(const struct live_config *cfg, char *image, size_t cap, struct s1_error *err)
{
	struct net_config net;
	log_step("Bringing up the network for fetch=%s", cfg->fetch);
	if (net_up(cfg, &net, err) < 0)
		return -1;
	char hex[65];
	int have_digest = expected_digest(cfg, &net, hex, err);
	if (have_digest < 0)
		return -1;
	if (!have_digest && cfg->fetch_verify)
		return s1_fail(err, "fetch: %s: no checksum (neither fetch-sha256= nor %s.sha256) and fetch-verify is given",
			       cfg->fetch, cfg->fetch);
	if (mount_fs("tmpfs", FETCH_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", err) < 0)
		return -1;
	struct url u;
	const char *perr;
	if (url_parse(cfg->fetch, &u, &perr))
		return s1_fail(err, "fetch: %s: %s", cfg->fetch, perr);
	snprintf(image, cap, "%s/%s", FETCH_DIR, basename_of(u.path));
	char *q = strchr(image + strlen(FETCH_DIR) + 1, '?');
	if (q)
		*q = 0;
	int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd < 0)
		return s1_fail(err, "fetch: unable to create %s: %s", image, strerror(errno));
	struct sink s = {.fd = fd, .total = HTTP_UNKNOWN_LENGTH, .started_ms = monotonic_ms(), .label = cfg->fetch};
	int rc = fetch_with_retries(&net, cfg->fetch, &s, false, err);
	if (close(fd) < 0 && rc == 0)
		rc = s1_fail(err, "fetch: unable to write %s: %s", image, strerror(errno));
	if (rc)
		return -1;
	double secs = (double)(monotonic_ms() - s.started_ms) / 1000.0;
	log_step("Fetched %s: %llu bytes in %.1f s (%.1f MB/s)", cfg->fetch, (unsigned long long)s.have, secs,
		 secs > 0 ? (double)s.have / 1e6 / secs : 0.0);
	if (!have_digest) {
		log_warn("fetch: %s: no checksum (no fetch-sha256=, no %s.sha256): booting it unverified", cfg->fetch, cfg->fetch);
		return seal(image, err);
	}
	log_begin("Checking %s", cfg->fetch);
	int64_t t0 = monotonic_ms();
	if (file_check_sha256(image, hex, err) < 0) {
		log_done("FAILED");
		return -1;
	}
	log_done("ok");
	log_debug("SHA-256 of %s in %lld ms", image, (long long)(monotonic_ms() - t0));
	return seal(image, err);
}
