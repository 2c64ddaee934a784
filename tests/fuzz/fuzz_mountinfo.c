/* libFuzzer target: the mountinfo parser (common/mountinfo.c), line by line and as a whole file.
 * A parsed entry's fields are strings inside the line's storage, and decoding never makes a field longer;
 * reading the file gives at most one entry per line.  Seeds: tests/fuzz/mountinfo-seeds/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mountinfo.h"

static char path[64];

static void inside(const char *field, const char *buf, size_t size)
{
	if (!field || field < buf || field + strlen(field) >= buf + size + 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	struct mount_entry e;
	memset(&e, 0, sizeof(e));
	if (mountinfo_parse_line(line, &e) == 0) {
		inside(e.root, line, size);
		inside(e.target, line, size);
		inside(e.options, line, size);
		inside(e.fstype, line, size);
		inside(e.source, line, size);
		inside(e.super_options, line, size);
		(void)mount_option_present(e.options, "ro");
	}
	free(line);

	if (!path[0]) {
		snprintf(path, sizeof(path), "/dev/shm/fuzz-mountinfo.%d", (int)getpid());
	}
	FILE *f = fopen(path, "we");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	struct mount_table t = { 0 };
	if (mountinfo_read(path, &t) == 0) {
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		if (t.count > lines)
			abort();
		for (size_t i = 0; i < t.count; i++)
			if (mountinfo_find_target(&t, t.entries[i].target) == NULL)
				abort();
		mountinfo_free(&t);
	}
	return 0;
}
