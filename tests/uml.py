"""Boot harness for real UML guests: start scripts/uml-run, read the console, time out, always kill.

    with UML(["initrd=build/initrd.img", "root=/dev/ubda", "ubdar=build/live.iso", "uml"]) as g:
        g.expect(READY)
        g.shell("cat /etc/os-release")          # runs a command at the guest's shell, returns its output
        g.poweroff()                            # waits for the UML process to exit, returns its status

Every guest gets its own umid; the console log goes to build/test-logs/<umid>.log for post-mortems.
"""
import os
import re
import signal
import subprocess
import time
import itertools
import shutil

import pexpect

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
UML_RUN = os.path.join(TOP, "scripts", "uml-run")
LOGDIR = os.path.join(BUILD, "test-logs")

# The live root's ready line (stage 2 prints "[*] liveinit <version> ready").
READY = r"liveinit[^\r\n]* ready"
PANIC = r"Kernel panic"

_counter = itertools.count()


class UML:
    def __init__(self, args, mem="128M", timeout=60, prefix=(), kernel=None, name=None):
        self.umid = name or "liveinit-t%d-%d" % (os.getpid(), next(_counter))
        self.args = ["mem=" + mem, "umid=" + self.umid, "con=null", "con0=fd:0,fd:1",
                     "printk.time=1"] + list(args)
        self.timeout = timeout
        self.prefix = list(prefix)   # e.g. ["ip", "netns", "exec", NS]
        self.kernel = kernel
        self.child = None
        self.exitstatus = None
        os.makedirs(LOGDIR, exist_ok=True)
        self.logpath = os.path.join(LOGDIR, self.umid + ".log")

    def start(self):
        cmd = self.prefix + [UML_RUN] + (["--kernel", self.kernel] if self.kernel else []) + self.args
        self.log = open(self.logpath, "w", encoding="utf-8", errors="replace")
        self.log.write("# " + " ".join(cmd) + "\n")
        env = dict(os.environ, TMPDIR=os.environ.get("TMPDIR", "/tmp"))
        self.child = pexpect.spawn(cmd[0], cmd[1:], cwd=TOP, env=env, encoding="utf-8",
                                   codec_errors="replace", timeout=self.timeout, logfile=self.log,
                                   dimensions=(50, 200))
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()

    @property
    def output(self):
        """Everything the console printed so far."""
        self.log.flush()
        with open(self.logpath, encoding="utf-8", errors="replace") as f:
            return f.read()

    def expect(self, pattern, timeout=None):
        """Wait for pattern; a kernel panic or the guest's exit fails at once with the console tail."""
        pats = [pattern, PANIC, pexpect.EOF, pexpect.TIMEOUT]
        i = self.child.expect(pats, timeout=timeout or self.timeout)
        if i != 0:
            what = ["", "kernel panic", "guest exited", "timeout"][i]
            raise AssertionError("waiting for %r: %s; console tail:\n%s" % (pattern, what, self.output[-3000:]))
        return self.child.match

    def sendline(self, line):
        self.child.sendline(line)

    def shell(self, command, timeout=None):
        """Run command at the guest's shell; return its output (without the echo)."""
        n = next(_counter)
        begin, end = "@@B%d@@" % n, "@@E%d@@" % n
        # The markers are built by the shell, so the echoed command line does not match them.
        self.sendline("echo @@B%d''@@; %s; echo @@E%d''@@ $?" % (n, command, n))
        self.expect(re.escape(begin) + r"\r*\n", timeout)  # a serial console through a pty: \r\r\n
        self.expect(re.escape(end) + r" (\d+)", timeout)
        out = self.child.before.replace("\r", "")
        self.last_status = int(self.child.match.group(1))
        return out

    def wait_exit(self, timeout=None):
        """Wait for the UML process to end by itself; returns its exit status (or -signal)."""
        self.child.expect(pexpect.EOF, timeout=timeout or self.timeout)
        self.child.close()
        self.exitstatus = self.child.exitstatus if self.child.exitstatus is not None else -self.child.signalstatus
        return self.exitstatus

    def poweroff(self, command="poweroff", timeout=None):
        self.sendline(command)
        return self.wait_exit(timeout)

    def kill(self):
        """Kill the guest and everything it started (UML's helper processes share its process group)."""
        if self.child is not None and self.child.isalive():
            try:
                os.killpg(os.getpgid(self.child.pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.child.close(force=True)
            except Exception:
                pass
        # UML leaves its mconsole socket and pid file in ~/.uml/<umid>.
        shutil.rmtree(os.path.join(os.path.expanduser("~"), ".uml", self.umid), ignore_errors=True)
        if hasattr(self, "log") and not self.log.closed:
            self.log.close()


def sha256(path):
    out = subprocess.run(["sha256sum", path], check=True, capture_output=True, text=True).stdout
    return out.split()[0]


def kernel_times(text):
    """(seconds at 'Run /init', seconds at liveinit's exec of the root's init) from a printk.time console."""
    run = re.search(r"\[\s*([\d.]+)\] Run /init as init process", text)
    done = re.search(r"\[\s*([\d.]+)\] liveinit: stage 1 done", text)
    return (float(run.group(1)) if run else None, float(done.group(1)) if done else None)
