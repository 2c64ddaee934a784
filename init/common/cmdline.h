/* One parser for the kernel command line, shared by stage 1, stage 2 and the DHCP client.
 * It never runs a shell and never touches the parameters it does not own. */
#ifndef LIVEINIT_CMDLINE_H
#define LIVEINIT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

enum platform { PLATFORM_PC = 0, PLATFORM_UML, PLATFORM_XEN };
enum break_point { BREAK_NONE = 0, BREAK_PREMOUNT, BREAK_MOUNT, BREAK_SWITCH };
enum root_mode { ROOT_MODE_DEFAULT = 0, ROOT_MODE_RO, ROOT_MODE_RW };
enum ip_mode { IP_DHCP = 0, IP_OFF, IP_STATIC };

#define CMDLINE_MAX_WARNINGS 8
#define CMDLINE_VALUE_MAX 256

struct live_config {
	/* platform: given by `uml` / `xen`; otherwise platform_detect() decides. */
	enum platform platform;
	bool platform_given;

	char root[CMDLINE_VALUE_MAX];        /* root=: "/dev/NAME", "LABEL=...", "UUID=..."; "" = scan */
	bool squashroot;                     /* the root device itself is a squashfs */
	char media_path[CMDLINE_VALUE_MAX];  /* live-media-path=, default "/live" */
	bool toram;                          /* copy the squashfs to RAM, release the medium */
	bool toram_strict;                   /* toram=strict: not fitting in RAM is fatal */
	char toram_file[CMDLINE_VALUE_MAX];  /* toram=FILE: which squashfs of live-media-path to copy */
	char findiso[CMDLINE_VALUE_MAX];     /* findiso=/PATH: the medium is an ISO file on some filesystem */
	bool persistence;                    /* persistence (nopersistence clears it) */
	bool persistence_ro;                 /* persistence-read-only: changes stay in RAM */
	char persistence_label[64];          /* persistence-label=, default "persistence" */
	int rootdelay;                       /* seconds to wait for the root device (default 10) */
	bool rootwait;                       /* wait forever */
	enum root_mode root_mode;            /* ro / rw */
	char init[CMDLINE_VALUE_MAX];        /* init=, default "/sbin/init" */
	enum break_point brk;                /* break=premount|mount|switch (bare `break` = premount) */
	bool quiet, debug;
	bool check;                          /* check: verify the medium's checksum before mounting */
	bool all_modules;                    /* allmodules: stage 1 loads every module of the initrd, not only the
					      * drivers of the devices present (odd hardware) */

	/* netboot (stage 1): fetch=URL of a squashfs or an ISO, its SHA-256, BOOTIF= from PXELINUX/iPXE */
	char fetch[CMDLINE_VALUE_MAX];
	char fetch_sha256[65];               /* 64 hex digits, "" = look for URL.sha256 */
	bool fetch_verify;                   /* refuse to boot a fetched image without a checksum */
	char bootif[24];                     /* BOOTIF=01-aa-bb-cc-dd-ee-ff as given ("" = none) */

	/* stage 2 */
	char hostname[64];                   /* hostname=, default "live" */
	bool hostname_given;                 /* hostname= was on the command line (a foreign root keeps its own) */
	bool noswap;
	bool noeject;                        /* stage 2: leave the CD in the drive at shutdown */
	int shutdown_timeout;                /* shutdown_timeout= seconds, default 5 */
	char console[64];                    /* last console= device name without options ("ttyS0"), "" if none */

	/* foreign roots (stage 1 adapts a root whose init is not ours; see init/stage1/adapt.c) */
	bool adapt;                          /* liveinit.adapt=0 turns the adaptation off; default on */
	bool stage2;                         /* liveinit.stage2: run our stage 2 as the root's init */
	char passwd[128];                    /* passwd=: root's password (plain text, as Finnix); "" = unchanged */
	bool sshd;                           /* sshd: start the root's SSH server */

	/* network: ip=dhcp (default), ip=off / nodhcp, or the kernel's static form (raw text kept) */
	enum ip_mode ip_mode;
	char ip[CMDLINE_VALUE_MAX];

	/* one-line warnings for malformed values of parameters we own (the default was kept) */
	char warnings[CMDLINE_MAX_WARNINGS][160];
	int nwarnings;
};

/* Parse the text of /proc/cmdline.  Never fails: bad values keep their defaults and add a warning. */
void cmdline_parse(const char *text, struct live_config *cfg);

/* Read and parse a cmdline file (normally "/proc/cmdline").  Returns 0, or -errno if it cannot be read
 * (cfg then holds the defaults). */
int cmdline_read(const char *path, struct live_config *cfg);

const char *platform_name(enum platform p);

/* Decide the platform from a root prefix ("" for the real system): UML when /proc/cpuinfo says
 * "User Mode Linux", Xen when /sys/hypervisor/type is "xen", else PC.  cfg->platform_given wins. */
enum platform platform_detect(const char *root);

#endif
