#include "stage2/dpkg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A streaming read: the status file of a full root is a few MB, no need to hold it. */
int dpkg_installed_count(const char *status_path)
{
	FILE *f = fopen(status_path, "re");
	if (!f)
		return -errno;
	char line[512];
	int count = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Status:", 7) != 0)
			continue;
		/* "Status: install ok installed": want, flag, status; the third word is the state. */
		char want[32], flag[32], state[32];
		if (sscanf(line + 7, "%31s %31s %31s", want, flag, state) == 3 && strcmp(state, "installed") == 0)
			count++;
	}
	int err = ferror(f) ? EIO : 0;
	fclose(f);
	return err ? -err : count;
}
