#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/apimounts.h"
#include "stage1/stage1.h"

/* The kernel opens /dev/console for init only if the initramfs has that node; once devtmpfs is up we
 * reopen it ourselves so messages and the rescue shell always reach the console. */
static void console_stdio(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i); /* dup2 clears O_CLOEXEC on the copies */
	if (fd > 2)
		close(fd);
}

int early_mounts(struct s1_error *err)
{
	for (int i = 0; i < API_COUNT; i++)
		if (api_mount("", &api_mounts[i], err->msg, sizeof err->msg) < 0)
			return -1;
	console_stdio();
	return 0;
}
