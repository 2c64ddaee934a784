#include "common/cmdline.h"
#include "common/fileio.h"

#include <stdio.h>
#include <string.h>

const char *platform_name(enum platform p)
{
	switch (p) {
	case PLATFORM_UML:
		return "uml";
	case PLATFORM_XEN:
		return "xen";
	default:
		return "pc";
	}
}

/* Read up to size-1 bytes of root/rel into buf; returns false when it cannot be read. */
static bool read_small(const char *root, const char *rel, char *buf, size_t size)
{
	char path[512];
	snprintf(path, sizeof path, "%s%s", root, rel);
	return file_read_small(path, buf, size) >= 0;
}

enum platform platform_detect(const char *root)
{
	char buf[2048];
	/* UML's /proc/cpuinfo carries "vendor_id : User Mode Linux" and "model name : UML". */
	if (read_small(root, "/proc/cpuinfo", buf, sizeof buf) && strstr(buf, "User Mode Linux"))
		return PLATFORM_UML;
	/* Xen guests (PV and HVM) expose the hypervisor type in sysfs. */
	if (read_small(root, "/sys/hypervisor/type", buf, sizeof buf) && strncmp(buf, "xen", 3) == 0)
		return PLATFORM_XEN;
	return PLATFORM_PC;
}
