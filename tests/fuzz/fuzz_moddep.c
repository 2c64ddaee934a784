/* libFuzzer target: modules.dep + modules.builtin parsing and dependency resolution (common/moddep.c), the
 * same code mkinitrd uses at build time and stage 1 at boot.  Input: modules.dep text, then optionally a
 * NUL and modules.builtin text.  Every module named in the file resolves without crashing; a resolved list
 * has no duplicates.  Seeds: the head of a real modules.dep (tests/fuzz/fuzz.mk makes them). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/moddep.h"

static char dir[64];

static void put(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/fuzz-moddep.%d", (int)getpid());
		mkdir(dir, 0700);
	}
	const uint8_t *nul = memchr(data, 0, size);
	size_t deplen = nul ? (size_t)(nul - data) : size;
	put("modules.dep", data, deplen);
	char builtin[128];
	snprintf(builtin, sizeof(builtin), "%s/modules.builtin", dir);
	if (nul)
		put("modules.builtin", nul + 1, size - deplen - 1);
	else
		unlink(builtin);

	struct moddep md;
	char failed[256];
	if (moddep_load(&md, dir, failed, sizeof(failed)) < 0)
		return 0;
	for (size_t i = 0; i < md.nentries && i < 16; i++) {
		struct modlist list = { 0 };
		moddep_resolve(&md, md.entries[i].name, &list);
		for (size_t a = 0; a < list.n; a++)
			for (size_t b = a + 1; b < list.n; b++)
				if (strcmp(list.paths[a], list.paths[b]) == 0)
					abort();
		modlist_free(&list);
	}
	struct modlist list = { 0 };
	moddep_resolve(&md, "no_such_module", &list);
	modlist_free(&list);
	moddep_free(&md);
	return 0;
}
