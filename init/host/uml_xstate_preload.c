/*
 * uml-xstate-preload.so: LD_PRELOAD shim that lets Debian's UML kernel run on hosts whose XSAVE area is
 * larger than UML expects.
 *
 * Why: UML saves and restores its guest processes' FPU state with PTRACE_{GET,SET}REGSET of NT_X86_XSTATE
 * using a size fixed at build time (2696 bytes in 6.1 and 6.12: x87/SSE, AVX, MPX, AVX-512, PKRU).  The host
 * kernel clamps a larger GETREGSET to its own size, but accepts a SETREGSET only when it covers the whole
 * XSAVE area (arch/x86/kernel/fpu/regset.c: count must equal the full size, else -EFAULT).  On CPUs with a
 * bigger area (AMX tile data makes it ~11 KiB) every restore fails and UML dies right after starting /init
 * with "ptrace set fp regs failed, errno = 14".
 *
 * Fix: for a short SETREGSET of NT_X86_XSTATE, read the tracee's full state, lay the caller's bytes over the
 * start of it, and write back the full buffer.  The components past the caller's length keep their current
 * values, which is what a short write means.  Every other ptrace() call passes through unchanged, and if
 * anything in the workaround fails the original call is made so the caller sees the kernel's own error.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);

/*
 * Scratch space for the full XSAVE image.  Static rather than on the stack or the heap: UML calls ptrace()
 * from its own kernel stacks, which are a few pages, and it wraps malloc() at link time.  UML issues these
 * calls from one host thread, so one buffer is enough.  64 KiB is far above any current XSAVE size
 * (AMX: ~11 KiB); a GETREGSET that fills it completely is treated as "too small" and not used.
 */
static unsigned char full_xstate[64 * 1024] __attribute__((aligned(64)));

static ptrace_fn real_ptrace(void)
{
	static ptrace_fn fn;

	if (!fn)
		fn = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	return fn;
}

/* Returns 0 when the short write was done as a full-size one; -1 (errno kept) to fall back. */
static int set_xstate_full(ptrace_fn pt, pid_t pid, const struct iovec *short_iov)
{
	struct iovec full = { .iov_base = full_xstate, .iov_len = sizeof(full_xstate) };
	int saved = errno;

	if (pt(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &full) < 0)
		goto fallback;
	/* Nothing to widen: the caller already covers the whole area (the kernel clamps longer writes). */
	if (full.iov_len <= short_iov->iov_len || full.iov_len >= sizeof(full_xstate))
		goto fallback;
	memcpy(full_xstate, short_iov->iov_base, short_iov->iov_len);
	if (pt(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &full) < 0)
		goto fallback;
	errno = saved;
	return 0;
fallback:
	errno = saved;
	return -1;
}

/* glibc declares ptrace() variadic; the kernel always takes pid, addr and data. */
long ptrace(enum __ptrace_request request, ...)
{
	ptrace_fn pt = real_ptrace();
	va_list ap;
	pid_t pid;
	void *addr, *data;

	va_start(ap, request);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);

	if (!pt) {
		errno = ENOSYS;
		return -1;
	}
	if (request == PTRACE_SETREGSET && (unsigned long)addr == NT_X86_XSTATE && data &&
	    set_xstate_full(pt, pid, data) == 0)
		return 0;
	return pt(request, pid, addr, data);
}
