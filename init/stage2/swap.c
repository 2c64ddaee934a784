#include "stage2/swap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/swap.h>

#include "common/mountinfo.h"
#include "common/fileio.h"

size_t swaps_parse(const char *text, char (*paths)[256], size_t max)
{
	size_t count = 0;
	const char *line = text ? strchr(text, '\n') : NULL; /* first line is the header */
	while (line && *++line && count < max) {
		size_t len = strcspn(line, " \t\n");
		if (len > 0 && len < 256) {
			memcpy(paths[count], line, len);
			paths[count][len] = '\0';
			mountinfo_unescape(paths[count]);
			count++;
		}
		line = strchr(line, '\n');
	}
	return count;
}

int swap_on(const char *dev)
{
	return swapon(dev, 0) == 0 ? 0 : -errno;
}

#define SWAPS_MAX 64

int swap_off_all(const char *swaps_path, char *failed, size_t n, int *err)
{
	failed[0] = '\0';
	*err = 0;
	char *text;
	int r = file_read(swaps_path, &text, NULL);
	if (r == -ENOENT) {
		text = NULL;
		r = 0;
	}
	if (r < 0) {
		snprintf(failed, n, "%s", swaps_path);
		*err = -r;
		return 1;
	}
	char paths[SWAPS_MAX][256]; /* 16 KiB of stack, once, at shutdown */
	size_t count = swaps_parse(text, paths, SWAPS_MAX);
	free(text);
	int left = 0;
	for (size_t i = 0; i < count; i++) {
		if (swapoff(paths[i]) == 0)
			continue;
		if (!left) {
			snprintf(failed, n, "%s", paths[i]);
			*err = errno;
		}
		left++;
	}
	return left;
}
