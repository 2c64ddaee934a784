/* libFuzzer target: persistence.conf (stage1/persistconf.c), read from the user's persistence disk at every
 * boot.  Accepted: at most PCONF_MAX entries, each dir and source an absolute path within its array, with no
 * "." or ".." component (the paths are joined to mount points), "/" only as a union.  Refused: a reason that
 * names the line.  Seeds: tests/fuzz/persistconf-seeds/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage1/persistconf.h"

static void check_path(const char *p)
{
	if (!memchr(p, 0, PCONF_PATH) || p[0] != '/')
		abort();
	size_t len = strlen(p);
	if (len > 1 && p[len - 1] == '/')
		abort();
	if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") || (len >= 2 && !strcmp(p + len - 2, "/.")) ||
	    (len >= 3 && !strcmp(p + len - 3, "/..")))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct pconf conf;
	char why[200];
	why[0] = 0;
	int rc = pconf_parse(text, &conf, why, sizeof why);
	free(text);
	if (rc < 0) {
		if (!why[0] || !memchr(why, 0, sizeof why) || strncmp(why, "line ", 5))
			abort();
		return 0;
	}
	if (rc != 0 || conf.n < 0 || conf.n > PCONF_MAX)
		abort();
	for (int i = 0; i < conf.n; i++) {
		check_path(conf.e[i].dir);
		check_path(conf.e[i].source);
		if (!strcmp(conf.e[i].dir, "/") && !conf.e[i].is_union)
			abort();
	}
	return 0;
}
