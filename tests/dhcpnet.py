"""Network namespaces, veth pairs and real DHCP servers for the dhcpc tests and benchmark.

Everything made here has a name unique to this process (it includes os.getpid()) and is removed by
close(), which the tests call from a finally/fixture so a failing test leaves nothing behind.
"""
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DHCPC = os.path.join(ROOT, "build", "bin", "dhcpc")
_serial = itertools.count()


def run(*cmd, check=True, timeout=60, **kw):
    """Run to completion with captured output (never for a command that leaves a daemon holding the pipes)."""
    return subprocess.run(cmd, check=check, text=True, capture_output=True, timeout=timeout, **kw)


def unique(prefix):
    """Short unique name (interface names are limited to 15 characters)."""
    return f"{prefix}{os.getpid() % 1000000}{next(_serial)}"


def wait_for(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


class Lab:
    """A client namespace linked by one veth pair to a server namespace (optionally through a bridge so
    more hosts can join the same link)."""

    def __init__(self, subnet="10.66.0", bridge=False):
        self.subnet = subnet
        self.tmp = tempfile.mkdtemp(prefix="dhcptest.")
        self.namespaces, self.procs = [], []
        self.cli = self._ns("dc")
        self.srv = self._ns("ds")
        self.cif = unique("vc")
        self.sif = unique("vs")
        run("ip", "link", "add", self.cif, "netns", self.cli, "type", "veth", "peer", "name", self.sif,
            "netns", self.srv)
        self.ip(self.srv, "link", "set", "lo", "up")
        self.ip(self.cli, "link", "set", "lo", "up")
        self.bridge = None
        if bridge:
            self.bridge = unique("br")
            self.ip(self.srv, "link", "add", self.bridge, "type", "bridge")
            self.ip(self.srv, "link", "set", self.sif, "master", self.bridge)
            self.ip(self.srv, "link", "set", self.bridge, "up")
        self.ip(self.srv, "link", "set", self.sif, "up")
        self.mac = json.loads(self.ip(self.cli, "-j", "link", "show", self.cif).stdout)[0]["address"]

    def _ns(self, prefix):
        name = unique(prefix)
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        return name

    def ip(self, ns, *args, check=True):
        return run("ip", "-n", ns, *args, check=check)

    def add_host(self, addr):
        """Another host on the client's link (needs bridge=True): its own namespace and address."""
        ns = self._ns("dh")
        a, b = unique("vh"), unique("vp")
        run("ip", "link", "add", a, "netns", ns, "type", "veth", "peer", "name", b, "netns", self.srv)
        self.ip(self.srv, "link", "set", b, "master", self.bridge)
        self.ip(self.srv, "link", "set", b, "up")
        self.ip(ns, "addr", "add", f"{addr}/24", "dev", a)
        self.ip(ns, "link", "set", a, "up")
        return ns, a

    def add_link(self):
        """A second veth pair between the client and server namespaces.  Returns (client end, server end)."""
        c, sv = unique("vc"), unique("vs")
        run("ip", "link", "add", c, "netns", self.cli, "type", "veth", "peer", "name", sv, "netns", self.srv)
        self.ip(self.srv, "link", "set", sv, "up")
        return c, sv

    def server_ip(self, addr="1"):
        """Give the server side (bridge or veth) an address in the subnet."""
        dev = self.bridge or self.sif
        self.ip(self.srv, "addr", "add", f"{self.subnet}.{addr}/24", "dev", dev)
        return dev

    def spawn(self, ns, cmd, log):
        f = open(log, "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdout=f, stderr=subprocess.STDOUT, text=True)
        f.close()
        self.procs.append(p)
        return p

    def dnsmasq(self, name="dnsmasq", dev=None, ns=None, rng=("100", "150"), lease="2m", extra=(), subnet=None,
                dns=False):
        """Start dnsmasq (DHCP only, or DHCP and DNS on port 53 with dns=True) on the server side.
        Returns (proc, log path, lease file path)."""
        ns = ns or self.srv
        dev = dev or self.bridge or self.sif
        log = os.path.join(self.tmp, f"{name}.log")
        leases = os.path.join(self.tmp, f"{name}.leases")
        cmd = ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=53" if dns else "--port=0", "--log-dhcp",
               "--log-facility=-", f"--interface={dev}", "--bind-interfaces", "--no-ping",
               f"--dhcp-leasefile={leases}", f"--pid-file={os.path.join(self.tmp, name + '.pid')}",
               f"--dhcp-range={subnet or self.subnet}.{rng[0]},{subnet or self.subnet}.{rng[1]},{lease}", *extra]
        p = self.spawn(ns, cmd, log)
        wait_for(lambda: "DHCP, IP range" in open(log).read() or p.poll() is not None, 10, "dnsmasq to start")
        assert p.poll() is None, open(log).read()
        return p, log, leases

    def udhcpd(self, lease_s, name="udhcpd", router="1"):
        conf = os.path.join(self.tmp, f"{name}.conf")
        leases = os.path.join(self.tmp, f"{name}.leases")
        open(leases, "w").close()
        with open(conf, "w") as f:
            f.write(f"start {self.subnet}.100\nend {self.subnet}.150\ninterface {self.bridge or self.sif}\n"
                    f"lease_file {leases}\npidfile {os.path.join(self.tmp, name + '.pid')}\n"
                    f"max_leases 51\noption subnet 255.255.255.0\noption router {self.subnet}.{router}\n"
                    f"option lease {lease_s}\n")
        log = os.path.join(self.tmp, f"{name}.log")
        p = self.spawn(self.srv, ["udhcpd", "-f", "-a", "100", conf], log)
        wait_for(lambda: "started" in open(log).read() or p.poll() is not None, 10, "udhcpd to start")
        time.sleep(0.2)
        assert p.poll() is None, open(log).read()
        return p, log

    def tcpdump(self, name="capture"):
        """Capture DHCP traffic on the server side, one line per packet with addresses and ports."""
        log = os.path.join(self.tmp, f"{name}.txt")
        p = self.spawn(self.srv, ["tcpdump", "-l", "-n", "-i", self.bridge or self.sif, "udp port 67 or udp port 68"],
                       log)
        wait_for(lambda: "listening on" in open(log).read() or p.poll() is not None, 10, "tcpdump to start")
        return p, log

    def client(self, *args, name="dhcpc", foreground=True):
        """Start dhcpc in the client namespace (in the foreground unless told otherwise)."""
        self.lease_dir = os.path.join(self.tmp, "run")
        self.resolv = os.path.join(self.tmp, "resolv.conf")
        log = os.path.join(self.tmp, f"{name}.log")
        cmd = [DHCPC] + (["-f"] if foreground else []) + ["-v", "--lease-dir", self.lease_dir,
                                                          "--resolv-conf", self.resolv, *args, self.cif]
        return self.spawn(self.cli, cmd, log), log

    def lease(self):
        path = os.path.join(self.lease_dir, f"{self.cif}.lease")
        try:
            text = open(path).read()
        except FileNotFoundError:
            return {}
        out = {}
        for line in text.splitlines():   # a repeated key (dns) keeps its first value
            k, _, v = line.partition("=")
            out.setdefault(k, v)
        return out

    def wait_state(self, state, timeout=20):
        return wait_for(lambda: self.lease() if self.lease().get("state") == state else None, timeout,
                        f"lease state {state}")

    def addresses(self):
        data = json.loads(self.ip(self.cli, "-j", "-4", "addr", "show", "dev", self.cif).stdout)
        return [f"{a['local']}/{a['prefixlen']}" for d in data for a in d.get("addr_info", [])]

    def routes(self):
        return json.loads(self.ip(self.cli, "-j", "-4", "route", "show").stdout)

    def mtu(self):
        return json.loads(self.ip(self.cli, "-j", "link", "show", self.cif).stdout)[0]["mtu"]

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in self.namespaces:
            # a daemonised dhcpc is not our child: end what still runs in the namespace, by pid
            pids = run("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            run("ip", "netns", "del", ns, check=False)
        subprocess.run(["rm", "-rf", self.tmp])
