/*
 * uml-xstate-roundtrip BYTES: test helper for uml-xstate-preload.so (run by tests/test_umlrun.py).
 *
 * Stops a traced child, writes a known pattern into its xmm0..xmm15 with a BYTES-long PTRACE_SETREGSET of
 * NT_X86_XSTATE (short, as UML does), then checks that
 *   - GETREGSET reads the pattern back and every byte past BYTES is unchanged, and
 *   - the child, once resumed, really has the pattern in xmm15 (it reports the register over a pipe).
 * Exit codes: 0 all true; 1 the SETREGSET failed (message names the errno); 2 it succeeded but the state is
 * wrong, or any other error.  The full XSAVE size is printed as "full=N" for the test.
 */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define XMM_OFFSET 160 /* xmm0 in the FXSAVE (legacy) area that starts every XSAVE image */
#define XMM_BYTES (16 * 16)

static unsigned char before[64 * 1024] __attribute__((aligned(64)));
static unsigned char after[64 * 1024] __attribute__((aligned(64)));
static unsigned char mine[64 * 1024] __attribute__((aligned(64)));

/* Child: stop with a raw kill syscall and read xmm15 in the same asm block, so no libc code runs in
 * between that might use the register; then report it to the parent. */
static void child(int out)
{
	unsigned char xmm15[16];
	long ret;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
		_exit(3);
	__asm__ volatile("syscall\n\tmovdqu %%xmm15, (%[o])"
			 : "=a"(ret)
			 : "0"((long)SYS_kill), "D"((long)getpid()), "S"((long)SIGSTOP), [o] "r"(xmm15)
			 : "rcx", "r11", "memory", "xmm15");
	(void)ret;
	if (write(out, xmm15, sizeof(xmm15)) != (ssize_t)sizeof(xmm15))
		_exit(4);
	_exit(0);
}

static int getregset(pid_t pid, unsigned char *buf, size_t *len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = 64 * 1024 };

	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) < 0) {
		printf("unable to PTRACE_GETREGSET NT_X86_XSTATE of %d: %s\n", (int)pid, strerror(errno));
		return -1;
	}
	*len = iov.iov_len;
	return 0;
}

static int run(pid_t pid, int in, size_t bytes)
{
	struct iovec iov = { .iov_base = mine, .iov_len = bytes };
	unsigned char xmm15[16];
	size_t full, full2;
	int status;

	if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) {
		printf("child %d did not stop under ptrace\n", (int)pid);
		return 2;
	}
	if (getregset(pid, before, &full) < 0)
		return 2;
	printf("full=%zu\n", full);
	memcpy(mine, before, full);
	for (int i = 0; i < XMM_BYTES; i++)
		mine[XMM_OFFSET + i] = (unsigned char)(0xa5 ^ i);
	/* The SSE bit in the header's xstate_bv, so the kernel takes the xmm values and not the init state. */
	mine[512] |= 2;

	if (ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &iov) < 0) {
		printf("PTRACE_SETREGSET NT_X86_XSTATE with %zu bytes failed: errno=%d (%s)\n", bytes, errno,
		       strerror(errno));
		return 1;
	}
	if (getregset(pid, after, &full2) < 0)
		return 2;
	if (full2 != full || memcmp(after + XMM_OFFSET, mine + XMM_OFFSET, XMM_BYTES) != 0) {
		printf("xmm registers read back differ from those written\n");
		return 2;
	}
	if (bytes < full && memcmp(after + bytes, before + bytes, full - bytes) != 0) {
		printf("state past the first %zu bytes changed\n", bytes);
		return 2;
	}
	if (ptrace(PTRACE_CONT, pid, NULL, NULL) < 0 || read(in, xmm15, sizeof(xmm15)) != sizeof(xmm15)) {
		printf("child %d did not report its xmm15: %s\n", (int)pid, strerror(errno));
		return 2;
	}
	if (memcmp(xmm15, mine + XMM_OFFSET + 15 * 16, sizeof(xmm15)) != 0) {
		printf("child's xmm15 is not the value written\n");
		return 2;
	}
	printf("PTRACE_SETREGSET NT_X86_XSTATE with %zu bytes ok; child's xmm15 holds the written value\n", bytes);
	return 0;
}

int main(int argc, char **argv)
{
	size_t bytes = argc == 2 ? strtoul(argv[1], NULL, 10) : 0;
	int fds[2], rc;
	pid_t pid;

	if (argc != 2 || bytes < 576 || bytes > sizeof(mine)) {
		fprintf(stderr, "usage: uml-xstate-roundtrip BYTES   (576 <= BYTES <= %zu)\n", sizeof(mine));
		return 2;
	}
	if (pipe(fds) < 0) {
		printf("unable to create a pipe: %s\n", strerror(errno));
		return 2;
	}
	alarm(20); /* never hang a test run */
	pid = fork();
	if (pid < 0) {
		printf("unable to fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1]);
	}
	close(fds[1]);
	rc = run(pid, fds[0], bytes);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return rc;
}
