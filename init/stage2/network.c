#include "stage2/network.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/netif.h"
#include "common/pidfile.h"

size_t net_dhcpc_pids(const char *rundir, pid_t *out, size_t max)
{
	DIR *d = opendir(rundir);
	if (!d)
		return 0;
	size_t count = 0;
	struct dirent *de;
	while (count < max && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".pid") != 0)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", rundir, de->d_name);
		pid_t pid = pidfile_read_checked(path, "", DHCPC_COMM);
		if (pid > 1)
			out[count++] = pid;
	}
	closedir(d);
	return count;
}

static void spawn(char *const argv[], const sigset_t *restore)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_error("unable to fork for %s: %s", argv[0], strerror(errno));
		return;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, restore, NULL);
		int fd = open("/dev/null", O_RDONLY);
		if (fd >= 0 && fd != 0) {
			dup2(fd, 0);
			close(fd);
		}
		execv(argv[0], argv);
		dprintf(2, "liveinit: unable to run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
}

void net_start(const struct live_config *cfg, const sigset_t *restore)
{
	if (cfg->ip_mode == IP_OFF) {
		log_debug("ip=off: no DHCP");
		return;
	}
	if (access(DHCPC_PATH, X_OK) != 0) {
		log_debug("no %s in this root (%s): no DHCP", DHCPC_PATH, strerror(errno));
		return;
	}
	if (cfg->ip_mode == IP_STATIC) {
		log_step("Configuring network from ip=%s", cfg->ip);
		char ip[CMDLINE_VALUE_MAX];
		snprintf(ip, sizeof(ip), "%s", cfg->ip);
		char *argv[] = { DHCPC_PATH, "--static", ip, NULL };
		spawn(argv, restore);
		return;
	}
	char names[16][NETIF_NAME_MAX];
	size_t n = netif_list("", true, names, 16);
	for (size_t i = 0; i < n; i++) {
		log_step("Starting background DHCP request... %s", names[i]);
		char *argv[] = { DHCPC_PATH, names[i], NULL };
		spawn(argv, restore);
	}
}

/* Gone: reaped (it was reparented to us when it daemonized) or not ours and no longer there. */
static bool pid_gone(pid_t pid)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return kill(pid, 0) < 0 && errno == ESRCH;
}

static void stop_dhcp_clients(long timeout_ms)
{
	pid_t pids[16];
	size_t n = net_dhcpc_pids(DHCPC_RUNDIR, pids, 16);
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	long deadline = monotonic_ms() + timeout_ms;
	for (size_t i = 0; i < n; i++) {
		while (!pid_gone(pids[i]) && monotonic_ms() < deadline) {
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (!pid_gone(pids[i])) {
			log_warn("DHCP client %d did not exit within %ld ms; killing it", (int)pids[i], timeout_ms);
			kill(pids[i], SIGKILL);
		}
	}
}

static void interfaces_down(void)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		log_error("unable to open a socket to bring interfaces down: %s", strerror(errno));
		return;
	}
	char names[64][NETIF_NAME_MAX];
	size_t n = netif_list("", false, names, 64);
	for (size_t i = 0; i < n; i++) {
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", names[i]);
		if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
			continue;
		log_step("Shutting down network device... %s", names[i]);
		ifr.ifr_flags &= ~IFF_UP;
		if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
			log_error("unable to bring %s down: %s", names[i], strerror(errno));
	}
	close(sock);
}

void net_stop(long timeout_ms)
{
	stop_dhcp_clients(timeout_ms);
	interfaces_down();
}
