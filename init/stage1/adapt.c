/* A foreign root (a live-build ISO: systemd or sysvinit, made for live-boot + live-config) made usable on this
 * platform, the part of live-config that matters here: a login on the console the user sees, passwd=,
 * SSH host keys made at boot, sshd, hostname=.  Runs before the switch; writes only through the overlay
 * (so into its tmpfs upper); every change is one line in the adapt log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/shadow.h"
#include "stage1/stage1.h"

const char *root_init_name(enum root_init kind)
{
	static const char *const names[] = {"no init", "liveinit stage 2", "systemd", "sysvinit", "another init"};
	return names[kind];
}

/* Read root/path (resolved inside the root) with the one file reader; -errno. */
static int read_in_root(const char *root, const char *path, char **text)
{
	char rel[PATH_MAX], full[PATH_MAX];
	int r = root_resolve(root, path, rel, sizeof rel);
	if (r < 0)
		return r;
	snprintf(full, sizeof full, "%s%s", root, rel);
	return file_read(full, text, NULL);
}

/* Does root/path hold needle?  (Small text files: inittab.) */
static bool file_contains(const char *root, const char *path, const char *needle)
{
	char *text;
	if (read_in_root(root, path, &text) < 0)
		return false;
	bool found = strstr(text, needle) != NULL;
	free(text);
	return found;
}

enum root_init adapt_classify(const char *root, const char *init)
{
	char rel[PATH_MAX], full[PATH_MAX];
	if (root_resolve(root, init, rel, sizeof rel) < 0)
		return INIT_NONE;
	snprintf(full, sizeof full, "%s%s", root, rel);
	if (access(full, X_OK) < 0)
		return INIT_NONE;
	const char *base = basename(rel);
	if (!strcmp(base, "liveinit"))
		return INIT_OURS;
	if (!strcmp(base, "systemd"))
		return INIT_SYSTEMD;
	/* sysvinit's inittab names a default runlevel; busybox init's has no such line (and another syntax). */
	if (file_contains(root, "/etc/inittab", ":initdefault:"))
		return INIT_SYSVINIT;
	return INIT_OTHER;
}

/* A virtual terminal (tty, tty0, tty1...): systemd and Debian's inittab serve tty1 there already. */
static bool is_vt(const char *name)
{
	if (strncmp(name, "tty", 3))
		return false;
	for (const char *p = name + 3; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* The terminal that needs a login from us, or NULL when the root's init serves it on its own:
 *   UML: tty0, the terminal `linux` runs in (con0); neither systemd nor inittab knows it.
 *   Xen: hvc0; systemd's getty generator starts serial-getty@hvc0 by itself, inittab does not.
 *   PC: the last console= unless it is a VT; systemd's generator serves the kernel's consoles. */
static const char *login_tty(const struct live_config *cfg, enum root_init kind)
{
	switch (cfg->platform) {
	case PLATFORM_UML:
		return "tty0";
	case PLATFORM_XEN:
		return kind == INIT_SYSTEMD ? NULL : "hvc0";
	default:
		if (!cfg->console[0] || is_vt(cfg->console) || kind == INIT_SYSTEMD)
			return NULL;
		return cfg->console;
	}
}

/* agetty of util-linux, wherever the root keeps it (/sbin, or /usr/sbin behind merged /usr). */
static const char *find_agetty(const char *root)
{
	static const char *const where[] = {"/sbin/agetty", "/usr/sbin/agetty", "/sbin/getty", "/usr/sbin/getty"};
	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
		if (root_exists(root, where[i]))
			return where[i];
	return NULL;
}

/* Like Debian's serial-getty@.service, without its BindsTo=dev-%i.device: udev tags no device unit for tty0,
 * so the stock unit would wait for it and fail. */
static const char GETTY_UNIT[] =
	"# Written by liveinit stage 1 (listed in /run/liveinit/adapted): a login on this platform's console.\n"
	"[Unit]\n"
	"Description=Login on %%I (liveinit)\n"
	"After=systemd-user-sessions.service getty-pre.target\n"
	"Before=getty.target\n"
	"IgnoreOnIsolate=yes\n"
	"ConditionPathExists=/dev/%%I\n"
	"\n"
	"[Service]\n"
	"ExecStart=-%s -o '-p -- \\\\u' --noclear --keep-baud 115200,57600,38400,9600 - $TERM\n"
	"Type=idle\n"
	"Restart=always\n"
	"UtmpIdentifier=%%I\n"
	"StandardInput=tty\n"
	"StandardOutput=tty\n"
	"TTYPath=/dev/%%I\n"
	"TTYReset=yes\n"
	"TTYVHangup=yes\n"
	"IgnoreSIGPIPE=no\n"
	"SendSIGHUP=yes\n"
	"KillMode=process\n"
	"\n"
	"[Install]\n"
	"WantedBy=getty.target\n";

static const char KEYGEN_UNIT[] =
	"# Written by liveinit stage 1 (listed in /run/liveinit/adapted): the image has no SSH host keys, so\n"
	"# each boot makes its own (never the same keys on two boots) before the SSH server starts.\n"
	"[Unit]\n"
	"Description=SSH host keys for this boot (liveinit)\n"
	"Before=ssh.service ssh.socket\n"
	"\n"
	"[Service]\n"
	"Type=oneshot\n"
	"RemainAfterExit=yes\n"
	"ExecStart=%s -A\n"
	"\n"
	"[Install]\n"
	"WantedBy=multi-user.target ssh.service\n";

#define SYSTEMD_ETC "/etc/systemd/system"

static int systemd_login(const char *root, const char *tty, struct adapt_log *log, struct s1_error *err)
{
	const char *agetty = find_agetty(root);
	if (!agetty)
		return s1_fail(err, "adapt: no agetty in the new root (/sbin/agetty): no login on %s", tty);
	char unit[sizeof GETTY_UNIT + 64], link[128];
	snprintf(unit, sizeof unit, GETTY_UNIT, agetty);
	snprintf(link, sizeof link, SYSTEMD_ETC "/getty.target.wants/liveinit-getty@%s.service", tty);
	if (root_write(root, SYSTEMD_ETC "/liveinit-getty@.service", unit, err) < 0 ||
	    root_symlink(root, link, SYSTEMD_ETC "/liveinit-getty@.service", err) < 0)
		return -1;
	adapt_note(log, "login: %s/liveinit-getty@.service, enabled for %s in getty.target.wants", SYSTEMD_ETC, tty);
	return 0;
}

static bool has_host_keys(const char *root)
{
	char rel[PATH_MAX], full[PATH_MAX];
	if (root_resolve(root, "/etc/ssh", rel, sizeof rel) < 0)
		return false;
	snprintf(full, sizeof full, "%s%s", root, rel);
	DIR *d = opendir(full);
	bool found = false;
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		found = !strncmp(e->d_name, "ssh_host_", 9) && n > 13 && !strcmp(e->d_name + n - 4, "_key");
	}
	if (d)
		closedir(d);
	return found;
}

static const char *find_keygen(const char *root)
{
	return root_exists(root, "/usr/bin/ssh-keygen") ? "/usr/bin/ssh-keygen" : NULL;
}

static int systemd_ssh(const struct live_config *cfg, const char *root, struct adapt_log *log,
		       struct s1_error *err)
{
	if (!root_exists(root, "/usr/sbin/sshd"))
		return 0; /* no openssh-server */
	const char *keygen = find_keygen(root);
	if (!has_host_keys(root) && keygen) {
		char unit[sizeof KEYGEN_UNIT + 64];
		snprintf(unit, sizeof unit, KEYGEN_UNIT, keygen);
		static const char path[] = SYSTEMD_ETC "/liveinit-ssh-keygen.service";
		if (root_write(root, path, unit, err) < 0 ||
		    root_symlink(root, SYSTEMD_ETC "/multi-user.target.wants/liveinit-ssh-keygen.service", path, err) < 0 ||
		    root_symlink(root, SYSTEMD_ETC "/ssh.service.wants/liveinit-ssh-keygen.service", path, err) < 0)
			return -1;
		adapt_note(log, "ssh: %s makes the host keys at boot (before ssh.service)", path);
	}
	if (cfg->sshd) {
		static const char want[] = SYSTEMD_ETC "/multi-user.target.wants/ssh.service";
		char full[PATH_MAX];
		if (root_path(root, want, full, sizeof full) == 0 && access(full, F_OK) == 0)
			return 0; /* enabled already */
		if (!root_exists(root, "/lib/systemd/system/ssh.service"))
			return s1_fail(err, "adapt: sshd: no /lib/systemd/system/ssh.service in the new root");
		if (root_symlink(root, want, "/lib/systemd/system/ssh.service", err) < 0)
			return -1;
		adapt_note(log, "sshd: ssh.service enabled (%s)", want);
	}
	return 0;
}

/* Does an active (uncommented) respawn line of inittab text run something on tty? */
static bool inittab_serves(const char *text, const char *tty)
{
	size_t tl = strlen(tty);
	for (const char *l = text; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");
		if (*l == '#')
			continue;
		const char *resp = strstr(l, ":respawn:");
		if (!resp || resp >= l + len)
			continue;
		for (const char *p = resp + 1; p + tl <= l + len; p++)
			if (p[-1] == ' ' && !strncmp(p, tty, tl) && (p + tl == l + len || p[tl] == ' '))
				return true;
	}
	return false;
}

/* inittab: append lines (a login on tty, host keys at sysinit) unless a respawn line serves tty already. */
static int sysvinit_adapt(const char *root, const char *tty, bool keys, struct adapt_log *log, struct s1_error *err)
{
	const char *getty = find_agetty(root);
	if (tty && !getty)
		return s1_fail(err, "adapt: no getty in the new root (/sbin/getty): no login on %s", tty);
	char *old;
	int r = read_in_root(root, "/etc/inittab", &old);
	if (r < 0)
		return s1_fail(err, "adapt: unable to read /etc/inittab in the new root: %s", strerror(-r));
	bool add_login = tty && !inittab_serves(old, tty);
	if (!add_login && !keys) {
		free(old);
		return 0;
	}
	size_t n = strlen(old), cap = n + 512;
	char *text = malloc(cap);
	if (!text) {
		free(old);
		return s1_fail(err, "adapt: /etc/inittab: out of memory");
	}
	size_t len = (size_t)snprintf(text, cap, "%s%s", old, n && old[n - 1] != '\n' ? "\n" : "");
	free(old);
	if (add_login)
		len += (size_t)snprintf(text + len, cap - len,
					"# liveinit: a login on %s, this platform's console\nLI:2345:respawn:%s -L %s 115200 vt100\n",
					tty, getty, tty);
	if (keys)
		snprintf(text + len, cap - len, "# liveinit: SSH host keys for this boot\nLK::sysinit:/usr/bin/ssh-keygen -A\n");
	r = root_write(root, "/etc/inittab", text, err);
	free(text);
	if (r < 0)
		return -1;
	if (add_login)
		adapt_note(log, "login: /etc/inittab: LI respawns %s on %s", getty, tty);
	if (keys)
		adapt_note(log, "ssh: /etc/inittab: LK makes the host keys at sysinit");
	return 0;
}

int adapt_root(const struct live_config *cfg, const char *root, struct adapt_log *log, struct s1_error *err)
{
	enum root_init kind = adapt_classify(root, cfg->init);
	if (kind != INIT_SYSTEMD && kind != INIT_SYSVINIT)
		return 0;
	const char *tty = login_tty(cfg, kind);
	if (kind == INIT_SYSTEMD) {
		if ((tty && systemd_login(root, tty, log, err) < 0) || systemd_ssh(cfg, root, log, err) < 0)
			return -1;
	} else {
		bool keys = root_exists(root, "/usr/sbin/sshd") && !has_host_keys(root) && find_keygen(root);
		if (sysvinit_adapt(root, tty, keys, log, err) < 0)
			return -1;
	}
	if (cfg->passwd[0]) {
		char shadow[PATH_MAX], why[300] = "no /etc/shadow in the new root";
		if (root_path(root, "/etc/shadow", shadow, sizeof shadow) < 0 ||
		    shadow_set_password(shadow, "root", cfg->passwd, why, sizeof why) < 0)
			return s1_fail(err, "adapt: passwd=: %s", why);
		adapt_note(log, "passwd: /etc/shadow: root's password set from passwd= (SHA-512)");
	}
	if (cfg->hostname_given) {
		char line[80];
		snprintf(line, sizeof line, "%s\n", cfg->hostname);
		if (root_write(root, "/etc/hostname", line, err) < 0)
			return -1;
		adapt_note(log, "hostname: /etc/hostname: %s", cfg->hostname);
	}
	return 0;
}
