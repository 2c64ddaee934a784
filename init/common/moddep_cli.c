/* liveinit-moddep: print the module files NAME needs, dependencies first, one path a line relative to DIR.
 * Used by initrd/mkinitrd at build time, with the same resolver stage 1 uses at boot.
 *   liveinit-moddep DIR NAME...     a NAME prefixed with '?' is optional (no error when missing)
 * Built-in modules print nothing.  Exit: 0 ok, 1 a required module is missing, 2 usage. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/moddep.h"

int main(int argc, char **argv)
{
	if (argc < 3 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: liveinit-moddep DIR [?]NAME...\n");
		return 2;
	}
	struct moddep md;
	char failed[4096];
	int rc = moddep_load(&md, argv[1], failed, sizeof failed);
	if (rc < 0) {
		fprintf(stderr, "liveinit-moddep: unable to read %s: %s\n", failed, strerror(-rc));
		return 1;
	}
	struct modlist list = {0};
	int status = 0;
	for (int i = 2; i < argc; i++) {
		bool optional = argv[i][0] == '?';
		const char *name = argv[i] + optional;
		enum moddep_status st = moddep_resolve(&md, name, &list);
		if (st == MODDEP_MISSING && !optional) {
			fprintf(stderr, "liveinit-moddep: module %s: not in %s/modules.dep and not built in\n", name, argv[1]);
			status = 1;
		} else if (st < MODDEP_MISSING) {
			fprintf(stderr, "liveinit-moddep: module %s: %s\n", name,
				st == MODDEP_NOMEM ? "out of memory" : "dependency loop in modules.dep");
			status = 1;
		}
	}
	for (size_t i = 0; i < list.n; i++)
		printf("%s\n", list.paths[i]);
	modlist_free(&list);
	moddep_free(&md);
	return status;
}
