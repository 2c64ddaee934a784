#include "dhcp/dhcpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/pidfile.h"
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
	"  --static IPSPEC      apply the value of the kernel's ip= and exit: the static form\n"
	"                       <client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>\n"
	"                       [:<dns0-ip>:<dns1-ip>:<ntp0-ip>] configures the device; a form without\n"
	"                       client-ip (autoconf dhcp/on/any) starts clients in the background on\n"
	"                       <device>, or on every Ethernet interface\n"
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

/* Decimal digits only, within [min, max]. */
static int parse_int(const char *s, int min, int max, int *out)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > max)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

enum { O_RESOLV = 1, O_LEASEDIR, O_HOSTNAME, O_TIMEOUT, O_ARPWAIT, O_STATIC, O_RELEASE };
struct longopt {
	const char *name;
	int id;          /* a short option letter, or O_* for long-only options with a value */
	bool value;
};
static const struct longopt longopts[] = {
	{ "foreground", 'f', false }, { "quiet", 'q', false },      { "once", '1', false },
	{ "verbose", 'v', false },    { "help", 'h', false },       { "release", O_RELEASE, false },
	{ "resolv-conf", O_RESOLV, true }, { "lease-dir", O_LEASEDIR, true }, { "hostname", O_HOSTNAME, true },
	{ "timeout", O_TIMEOUT, true },    { "arp-wait", O_ARPWAIT, true },   { "static", O_STATIC, true },
};

/* Apply one option.  Returns -1 to go on, or an exit code. */
static int apply_opt(struct args *a, int id, const char *val)
{
	switch (id) {
	case 'f': a->foreground = true; break;
	case 'q': a->c.quiet = true; break;
	case '1': a->c.once = true; break;
	case 'v': log_set_debug(true); break;
	case 'h': fputs(usage_text, stdout); return EXIT_OK;
	case O_RELEASE: a->release = true; break;
	case O_RESOLV: a->c.resolv_conf = val; break;
	case O_LEASEDIR: a->c.lease_dir = val; break;
	case O_HOSTNAME: a->c.hostname = val; break;
	case O_STATIC: a->static_spec = val; break;
	case O_TIMEOUT:
		if (parse_int(val, 1, 86400, &a->c.timeout_s))
			return usage_error("--timeout: not a number of seconds (1-86400): %s", val);
		a->timeout_given = true;
		break;
	case O_ARPWAIT:
		if (parse_int(val, 0, 10000, &a->c.arp_wait_ms))
			return usage_error("--arp-wait: not a number of milliseconds (0-10000): %s", val);
		break;
	default:
		return usage_error("unknown option: -%s", (char[]){ (char)id, 0 });
	}
	return -1;
}

/* Short flags may be grouped (-fq); long options take "--name VALUE" or "--name=VALUE"; "--" ends options.
 * (Hand-rolled: getopt_long costs 3 KiB of the 64 KiB budget.)  Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
	const char *iface = NULL;
	bool more_ifaces = false, options = true;
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		int r = -1;
		if (options && strcmp(arg, "--") == 0) {
			options = false;
		} else if (options && strncmp(arg, "--", 2) == 0) {
			char *name = arg + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct longopt *o = NULL;
			for (size_t k = 0; k < sizeof(longopts) / sizeof(longopts[0]); k++)
				if (strlen(longopts[k].name) == len && strncmp(longopts[k].name, name, len) == 0)
					o = &longopts[k];
			if (!o)
				return usage_error("unknown option: %s", arg);
			const char *val = NULL;
			if (o->value) {
				val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (!val)
					return usage_error("%s needs a value", arg);
			} else if (eq) {
				return usage_error("%s takes no value", arg);
			}
			r = apply_opt(a, o->id, val);
		} else if (options && arg[0] == '-' && arg[1]) {
			for (char *c = arg + 1; *c && r < 0; c++)
				r = apply_opt(a, *c, NULL);
		} else if (iface) {
			more_ifaces = true;
		} else {
			iface = arg;
		}
		if (r >= 0)
			return r;
	}
	if (!a->timeout_given)
		a->c.timeout_s = a->release ? 10 : 30;
	if (a->static_spec) {
		if (iface)
			return usage_error("--static takes no interface argument (the device is in IPSPEC): %s", iface);
		return -1;
	}
	if (!iface || more_ifaces)
		return usage_error("%s", iface ? "more than one IFACE" : "missing IFACE");
	a->c.iface = iface;
	return -1;
}

static bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Is pid a running dhcpc?  A pid file left from an earlier run may name some other process by now; it must
 * not be signalled (common/pidfile.h). */
static bool pid_is_dhcpc(pid_t pid)
{
	return pid_is("", pid, "dhcpc");
}

static int run_client(struct args *a);

/* The DHCP forms of ip= (":::::eth1:dhcp", "::::myhost::any"): the client in the background on the named
 * device, or on every Ethernet interface, sending the hostname field if there is one. */
static int start_dhcp_for(const struct args *given, const struct ipconfig *cfg)
{
	struct args a = *given;
	a.static_spec = NULL;
	if (cfg->hostname[0] && !a.c.hostname)
		a.c.hostname = cfg->hostname;
	if (cfg->device[0]) {
		a.c.iface = cfg->device;
		return run_client(&a);
	}
	a.foreground = a.c.once = false;   /* one daemon per interface: none may hold up the next */
	struct iface all[16];
	int n = iface_list_ether(all, 16);
	if (n <= 0) {
		log_error("dhcpc: no Ethernet interface for ip=%s", given->static_spec);
		return EXIT_FAIL;
	}
	int code = EXIT_OK;
	for (int i = 0; i < n; i++) {
		a.c.iface = all[i].name;
		if (run_client(&a) != EXIT_OK)
			code = EXIT_FAIL;
	}
	return code;
}

static int run_static(struct args *a)
{
	struct ipconfig cfg;
	const char *why;
	if (ipconfig_parse(a->static_spec, &cfg, &why))
		return usage_error("--static: %s", why);
	if (cfg.mode == IPCONFIG_OFF)
		return EXIT_OK;
	if (cfg.mode == IPCONFIG_DHCP)
		return start_dhcp_for(a, &cfg);
	char ifname[IFNAMSIZ] = "";
	const char *step;
	int r = ipconfig_apply(&cfg, a->c.resolv_conf, ifname, &step);
	if (r) {
		log_error("dhcpc: %s: unable to %s: %s", ifname[0] ? ifname : "(no Ethernet interface)", step,
			  strerror(-r));
		return EXIT_FAIL;
	}
	char path[512];
	if (lease_path(path, sizeof(path), a->c.lease_dir, ifname, "lease") == 0 && mkdir_p(a->c.lease_dir, 0755) == 0) {
		struct lease_record l = { .iface = ifname, .state = "static", .addr = cfg.client, .mask = cfg.mask,
					  .server = cfg.server };
		struct dhcp_info info = { .router = cfg.gw };
		l.info = &info;
		char text[512];
		size_t len = lease_format(text, sizeof(text), &l);
		r = file_write_atomic(path, text, len, &step);
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
	if (pid < 0 || !pid_is_dhcpc(pid)) {
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
	int r = file_write_atomic(path, text, (size_t)len, &step);
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
	if (chdir("/") < 0) {   /* only so the daemon holds no directory busy; nothing relative follows */
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
	r = mkdir_p(a->c.lease_dir, 0755);
	if (r) {
		log_error("dhcpc: unable to create %s: %s", a->c.lease_dir, strerror(-r));
		return EXIT_FAIL;
	}
	pid_t other = pidfile_read(pidpath);
	if (other > 0 && other != getpid() && pid_is_dhcpc(other)) {
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
	sigaddset(&set, SIGPIPE);   /* a closed stdout must not kill the daemon: write() gets EPIPE instead */
	sigprocmask(SIG_BLOCK, &set, NULL);

	bool daemon = !a->foreground && !a->c.once;
	if (daemon) {
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
	if (daemon)
		exit(code);   /* the daemon never returns into its caller's loop (start_dhcp_for) */
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
