/* Network bring-up for fetch=: ip= as stage 2 understands it (DHCP by default, the kernel's static form),
 * BOOTIF= from PXELINUX/iPXE to pick the interface, with the DHCP client of init/dhcp linked in as a
 * library.  The lease stays on the interface and in /run/dhcpc/IFACE.lease; /run moves into the new root
 * and stage 2's dhcpc resumes it from there (no second DISCOVER, same address). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "dhcp/client.h"
#include "dhcp/dhcpc.h"
#include "dhcp/iface.h"
#include "dhcp/ipconfig.h"
#include "dhcp/lease.h"
#include "stage1/stage1.h"

#define NIC_WAIT_MS 10000   /* for the NIC's driver to register the interface */
#define NIC_POLL_MS 50      /* between looks for it (each look walks /sys for drivers first) */
#define DHCP_TIMEOUT_S 20

/* BOOTIF=01-aa-bb-cc-dd-ee-ff (ARP type 1, then the MAC).  Returns 0 with mac filled, or -1. */
static int parse_bootif(const char *v, unsigned char mac[6])
{
	unsigned b[7];
	char end;
	if (sscanf(v, "%2x-%2x-%2x-%2x-%2x-%2x-%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &end) != 7 ||
	    b[0] != 1)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)b[i + 1];
	return 0;
}

/* The interface to use: BOOTIF's MAC, else the device named in ip=, else the first Ethernet interface.
 * Waits for it to appear (the NIC driver may still be probing). */
static int pick_iface(const struct live_config *cfg, const char *device, char name[IFNAMSIZ], struct s1_error *err)
{
	unsigned char mac[6];
	bool by_mac = cfg->bootif[0] && parse_bootif(cfg->bootif, mac) == 0;
	if (cfg->bootif[0] && !by_mac)
		log_warn("BOOTIF=%s: not 01-xx-xx-xx-xx-xx-xx; ignored", cfg->bootif);
	int64_t until = monotonic_ms() + NIC_WAIT_MS;
	int rc = -1;
	do {
		modules_network(cfg); /* the NIC's driver, by modalias; again each turn for what appears behind a bus */
		struct iface all[16];
		int n = iface_list_ether(all, 16);
		for (int i = 0; i < n; i++) {
			if ((by_mac && memcmp(all[i].mac, mac, 6) == 0) || (!by_mac && device[0] && !strcmp(all[i].name, device)) ||
			    (!by_mac && !device[0])) {
				snprintf(name, IFNAMSIZ, "%s", all[i].name);
				rc = 0;
				break;
			}
		}
		if (rc == 0)
			break;
		nanosleep(&(struct timespec){0, NIC_POLL_MS * 1000000L}, NULL);
	} while (monotonic_ms() < until);
	modules_network_end();
	if (rc == 0)
		return 0;
	if (by_mac)
		return s1_fail(err, "fetch: no network interface with BOOTIF=%s after %d s", cfg->bootif, NIC_WAIT_MS / 1000);
	if (device[0])
		return s1_fail(err, "fetch: no network interface %s (from ip=) after %d s", device, NIC_WAIT_MS / 1000);
	return s1_fail(err, "fetch: no Ethernet interface after %d s (no NIC, or its driver is not in the initrd)",
		       NIC_WAIT_MS / 1000);
}

static void dns_from_info(const struct dhcp_info *info, struct net_config *net)
{
	net->ndns = 0;
	for (int i = 0; i < info->ndns && net->ndns < NET_MAX_DNS; i++)
		net->dns[net->ndns++] = info->dns[i];
	snprintf(net->search, sizeof net->search, "%s", info->search[0] ? info->search : info->domain);
}

static int static_up(const struct ipconfig *ipc, struct net_config *net, struct s1_error *err)
{
	const char *step;
	int r = ipconfig_apply(ipc, "", net->iface, &step);
	if (r)
		return s1_fail(err, "fetch: %s: unable to %s: %s", net->iface[0] ? net->iface : "ip=", step, strerror(-r));
	for (int i = 0; i < 2; i++)
		if (ipc->dns[i].s_addr)
			net->dns[net->ndns++] = ipc->dns[i];
	net->search[0] = 0;
	char a[INET_ADDRSTRLEN];
	log_step("Network: %s static %s", net->iface, inet_ntop(AF_INET, &ipc->client, a, sizeof a));
	return 0;
}

static int dhcp_up(const struct live_config *cfg, const struct ipconfig *ipc, struct net_config *net,
		   struct s1_error *err)
{
	if (pick_iface(cfg, ipc->device, net->iface, err) < 0)
		return -1;
	struct client_opts o = {
		.iface = net->iface, .lease_dir = DHCPC_LEASE_DIR, .resolv_conf = "",
		.hostname = ipc->hostname[0] ? ipc->hostname : NULL, .once = true, .timeout_s = DHCP_TIMEOUT_S,
		.arp_wait_ms = DHCPC_ARP_WAIT_MS, .quiet = false,
	};
	int64_t t0 = monotonic_ms();
	if (client_run(&o, -1) != 0)
		return s1_fail(err, "fetch: %s: no address (no DHCP answer within %d s)", net->iface, DHCP_TIMEOUT_S);
	log_step("Network: %s configured by DHCP in %.1f s", net->iface, (double)(monotonic_ms() - t0) / 1000.0);
	char path[512], text[2048];
	const char *why;
	struct lease_file lf;
	if (lease_path(path, sizeof path, DHCPC_LEASE_DIR, net->iface, "lease") || file_read_small(path, text, sizeof text) <= 0 ||
	    lease_parse(text, &lf, &why))
		return s1_fail(err, "fetch: %s: unable to read the lease back from %s", net->iface, path);
	dns_from_info(&lf.info, net);
	return 0;
}

int net_up(const struct live_config *cfg, struct net_config *net, struct s1_error *err)
{
	memset(net, 0, sizeof *net);
	struct ipconfig ipc;
	memset(&ipc, 0, sizeof ipc);
	if (cfg->ip_mode == IP_OFF)
		return s1_fail(err, "fetch: %s needs the network, but ip=off/nodhcp is given", cfg->fetch);
	if (cfg->ip_mode == IP_STATIC) {
		const char *why;
		if (ipconfig_parse(cfg->ip, &ipc, &why))
			return s1_fail(err, "fetch: ip=%s: %s", cfg->ip, why);
		if (ipc.mode == IPCONFIG_STATIC) {
			/* Also with the device named: its driver is loaded here, and the interface waited for. */
			char dev[IFNAMSIZ];
			if (pick_iface(cfg, ipc.device, dev, err) < 0)
				return -1;
			snprintf(ipc.device, sizeof ipc.device, "%s", dev);
			return static_up(&ipc, net, err);
		}
	}
	return dhcp_up(cfg, &ipc, net, err);
}
