/*
 * uml-xstate-check [BYTES]: does this host need uml-xstate-preload.so to run UML?
 *
 * Does what UML does when it restores a guest process's FPU state: PTRACE_SETREGSET of NT_X86_XSTATE with
 * UML's fixed size (BYTES, default 2696, the size Linux 6.1 and 6.12 UML use on x86_64) on a stopped child.
 * The host kernel accepts it only when BYTES covers its whole XSAVE area (longer is clamped, shorter is
 * -EFAULT), so on hosts with a bigger area (AMX) UML dies and needs the preload.
 *
 * Exit codes: 0 preload not needed, 1 preload needed, 2 usage or any other error.  Prints one line.
 */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define UML_XSTATE_BYTES 2696
#define PROG "uml-xstate-check"

enum { NOT_NEEDED = 0, NEEDED = 1, ERROR = 2 };

/* Large enough for any current XSAVE area (AMX: ~11 KiB). */
static unsigned char xstate[64 * 1024] __attribute__((aligned(64)));

static pid_t start_stopped_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			raise(SIGSTOP);
		_exit(0);
	}
	return pid;
}

/* Returns the process' verdict; `bytes` is the write size to try. */
static int check(pid_t child, size_t bytes)
{
	struct iovec full = { .iov_base = xstate, .iov_len = sizeof(xstate) };
	struct iovec iov = { .iov_base = xstate, .iov_len = bytes };

	/* The full size, for the message; the kernel shortens iov_len to it. */
	if (ptrace(PTRACE_GETREGSET, child, (void *)NT_X86_XSTATE, &full) < 0) {
		if (errno == ENODEV || errno == EIO || errno == EINVAL) {
			/* No XSAVE regset: UML falls back to PTRACE_SETFPREGS, which has a fixed size. */
			printf(PROG ": host has no NT_X86_XSTATE regset (%s); preload not needed\n",
			       strerror(errno));
			return NOT_NEEDED;
		}
		printf(PROG ": unable to PTRACE_GETREGSET NT_X86_XSTATE of child %d: %s\n", (int)child,
		       strerror(errno));
		return ERROR;
	}
	/* Write back the state just read, as UML does; BYTES may exceed what GETREGSET filled in. */
	if (ptrace(PTRACE_SETREGSET, child, (void *)NT_X86_XSTATE, &iov) == 0) {
		printf(PROG ": host accepts a %zu-byte NT_X86_XSTATE write (full size %zu); preload not needed\n",
		       bytes, full.iov_len);
		return NOT_NEEDED;
	}
	if (errno == EFAULT || errno == EINVAL) {
		printf(PROG ": host rejects a %zu-byte NT_X86_XSTATE write (full size %zu): %s; preload needed\n",
		       bytes, full.iov_len, strerror(errno));
		return NEEDED;
	}
	printf(PROG ": unable to PTRACE_SETREGSET NT_X86_XSTATE of child %d: %s\n", (int)child,
	       strerror(errno));
	return ERROR;
}

int main(int argc, char **argv)
{
	size_t bytes = UML_XSTATE_BYTES;
	int status, verdict;
	pid_t child;

	if (argc > 2 || (argc == 2 && (bytes = strtoul(argv[1], NULL, 10)) == 0) || bytes > sizeof(xstate)) {
		fprintf(stderr, "usage: " PROG " [BYTES]   (default %d, UML's NT_X86_XSTATE size)\n",
			UML_XSTATE_BYTES);
		return ERROR;
	}
	child = start_stopped_child();
	if (child < 0) {
		printf(PROG ": unable to fork a child to trace: %s\n", strerror(errno));
		return ERROR;
	}
	if (waitpid(child, &status, 0) < 0) {
		printf(PROG ": unable to wait for child %d: %s\n", (int)child, strerror(errno));
		verdict = ERROR;
	} else if (!WIFSTOPPED(status)) {
		printf(PROG ": child %d did not stop under ptrace (PTRACE_TRACEME refused?)\n", (int)child);
		verdict = ERROR;
	} else {
		verdict = check(child, bytes);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return verdict;
}
