#include "common/cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"

static void warn(struct live_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct live_config *cfg, const char *fmt, ...)
{
	if (cfg->nwarnings >= CMDLINE_MAX_WARNINGS)
		return;
	char *w = cfg->warnings[cfg->nwarnings++];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w, sizeof cfg->warnings[0], fmt, ap);
	va_end(ap);
	/* The warning quotes the bad value: keep it one printable line (a quoted value can hold a newline,
	 * and an escape sequence would reach the console). */
	for (; *w; w++)
		if ((unsigned char)*w < 0x20 || *w == 0x7f)
			*w = '?';
}

static void set_defaults(struct live_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	strcpy(cfg->media_path, "/live");
	strcpy(cfg->init, "/sbin/init");
	strcpy(cfg->hostname, "live");
	strcpy(cfg->persistence_label, "persistence");
	cfg->rootdelay = 10;
	cfg->shutdown_timeout = 5;
	cfg->adapt = true;
}

/* Decimal seconds in [0, max]; anything else is malformed. */
static bool parse_seconds(const char *v, int max, int *out)
{
	if (!*v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	char *end;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < 0 || n > max)
		return false;
	*out = (int)n;
	return true;
}

/* Copy a value that must fit and contain no control characters. */
static bool copy_value(char *dst, size_t size, const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	memcpy(dst, v, n + 1);
	return true;
}

static bool valid_root(const char *v)
{
	return (strncmp(v, "/dev/", 5) == 0 && v[5] && !strstr(v, "..")) ||
	       (strncmp(v, "LABEL=", 6) == 0 && v[6]) || (strncmp(v, "UUID=", 5) == 0 && v[5]);
}

/* A hostname per RFC 1123: letters, digits, hyphens, dots; not starting with '-' or '.'. */
static bool valid_hostname(const char *v)
{
	if (!*v || *v == '-' || *v == '.')
		return false;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

/* A name directly under /dev ("ttyS0", "hvc0"): no '/', no "." or "..", no control or shell characters. */
static bool valid_device_name(const char *v)
{
	if (!*v || *v == '.')
		return false;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_-.:", *p))
			return false;
	return true;
}

static void parse_root(struct live_config *cfg, const char *v)
{
	if (!valid_root(v) || !copy_value(cfg->root, sizeof cfg->root, v)) {
		warn(cfg, "root=%.60s: expected /dev/NAME, LABEL= or UUID=; scanning for the medium", v);
		cfg->root[0] = '\0';
	}
}

static void parse_media_path(struct live_config *cfg, const char *v)
{
	if (v[0] != '/' || strstr(v, "..") || !copy_value(cfg->media_path, sizeof cfg->media_path, v)) {
		warn(cfg, "live-media-path=%.60s: expected an absolute path; using /live", v);
		strcpy(cfg->media_path, "/live");
	}
}

static void parse_init(struct live_config *cfg, const char *v)
{
	if (v[0] != '/' || !copy_value(cfg->init, sizeof cfg->init, v)) {
		warn(cfg, "init=%.60s: expected an absolute path; using /sbin/init", v);
		strcpy(cfg->init, "/sbin/init");
	}
}

static void parse_break(struct live_config *cfg, const char *v)
{
	if (!v || !strcmp(v, "premount") || !strcmp(v, "top"))
		cfg->brk = BREAK_PREMOUNT;
	else if (!strcmp(v, "mount"))
		cfg->brk = BREAK_MOUNT;
	else if (!strcmp(v, "switch") || !strcmp(v, "bottom") || !strcmp(v, "init"))
		cfg->brk = BREAK_SWITCH;
	else
		warn(cfg, "break=%.60s: expected premount, mount or switch; not breaking", v);
}

static void parse_console(struct live_config *cfg, const char *v)
{
	/* console=ttyS0,115200n8: keep the device name only; the last console= wins, like the kernel's. */
	char name[sizeof cfg->console];
	size_t n = strcspn(v, ",");
	if (n == 0 || n >= sizeof name) {
		warn(cfg, "console=%.60s: unusable device name; ignored", v);
		return;
	}
	memcpy(name, v, n);
	name[n] = '\0';
	const char *dev = strncmp(name, "/dev/", 5) == 0 ? name + 5 : name;
	if (!valid_device_name(dev)) {
		warn(cfg, "console=%.60s: unusable device name; ignored", v);
		return;
	}
	strcpy(cfg->console, dev);
}

/* live-boot's toram=FILE names the squashfs to copy; toram=strict is ours: refuse to boot from the medium. */
static void parse_toram(struct live_config *cfg, const char *v)
{
	cfg->toram = true;
	if (!strcmp(v, "strict"))
		cfg->toram_strict = true;
	else if (strchr(v, '/') || !strcmp(v, "..") || !copy_value(cfg->toram_file, sizeof cfg->toram_file, v))
		warn(cfg, "toram=%.60s: expected a file name in live-media-path or strict; copying the first squashfs", v);
}

static void parse_findiso(struct live_config *cfg, const char *v)
{
	if (v[0] != '/' || strstr(v, "/../") || !copy_value(cfg->findiso, sizeof cfg->findiso, v)) {
		warn(cfg, "findiso=%.60s: expected an absolute path; ignored", v);
		cfg->findiso[0] = '\0';
	}
}

/* A file-system label: printable, no '/' (it also names a file at the root of a partition). */
static void parse_persistence_label(struct live_config *cfg, const char *v)
{
	if (strchr(v, '/') || !strcmp(v, ".") || !strcmp(v, "..") ||
	    !copy_value(cfg->persistence_label, sizeof cfg->persistence_label, v)) {
		warn(cfg, "persistence-label=%.60s: expected a label without '/'; using persistence", v);
		strcpy(cfg->persistence_label, "persistence");
	}
}

/* live-media=: live-boot's device for the medium; a device name, LABEL= or UUID= acts as root= unless root= is
 * given; its keywords (removable, removable-usb) only narrow live-boot's scan, and we scan every device anyway. */
static void parse_live_media(struct live_config *cfg, const char *v)
{
	if (valid_root(v)) {
		if (!cfg->root[0])
			copy_value(cfg->root, sizeof cfg->root, v);
	} else if (strcmp(v, "removable") && strcmp(v, "removable-usb")) {
		warn(cfg, "live-media=%.60s: expected /dev/NAME, LABEL=, UUID=, removable or removable-usb; scanning", v);
	}
}

static void parse_ip(struct live_config *cfg, const char *v)
{
	if (!strcmp(v, "dhcp") || !strcmp(v, "on") || !strcmp(v, "any") || !strcmp(v, "both")) {
		cfg->ip_mode = IP_DHCP;
	} else if (!strcmp(v, "off") || !strcmp(v, "none")) {
		cfg->ip_mode = IP_OFF;
	} else if (strchr(v, ':') && copy_value(cfg->ip, sizeof cfg->ip, v)) {
		/* The static form is validated by the DHCP client, which owns its syntax. */
		cfg->ip_mode = IP_STATIC;
	} else {
		warn(cfg, "ip=%.60s: expected dhcp, off or client:server:gw:mask:host:dev:autoconf; using dhcp", v);
		cfg->ip_mode = IP_DHCP;
	}
}

static void parse_seconds_param(struct live_config *cfg, const char *key, const char *v, int max, int *out,
				int dflt)
{
	if (!v || !parse_seconds(v, max, out)) {
		warn(cfg, "%s=%.60s: expected seconds (0-%d); using %d", key, v ? v : "", max, dflt);
		*out = dflt;
	}
}

/* Flags: parameters without a value. */
static bool apply_flag(struct live_config *cfg, const char *key)
{
	static const struct {
		const char *name;
		size_t offset;
	} flags[] = {
		{"squashroot", offsetof(struct live_config, squashroot)},
		{"toram", offsetof(struct live_config, toram)},
		{"rootwait", offsetof(struct live_config, rootwait)},
		{"quiet", offsetof(struct live_config, quiet)},
		{"debug", offsetof(struct live_config, debug)},
		{"check", offsetof(struct live_config, check)},
		{"allmodules", offsetof(struct live_config, all_modules)},
		{"noswap", offsetof(struct live_config, noswap)},
		{"fetch-verify", offsetof(struct live_config, fetch_verify)},
		{"persistence", offsetof(struct live_config, persistence)},
		{"persistence-read-only", offsetof(struct live_config, persistence_ro)},
		{"noeject", offsetof(struct live_config, noeject)},
		{"liveinit.stage2", offsetof(struct live_config, stage2)},
		{"sshd", offsetof(struct live_config, sshd)},
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		if (!strcmp(key, flags[i].name)) {
			*(bool *)((char *)cfg + flags[i].offset) = true;
			return true;
		}
	}
	if (!strcmp(key, "uml") || !strcmp(key, "xen")) {
		cfg->platform = key[0] == 'u' ? PLATFORM_UML : PLATFORM_XEN;
		cfg->platform_given = true;
	} else if (!strcmp(key, "ro") || !strcmp(key, "rw")) {
		cfg->root_mode = key[1] == 'o' ? ROOT_MODE_RO : ROOT_MODE_RW;
	} else if (!strcmp(key, "nopersistence")) {
		cfg->persistence = false;
	} else if (!strcmp(key, "nodhcp")) {
		cfg->ip_mode = IP_OFF;
	} else if (!strcmp(key, "break")) {
		parse_break(cfg, NULL);
	} else {
		return false;
	}
	return true;
}

static void apply(struct live_config *cfg, const char *key, const char *v)
{
	if (!v) {
		apply_flag(cfg, key); /* unknown flags belong to someone else */
		return;
	}
	if (!strcmp(key, "root"))
		parse_root(cfg, v);
	else if (!strcmp(key, "live-media-path"))
		parse_media_path(cfg, v);
	else if (!strcmp(key, "rootdelay") || !strcmp(key, "live-media-timeout"))
		parse_seconds_param(cfg, key, v, 3600, &cfg->rootdelay, 10);
	else if (!strcmp(key, "toram"))
		parse_toram(cfg, v);
	else if (!strcmp(key, "findiso"))
		parse_findiso(cfg, v);
	else if (!strcmp(key, "persistence-label"))
		parse_persistence_label(cfg, v);
	else if (!strcmp(key, "live-media"))
		parse_live_media(cfg, v);
	else if (!strcmp(key, "shutdown_timeout"))
		parse_seconds_param(cfg, key, v, 3600, &cfg->shutdown_timeout, 5);
	else if (!strcmp(key, "init"))
		parse_init(cfg, v);
	else if (!strcmp(key, "break"))
		parse_break(cfg, v);
	else if (!strcmp(key, "console"))
		parse_console(cfg, v);
	else if (!strcmp(key, "ip"))
		parse_ip(cfg, v);
	else if (!strcmp(key, "fetch")) {
		if (strncmp(v, "http://", 7) != 0 || !copy_value(cfg->fetch, sizeof cfg->fetch, v))
			warn(cfg, "fetch=%.60s: expected http://HOST[:PORT]/PATH (at most %d bytes); ignored", v,
			     CMDLINE_VALUE_MAX - 1);
	} else if (!strcmp(key, "fetch-sha256")) {
		if (strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64)
			warn(cfg, "fetch-sha256=%.60s: expected 64 hex digits; ignored", v);
		else
			strcpy(cfg->fetch_sha256, v);
	} else if (!strcmp(key, "BOOTIF")) {
		if (!copy_value(cfg->bootif, sizeof cfg->bootif, v))
			warn(cfg, "BOOTIF=%.60s: too long; ignored", v);
	} else if (!strcmp(key, "hostname")) {
		cfg->hostname_given = valid_hostname(v) && copy_value(cfg->hostname, sizeof cfg->hostname, v);
		if (!cfg->hostname_given) {
			warn(cfg, "hostname=%.60s: not a valid host name; using live", v);
			strcpy(cfg->hostname, "live");
		}
	} else if (!strcmp(key, "passwd")) {
		/* Never quoted in a warning: the value is a password. */
		if (!copy_value(cfg->passwd, sizeof cfg->passwd, v)) {
			warn(cfg, "passwd=: empty, longer than %zu bytes or holds control characters; ignored",
			     sizeof cfg->passwd - 1);
			cfg->passwd[0] = '\0';
		}
	} else if (!strcmp(key, "liveinit.adapt")) {
		if (!strcmp(v, "0") || !strcmp(v, "1"))
			cfg->adapt = v[0] == '1';
		else
			warn(cfg, "liveinit.adapt=%.60s: expected 0 or 1; adapting", v);
	}
}

/* Split at the first '=' and strip one pair of double quotes around the value, as the kernel does. */
static void apply_token(struct live_config *cfg, char *tok)
{
	char *eq = strchr(tok, '=');
	char *value = NULL;
	if (eq) {
		*eq = '\0';
		value = eq + 1;
		size_t n = strlen(value);
		if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
			value[n - 1] = '\0';
			value++;
		}
	}
	apply(cfg, tok, value);
}

void cmdline_parse(const char *text, struct live_config *cfg)
{
	set_defaults(cfg);
	char tok[1024];
	const char *p = text;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		/* A token runs to the next space outside double quotes. */
		size_t n = 0;
		bool quoted = false, overflow = false;
		for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
			if (*p == '"')
				quoted = !quoted;
			if (n + 1 < sizeof tok)
				tok[n++] = *p;
			else
				overflow = true;
		}
		tok[n] = '\0';
		if (overflow) {
			warn(cfg, "parameter %.40s...: longer than %zu bytes; ignored", tok, sizeof tok - 1);
			continue;
		}
		apply_token(cfg, tok);
	}
}

int cmdline_read(const char *path, struct live_config *cfg)
{
	char buf[4096 + 1];
	ssize_t n = file_read_small(path, buf, sizeof buf);
	cmdline_parse(n < 0 ? "" : buf, cfg);
	return n < 0 ? (int)n : 0;
}
