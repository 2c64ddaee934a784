#include "stage2/console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "stage2/fstab.h"

static bool exists(const char *devroot, const char *path)
{
	char full[PATH_MAX];
	snprintf(full, sizeof(full), "%s%s", devroot, path);
	return access(full, F_OK) == 0;
}

/* console=ttyS0 or console=hvc0: letters, digits, and nothing that could walk out of /dev. */
static bool plain_device_name(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

void console_pick(enum platform p, const char *console_param, const char *devroot, char *out, size_t n)
{
	const char *want = NULL;
	char param[48];
	if (p == PLATFORM_UML) {
		want = "/dev/tty0"; /* UML's con0: the terminal linux was started on */
	} else if (p == PLATFORM_XEN) {
		want = exists(devroot, "/dev/hvc0") ? "/dev/hvc0" : "/dev/tty1";
	} else if (console_param && plain_device_name(console_param)) {
		snprintf(param, sizeof(param), "/dev/%s", console_param);
		want = param;
	}
	if (!want || !exists(devroot, want))
		want = "/dev/console";
	snprintf(out, n, "%s", want);
}

long respawn_exited(struct respawn *r, long now_ms)
{
	r->pid = 0;
	if (now_ms - r->started_ms >= RESPAWN_FAST_MS) {
		r->fast_exits = 0;
		r->next_ms = now_ms;
		return 0;
	}
	r->fast_exits++;
	long delay = 0;
	if (r->fast_exits > RESPAWN_FREE_TRIES) {
		delay = 1000;
		for (int i = RESPAWN_FREE_TRIES + 1; i < r->fast_exits && delay < RESPAWN_MAX_MS; i++)
			delay *= 2;
		if (delay > RESPAWN_MAX_MS)
			delay = RESPAWN_MAX_MS;
	}
	r->next_ms = now_ms + delay;
	return delay;
}

static void child_shell(const char *tty, const sigset_t *restore)
{
	sigprocmask(SIG_SETMASK, restore, NULL);
	if (setsid() < 0)
		dprintf(2, "liveinit: unable to start a session for the shell: %s\n", strerror(errno));
	int fd = open(tty, O_RDWR | O_NOCTTY);
	if (fd < 0) {
		dprintf(2, "liveinit: unable to open the console %s: %s\n", tty, strerror(errno));
		_exit(127);
	}
	/* Steal it (arg 1): a shell that died may leave the terminal assigned to its dead session. */
	if (ioctl(fd, TIOCSCTTY, 1) < 0)
		dprintf(fd, "liveinit: unable to make %s the controlling terminal: %s\n", tty, strerror(errno));
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	tcsetpgrp(0, getpid());
	if (chdir("/root") < 0 && chdir("/") < 0)
		dprintf(2, "liveinit: unable to change to /root or /: %s\n", strerror(errno));
	char *const argv[] = { "-sh", "-l", NULL };
	char *const envp[] = {
		"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "TERM=linux",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PS1=\\u@\\h:\\w\\$ ", NULL,
	};
	execve("/bin/sh", argv, envp);
	dprintf(2, "liveinit: unable to run /bin/sh on %s: %s\n", tty, strerror(errno));
	_exit(127);
}

pid_t console_spawn_shell(const char *tty, const sigset_t *restore)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_shell(tty, restore);
	return pid;
}

int console_securetty_add(const char *root, const char *tty_path)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/etc/securetty", root);
	char *text;
	int r = read_file_text(path, &text);
	if (r < 0 || !text)
		return r;
	const char *name = strncmp(tty_path, "/dev/", 5) == 0 ? tty_path + 5 : tty_path;
	size_t n = strlen(name);
	bool found = false;
	for (const char *line = text; line && *line && !found;) {
		if (strncmp(line, name, n) == 0 && (line[n] == '\n' || line[n] == '\0'))
			found = true;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	r = 0;
	if (!found) {
		char *updated;
		size_t len = strlen(text);
		if (asprintf(&updated, "%s%s%s\n", text, (len && text[len - 1] != '\n') ? "\n" : "", name) < 0)
			r = -ENOMEM;
		else {
			r = write_file_atomic(path, updated);
			free(updated);
		}
	}
	free(text);
	return r;
}
