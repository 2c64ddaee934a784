#include "dhcp/dhcpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "dhcp/client.h"
#include "dhcp/iface.h"
#include "dhcp/ipconfig.h"
#include "dhcp/lease.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
	"Usage: dhcpc [-f] [-q] [-1] [-v] [--resolv-conf PATH] [--lease-dir DIR] [--hostname H]\n"
	"             [--timeout S] [--arp-wait MS] IFACE\n"
	"       dhcpc --static IPSPEC [--resolv-conf PATH] [--lease-dir DIR]\n"
	"       dhcpc --release [--lease-dir DIR] [--timeout S] IFACE\n"
	"\n"
	"Get an IPv4 address for IFACE by DHCP and keep it (renew, rebind), in the background.\n"
	"\n"
	"  -f, --foreground     stay in the foreground (default: fork a daemon and return at once)\n"
	"  -q, --quiet          no state-change lines on stdout (errors still go to stderr)\n"
	"  -1, --once           stay in the foreground, exit 0 once the first lease is configured,\n"
	"                       exit 1 if there is none after --timeout seconds\n"
	"  -v, --verbose        also say why packets were ignored\n"
	"  --resolv-conf PATH   where to write DNS servers (default " DHCPC_RESOLV_CONF "; \"\" = nowhere)\n"
	"  --lease-dir DIR      IFACE.lease and IFACE.pid go here (default " DHCPC_LEASE_DIR ")\n"
	"  --hostname H         host name sent to the server (default: the system's, unless unset)\n"
	"  --timeout S          with -1: give up after S seconds (default 30); with --release: wait\n"
	"                       at most S seconds (default 10)\n"
	"  --arp-wait MS        listen MS milliseconds for an address conflict after the ARP probe\n"
	"                       (default 50; 0 = no probe)\n"
	"  --static IPSPEC      apply the kernel's static ip= form and exit:\n"
	"                       <client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>\n"
	"                       [:<dns0-ip>:<dns1-ip>:<ntp0-ip>]\n"
	"  --release            tell the client running on IFACE to release its lease, wait for it\n"
	"  -h, --help           this text\n"
	"\n"
	"Signals: TERM/INT release the lease, remove the address and exit 0; USR1 renews now.\n"
	"Exit codes: 0 ok, 1 failure, 2 usage.\n";

struct args {
	struct client_opts c;
	bool foreground, release;
	const char *static_spec;
	bool timeout_given;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "dhcpc: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'dhcpc --help'.\n");
	return EXIT_USAGE;
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
	enum { O_RESOLV = 256, O_LEASEDIR, O_HOSTNAME, O_TIMEOUT, O_ARPWAIT, O_STATIC, O_RELEASE };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
		{ "once", no_argument, NULL, '1' },       { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },       { "resolv-conf", required_argument, NULL, O_RESOLV },
		{ "lease-dir", required_argument, NULL, O_LEASEDIR },
		{ "hostname", required_argument, NULL, O_HOSTNAME },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "arp-wait", required_argument, NULL, O_ARPWAIT },
		{ "static", required_argument, NULL, O_STATIC }, { "release", no_argument, NULL, O_RELEASE },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+fq1vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': a->foreground = true; break;
		case 'q': a->c.quiet = true; break;
		case '1': a->c.once = true; break;
		case 'v': log_set_debug(true); break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		case O_RESOLV: a->c.resolv_conf = optarg; break;
		case O_LEASEDIR: a->c.lease_dir = optarg; break;
		case O_HOSTNAME: a->c.hostname = optarg; break;
		case O_TIMEOUT:
			if (parse_int(optarg, 1, 86400, &a->c.timeout_s))
				return usage_error("--timeout: not a number of seconds (1-86400): %s", optarg);
			a->timeout_given = true;
			break;
		case O_ARPWAIT:
			if (parse_int(optarg, 0, 10000, &a->c.arp_wait_ms))
				return usage_error("--arp-wait: not a number of milliseconds (0-10000): %s", optarg);
			break;
		case O_STATIC: a->static_spec = optarg; break;
		case O_RELEASE: a->release = true; break;
		default:
			return usage_error("unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (a->static_spec) {
		if (optind != argc)
			return usage_error("--static takes no interface argument (the device is in IPSPEC): %s",
					   argv[optind]);
		return -1;
	}
	if (optind + 1 != argc)
		return usage_error("%s", optind == argc ? "missing IFACE" : "more than one IFACE");
	a->c.iface = argv[optind];
	if (!a->timeout_given)
		a->c.timeout_s = a->release ? 10 : 30;
	return -1;
}

static bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

static int run_static(const struct args *a)
{
	struct ipconfig cfg;
	const char *why;
	if (ipconfig_parse(a->static_spec, &cfg, &why))
		return usage_error("--static: %s", why);
	if (cfg.mode == IPCONFIG_OFF)
		return EXIT_OK;
	if (cfg.mode == IPCONFIG_DHCP)
		return usage_error("--static: %s asks for DHCP, not a static address; run dhcpc IFACE",
				   a->static_spec);
	char ifname[IFNAMSIZ] = "";
	const char *step;
	int r = ipconfig_apply(&cfg, a->c.resolv_conf, ifname, &step);
	if (r) {
		log_error("dhcpc: %s: unable to %s: %s", ifname[0] ? ifname : "(no Ethernet interface)", step,
			  strerror(-r));
		return EXIT_FAIL;
	}
	char path[512];
	if (lease_path(path, sizeof(path), a->c.lease_dir, ifname, "lease") == 0 && make_dir(a->c.lease_dir) == 0) {
		struct lease_record l = { .iface = ifname, .state = "static", .addr = cfg.client, .mask = cfg.mask,
					  .server = cfg.server };
		struct dhcp_info info = { .router = cfg.gw };
		l.info = &info;
		char text[512];
		size_t len = lease_format(text, sizeof(text), &l);
		r = write_atomic(path, text, len, &step);
		if (r)
			log_error("dhcpc: %s: unable to %s %s: %s", ifname, step, path, strerror(-r));
	}
	if (!a->c.quiet) {
		char ipbuf[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &cfg.client, ipbuf, sizeof(ipbuf));
		inet_ntop(AF_INET, &cfg.gw, gw, sizeof(gw));
		if (cfg.gw.s_addr)
			printf("dhcpc: %s: static %s/%d via %s\n", ifname, ipbuf, netmask_prefix(cfg.mask), gw);
		else
			printf("dhcpc: %s: static %s/%d\n", ifname, ipbuf, netmask_prefix(cfg.mask));
	}
	return EXIT_OK;
}

static int run_release(const struct args *a)
{
	char path[512];
	if (lease_path(path, sizeof(path), a->c.lease_dir, a->c.iface, "pid"))
		return usage_error("--lease-dir too long: %s", a->c.lease_dir);
	pid_t pid = pidfile_read(path);
	if (pid < 0 || !pid_alive(pid)) {
		fprintf(stderr, "dhcpc: %s: no client running (%s)\n", a->c.iface, path);
		return EXIT_FAIL;
	}
	if (kill(pid, SIGTERM) < 0) {
		log_error("dhcpc: %s: unable to signal pid %d: %s", a->c.iface, (int)pid, strerror(errno));
		return EXIT_FAIL;
	}
	/* Done when the pid file is gone (the client's last step) or the process is. */
	for (int ms = 0; ms < a->c.timeout_s * 1000; ms += 20) {
		if (access(path, F_OK) < 0 || !pid_alive(pid))
			return EXIT_OK;
		nanosleep(&(struct timespec){ 0, 20 * 1000000 }, NULL);
	}
	log_error("dhcpc: %s: pid %d still running after %ds", a->c.iface, (int)pid, a->c.timeout_s);
	return EXIT_FAIL;
}

static int write_pidfile(const char *path, pid_t pid)
{
	char text[24];
	int len = snprintf(text, sizeof(text), "%d\n", (int)pid);
	const char *step;
	int r = write_atomic(path, text, (size_t)len, &step);
	if (r)
		log_error("dhcpc: unable to %s %s: %s", step, path, strerror(-r));
	return r;
}

static void remove_pidfile(const char *path)
{
	if (pidfile_read(path) == getpid())
		unlink(path);
}

/* Fork; the parent returns the exit code once the daemon has its pid file, the child returns -1. */
static int daemonize(const char *pidpath)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		log_error("dhcpc: unable to create a pipe: %s", strerror(errno));
		return EXIT_FAIL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("dhcpc: unable to fork: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (pid > 0) {
		close(ready[1]);
		char ok = 0;
		ssize_t n;
		do
			n = read(ready[0], &ok, 1);   /* EOF: the child died before it was ready */
		while (n < 0 && errno == EINTR);
		close(ready[0]);
		return n == 1 && ok == 1 ? EXIT_OK : EXIT_FAIL;
	}
	close(ready[0]);
	setsid();
	if (chdir("/") < 0) { /* nothing relative is used afterwards */
	}
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	char ok = write_pidfile(pidpath, getpid()) == 0;
	if (write(ready[1], &ok, 1) < 0) { /* the parent is gone: nothing to tell */
	}
	close(ready[1]);
	if (!ok)
		_exit(EXIT_FAIL);
	return -1;
}

static int run_client(struct args *a)
{
	struct iface ifc;
	int r = iface_get(a->c.iface, &ifc);
	if (r) {
		log_error("dhcpc: %s: unable to find the interface: %s", a->c.iface, strerror(-r));
		return EXIT_FAIL;
	}
	if (!ifc.ether) {
		log_error("dhcpc: %s: not an Ethernet interface", a->c.iface);
		return EXIT_FAIL;
	}
	char pidpath[512];
	if (lease_path(pidpath, sizeof(pidpath), a->c.lease_dir, a->c.iface, "pid"))
		return usage_error("--lease-dir too long: %s", a->c.lease_dir);
	r = make_dir(a->c.lease_dir);
	if (r) {
		log_error("dhcpc: unable to create %s: %s", a->c.lease_dir, strerror(-r));
		return EXIT_FAIL;
	}
	pid_t other = pidfile_read(pidpath);
	if (other > 0 && other != getpid() && pid_alive(other)) {
		log_error("dhcpc: %s: already running as pid %d (%s)", a->c.iface, (int)other, pidpath);
		return EXIT_FAIL;
	}
	char host[65] = "";
	if (!a->c.hostname && gethostname(host, sizeof(host) - 1) == 0 && strcmp(host, "(none)") != 0 &&
	    strcmp(host, "localhost") != 0)
		a->c.hostname = host;

	/* Signals are data: blocked here, read from a signalfd in the client's poll loop. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (!a->foreground && !a->c.once) {
		int code = daemonize(pidpath);
		if (code >= 0)
			return code;
	} else if (write_pidfile(pidpath, getpid())) {
		return EXIT_FAIL;
	}
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		log_error("dhcpc: %s: unable to create a signalfd: %s", a->c.iface, strerror(errno));
		remove_pidfile(pidpath);
		return EXIT_FAIL;
	}
	int code = client_run(&a->c, sigfd);
	close(sigfd);
	remove_pidfile(pidpath);
	return code;
}

int dhcpc_main(int argc, char **argv)
{
	struct args a;
	memset(&a, 0, sizeof(a));
	a.c.lease_dir = DHCPC_LEASE_DIR;
	a.c.resolv_conf = DHCPC_RESOLV_CONF;
	a.c.arp_wait_ms = DHCPC_ARP_WAIT_MS;
	int code = parse_args(argc, argv, &a);
	if (code >= 0)
		return code;
	if (a.static_spec)
		return run_static(&a);
	if (a.release)
		return run_release(&a);
	return run_client(&a);
}

/* A multi-call binary may define its own main and call dhcpc_main by argv[0]. */
int main(int argc, char **argv) __attribute__((weak, alias("dhcpc_main")));
