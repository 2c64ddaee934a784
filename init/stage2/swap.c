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

long swaps_used_kb(const char *text)
{
	long total = 0;
	const char *line = text ? strchr(text, '\n') : NULL;
	while (line && *++line) {
		char name[256], type[32];
		long size, used;
		if (sscanf(line, "%255s %31s %ld %ld", name, type, &size, &used) == 4)
			total += used;
		line = strchr(line, '\n');
	}
	return total;
}

int swap_on(const char *dev)
{
	return swapon(dev, 0) == 0 ? 0 : -errno;
}
