/* liveinit-probe: print what each given block device or image holds, one line per path, in order:
 *     TYPE<TAB>LABEL<TAB>UUID
 * (TYPE as fs_type_name(); LABEL and UUID empty when there is none; labels never contain a tab).
 * Exit status: 0 every path was probed (an unrecognised one prints "unknown"), 1 a path could not be opened
 * or read (one line on stderr naming it, and no stdout line for it), 2 usage. */
#include "common/probe.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: liveinit-probe PATH...\n");
		return 2;
	}
	int status = 0;
	for (int i = 1; i < argc; i++) {
		struct probe_result r;
		int rc = probe_path(argv[i], &r);
		if (rc < 0) {
			fprintf(stderr, "liveinit-probe: unable to probe %s: %s\n", argv[i], strerror(-rc));
			status = 1;
			continue;
		}
		printf("%s\t%s\t%s\n", fs_type_name(r.type), r.label, r.uuid);
	}
	if (fflush(stdout) != 0) {
		perror("liveinit-probe: unable to write to stdout");
		return 1;
	}
	return status;
}
