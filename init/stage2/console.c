#include "stage2/console.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/spawn.h"

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

pid_t console_spawn_shell(const char *tty, const sigset_t *restore)
{
	static char *const argv[] = { "-sh", "-l", NULL };
	static char *const envp[] = {
		"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "TERM=linux",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PS1=\\u@\\h:\\w\\$ ", NULL,
	};
	const struct shell_spec spec = { .tty = tty, .path = "/bin/sh", .argv = argv, .envp = envp, .dir = "/root",
					 .restore = restore };
	return spawn_shell(&spec);
}

int console_securetty_add(const char *root, const char *tty_path)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/etc/securetty", root);
	char *text;
	int r = file_read(path, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
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
			r = file_write_atomic(path, updated, strlen(updated), NULL);
			free(updated);
		}
	}
	free(text);
	return r;
}
