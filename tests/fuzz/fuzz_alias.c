/* libFuzzer target: modules.alias parsing and modalias matching (common/coldplug.c), what stage 2's
 * coldplug runs against every device's modalias.  Input: modules.alias text, a NUL, then a modalias string
 * (without one, each pattern is matched against itself with its wildcards as literal text).  Every module a
 * match reports is one named in the table.  Seeds: the head of a real modules.alias (tests/fuzz/fuzz.mk). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/coldplug.h"
#include "common/moddep.h"

static char path[64];

struct seen {
	const struct alias_table *t;
	size_t n;
};

static int on_match(void *ctx, const char *module)
{
	struct seen *s = ctx;
	bool known = false;
	for (size_t i = 0; i < s->t->n && !known; i++)
		known = strcmp(s->t->entries[i].module, module) == 0;
	if (!known)
		abort();
	return ++s->n > 1000; /* a non-zero return stops the walk */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0])
		snprintf(path, sizeof(path), "/dev/shm/fuzz-alias.%d", (int)getpid());
	const uint8_t *nul = memchr(data, 0, size);
	size_t textlen = nul ? (size_t)(nul - data) : size;
	FILE *f = fopen(path, "we");
	if (!f)
		abort();
	fwrite(data, 1, textlen, f);
	fclose(f);
	struct alias_table t;
	if (alias_load(&t, path) < 0)
		return 0;
	struct seen s = { &t, 0 };
	if (nul) {
		size_t n = size - textlen - 1;
		char *modalias = malloc(n + 1);
		if (modalias) {
			memcpy(modalias, nul + 1, n);
			modalias[n] = 0;
			alias_match(&t, modalias, on_match, &s);
			free(modalias);
		}
	} else {
		for (size_t i = 0; i < t.n && i < 8; i++)
			alias_match(&t, t.entries[i].pattern, on_match, &s);
	}
	alias_free(&t);
	return 0;
}
