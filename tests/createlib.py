"""Driving scripts/create from tests and benchmarks: a private run dir, its guests' logs, and cleanup that
leaves no UML, tmux, tap device, nftables table or network namespace behind."""
import os
import re
import signal
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CREATE = os.path.join(TOP, "scripts", "create")

# The live root's ready line: stage 2's "[*] liveinit <version> ready", busybox init's placeholder
# "[*] liveinit ready (busybox init)".
READY = r"liveinit[^\r\n]* ready"
STAGE2_READY = r"\[\*\] liveinit [0-9][^\r\n]* ready"
SWITCH = r"\[\*\] Switching to the live root"
PANIC = r"Kernel panic"


class RunDir:
    """One CREATE_RUNDIR; optionally every create command runs inside network namespace ns."""

    def __init__(self, path, ns=None):
        self.path = str(path)
        self.ns = ns

    def env(self, extra=None):
        env = dict(os.environ, CREATE_RUNDIR=self.path)
        env.update(extra or {})
        return env

    def run(self, *args, prefix=(), env=None, timeout=120, check=False):
        cmd = list(prefix)
        if self.ns:
            cmd += ["ip", "netns", "exec", self.ns]
        cmd += [CREATE] + list(args)
        p = subprocess.run(cmd, env=self.env(env), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("%s: exit %d\nstdout: %s\nstderr: %s" % (" ".join(args), p.returncode,
                                                                        p.stdout, p.stderr))
        return p

    def create(self, *args, **kw):
        """Start a guest; returns its name (the first line create prints)."""
        p = self.run(*args, check=True, **kw)
        return p.stdout.splitlines()[0].strip()

    def log_path(self, name):
        return os.path.join(self.path, "guests", name, "log")

    def log(self, name):
        try:
            with open(self.log_path(name), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, name, pattern, timeout=60, start=0):
        """Wait until the guest's log (from offset start) matches pattern; a panic fails at once."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log(name)[start:]
            m = re.search(pattern, text)
            if m:
                return m
            if re.search(PANIC, text):
                raise AssertionError("%s: kernel panic waiting for %r:\n%s" % (name, pattern, text[-3000:]))
            if time.monotonic() > deadline:
                raise AssertionError("%s: timeout waiting for %r; log tail:\n%s" % (name, pattern, text[-3000:]))
            time.sleep(0.1)

    def send(self, name, line):
        """Type a line at the guest's console: through its tmux session, or its console fifo (plain)."""
        gdir = os.path.join(self.path, "guests", name)
        with open(os.path.join(gdir, "mux")) as f:
            mux = f.read().strip()
        if mux == "plain":
            with open(os.path.join(gdir, "console"), "w") as f:
                f.write(line + "\n")
            return
        subprocess.run(["tmux", "-S", os.path.join(self.path, "tmux.sock"), "send-keys", "-t", "=%s:" % name,
                        line, "Enter"], check=True, env=dict(os.environ, TMUX=""), timeout=10)

    def shell(self, name, command, timeout=30):
        """Run command at the guest's shell; returns (status, output) read back from the log."""
        n = time.monotonic_ns()
        start = len(self.log(name))
        self.send(name, "echo @@B%d''@@; %s; echo @@E%d''@@ $?" % (n, command, n))
        m = self.wait_log(name, re.compile(r"@@B%d@@\r?\n(.*?)@@E%d@@ (\d+)" % (n, n), re.S), timeout=timeout,
                          start=start)
        return int(m.group(2)), m.group(1).replace("\r", "")

    def list(self):
        """create list as {name: {"pid":, "mem":, "state":, "net":}}."""
        out = self.run("list", check=True).stdout.splitlines()
        assert out and out[0].split() == ["NAME", "PID", "MEM", "STATE", "NET"], out
        rows = {}
        for line in out[1:]:
            name, pid, mem, state, net = line.split()
            rows[name] = {"pid": pid, "mem": mem, "state": state, "net": net}
        return rows

    def processes(self):
        """Processes whose command line mentions this run dir (UML's uml_dir=, tmux -S, the session wrapper)
        or whose pid a guest recorded."""
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if self.path in cmd and "pytest" not in cmd:
                found.append((int(pid), cmd))
        return found

    def cleanup(self):
        """Stop everything, by force if need be; kill whatever is left."""
        try:
            self.run("stop", "--all", "--force", timeout=60)
        except Exception:
            pass
        subprocess.run(["tmux", "-S", os.path.join(self.path, "tmux.sock"), "kill-server"],
                       capture_output=True, env=dict(os.environ, TMUX=""))
        for pid, _ in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        dpid = os.path.join(self.path, "net", "dnsmasq.pid")
        if os.path.exists(dpid):
            try:
                os.kill(int(open(dpid).read().strip()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
