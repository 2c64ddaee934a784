/*
 * Test helper (LD_PRELOAD into a UML kernel): make this host's ptrace behave like one whose XSAVE
 * area is larger than UML's fixed FP state, as on a CPU with AMX.  Such a host's kernel
 * (arch/x86/kernel/fpu/regset.c) truncates PTRACE_GETREGSET of NT_X86_XSTATE to its XSAVE size
 * and fails PTRACE_SETREGSET with EFAULT unless the buffer is exactly that size.  Here the
 * emulated size is the real one plus the 8576 bytes of AMX tile state; the extra bytes read as
 * zero and are dropped on the way back.  Lets tests show a kernel copes with such a host on a
 * machine that is not one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define AMX_EXTRA 8576 /* XTILECFG (64) + XTILEDATA (8192) + alignment, as laid out by XSAVE */
#define PROBE_MAX (1 << 20)

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

static ptrace_fn real_ptrace(void)
{
	return (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
}

/* The host's real XSAVE size, read from the traced process itself; 0 on failure. */
static size_t real_size(ptrace_fn real, pid_t pid, void *buf)
{
	struct iovec iov = { buf, PROBE_MAX };

	if (real(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) < 0)
		return 0;
	return iov.iov_len;
}

static long xstate(ptrace_fn real, int req, pid_t pid, struct iovec *iov)
{
	static char buf[PROBE_MAX];
	size_t real_len = real_size(real, pid, buf);
	size_t fake_len = real_len + AMX_EXTRA;
	size_t len = iov->iov_len < fake_len ? iov->iov_len : fake_len;
	struct iovec full = { buf, real_len };

	if (real_len == 0)
		return -1;
	if (req == PTRACE_GETREGSET) {
		memset(buf + real_len, 0, AMX_EXTRA);
		memcpy(iov->iov_base, buf, len);
		iov->iov_len = len;
		return 0;
	}
	if (len != fake_len) {
		errno = EFAULT;
		return -1;
	}
	memcpy(buf, iov->iov_base, real_len);
	return real(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &full);
}

long ptrace(enum __ptrace_request request, ...)
{
	ptrace_fn real = real_ptrace();
	va_list ap;
	pid_t pid;
	void *addr, *data;

	va_start(ap, request);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);

	if ((request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) &&
	    (unsigned long)addr == NT_X86_XSTATE)
		return xstate(real, (int)request, pid, data);
	return real((int)request, pid, addr, data);
}
