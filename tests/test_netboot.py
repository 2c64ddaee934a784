"""fetch= in stage 1 against real servers: the live system boots in UML on a tap device in a namespace the
test makes, where dnsmasq answers DHCP and DNS (for the test domain live.test) and busybox httpd serves the
squashfs (busybox httpd: it honours Range, which the resume test needs; python3 -m http.server does not).

Needs root (namespaces) and user-mode-linux.  Every namespace, process and guest is removed on failure too.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from dhcpnet import ROOT, Lab, wait_for

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
              pytest.mark.skipif(not os.path.exists("/usr/bin/linux.uml"), reason="user-mode-linux not installed")]

BUILD = os.path.join(ROOT, "build")
INITRD = os.path.join(BUILD, "initrd.img")
SQUASHFS = os.path.join(BUILD, "root.squashfs")
ISO = os.path.join(BUILD, "live.iso")
MEM = "384M"   # the fetched squashfs lives in a tmpfs: 45 MB, plus what fetch keeps free


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class NetbootLab:
    """A tap in the server namespace of a dhcpnet.Lab, dnsmasq (DHCP + DNS for live.test, boot.live.test
    -> the server) and busybox httpd serving a directory with the images."""

    def __init__(self, lab, subnet, clients=1):
        """clients > 1: that many taps on a bridge that holds the server's address."""
        self.n = lab(subnet=subnet, bridge=clients > 1)
        self.subnet = subnet
        self.server = f"{subnet}.1"
        n = self.n
        self.taps = [f"{n.sif}t{i}" if clients > 1 else n.sif + "t" for i in range(clients)]
        for tap in self.taps:
            n.ip(n.srv, "tuntap", "add", "dev", tap, "mode", "tap")
            if clients > 1:
                n.ip(n.srv, "link", "set", tap, "master", n.bridge)
            else:
                n.ip(n.srv, "addr", "add", f"{self.server}/24", "dev", tap)
            n.ip(n.srv, "link", "set", tap, "up")
        self.tap = self.taps[0]
        if clients > 1:
            n.ip(n.srv, "addr", "add", f"{self.server}/24", "dev", n.bridge)
        self.dev = n.bridge if clients > 1 else self.tap
        _, self.dnslog, self.leases = n.dnsmasq(dev=self.dev, dns=True, extra=[
            "--no-resolv", "--no-hosts", "--domain=live.test", "--local=/live.test/",
            f"--host-record=boot.live.test,{self.server}", f"--dhcp-option=6,{self.server}", "--log-queries"])
        self.www = os.path.join(n.tmp, "www")
        os.makedirs(os.path.join(self.www, "live"))
        os.link(SQUASHFS, os.path.join(self.www, "live", "filesystem.squashfs")) if _same_fs(SQUASHFS, self.www) \
            else shutil.copy(SQUASHFS, os.path.join(self.www, "live", "filesystem.squashfs"))
        self.http = None
        self.httplog = os.path.join(n.tmp, "httpd.log")
        self.start_http()

    def start_http(self):
        """busybox httpd in the foreground, in its own process group: it forks a child per connection, and
        stopping the server must stop the transfer in flight too."""
        log = open(self.httplog, "a")
        self.http = subprocess.Popen(["ip", "netns", "exec", self.n.srv, "busybox", "httpd", "-f", "-vv",
                                      "-p", f"{self.server}:8000", "-h", self.www],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        probe = f"import socket; socket.create_connection(('{self.server}', 8000), 1).close()"
        wait_for(lambda: subprocess.run(["ip", "netns", "exec", self.n.srv, "python3", "-c", probe],
                                        capture_output=True).returncode == 0, 10, "httpd to listen", step=0.2)

    def stop_http(self):
        if self.http and self.http.poll() is None:
            os.killpg(self.http.pid, signal.SIGKILL)
            self.http.wait()

    def limit_rate(self, rate):
        """Slow the server's sending side so a transfer takes seconds (the test can then cut it)."""
        self.n.ip(self.n.srv, "link", "set", self.tap, "up")
        subprocess.run(["ip", "netns", "exec", self.n.srv, "tc", "qdisc", "add", "dev", self.tap, "root", "tbf",
                        "rate", rate, "burst", "32kb", "latency", "400ms"], check=True)

    def log(self, path):
        with open(path, errors="replace") as f:
            return f.read()

    def close(self):
        self.stop_http()


def _same_fs(a, b):
    return os.stat(a).st_dev == os.stat(b).st_dev


@pytest.fixture
def netlab():
    made, labs = [], []

    def lab(**kw):
        x = Lab(**kw)
        labs.append(x)
        return x

    def make(subnet, clients=1):
        nb = NetbootLab(lab, subnet, clients)
        made.append(nb)
        return nb

    try:
        yield make
    finally:
        for nb in made:
            nb.close()
        for x in labs:
            x.close()


def boot(guests, nb, *params, tap=None):
    for f in (INITRD, SQUASHFS):
        assert os.path.exists(f), f"{f} missing: run make all"
    return guests([f"initrd={INITRD}", "uml", *params, f"vec0:transport=tap,ifname={tap or nb.tap},gro=1"],
                  mem=MEM, timeout=300, prefix=["ip", "netns", "exec", nb.n.srv])


def test_fetch_by_name_boots_and_stage2_continues_the_lease(netlab, guests):
    """fetch= by a short name (resolved through the lease's search domain), checksum from URL.sha256, ready,
    then stage 2's dhcpc takes the lease over: same address, no second DISCOVER at the server, poweroff."""
    import uml
    nb = netlab("10.81.0")
    with open(os.path.join(nb.www, "live", "filesystem.squashfs.sha256"), "w") as f:
        f.write(f"{sha256(SQUASHFS)}  filesystem.squashfs\n")
    url = "http://boot:8000/live/filesystem.squashfs"
    g = boot(guests, nb, f"fetch={url}", *os.environ.get("NETBOOT_EXTRA", "").split())
    m = g.expect(r"dhcpc: vec0: bound (10\.81\.0\.\d+)/24 (via 10\.81\.0\.1 )?lease 120s")
    addr = m.group(1)
    g.expect(r"Fetched " + re.escape(url) + r": (\d+) bytes in ([\d.]+) s \(([\d.]+) MB/s\)")
    assert int(g.child.match.group(1)) == os.path.getsize(SQUASHFS)
    g.expect(r"Checking " + re.escape(url) + r"\.\.\. ok")
    g.expect(uml.READY)
    # stage 2's dhcpc prints its line in the background: before or after the ready line
    resumed = rf"dhcpc: vec0: resumed {re.escape(addr)}/24 lease \d+s left"
    for _ in range(30):
        if re.search(resumed, g.output):
            break
        g.shell("sleep 1")
    assert re.search(resumed, g.output), g.output[-3000:]
    assert f"inet {addr}/24" in g.shell("ip -4 addr show dev vec0")
    lease = g.shell("cat /run/dhcpc/vec0.lease")
    assert "state=bound" in lease and f"address={addr}" in lease
    assert f"nameserver {nb.server}" in g.shell("cat /etc/resolv.conf")
    assert g.shell("test -e /run/dhcpc/vec0.pid && echo running") .strip() == "running"
    assert g.poweroff() == 0
    out = g.output.replace("\r", "")
    assert f"dhcpc: vec0: released {addr}" in out
    assert "unable to unmount" not in out, out[-3000:]   # the image's tmpfs is sealed read-only
    dns = nb.log(nb.dnslog)
    # stage 1 may retransmit its DISCOVER before the first answer; after its ACK, nobody starts over
    first_ack = dns.find(f"DHCPACK({nb.dev}) {addr}")
    assert first_ack > 0 and "DHCPDISCOVER" not in dns[first_ack:], dns
    assert "query[A] boot.live.test" in dns
    http = nb.log(nb.httplog)
    assert http.count("url:/live/filesystem.squashfs\n") == 1 and "response:200" in http, http


def test_fetch_with_static_ip(netlab, guests):
    """ip= in the kernel's static form, the device named, DNS from ip= (no search domain: a full name): stage 1
    waits for that interface, sets the address itself (no DHCP at all), fetches; stage 2 keeps the address."""
    import uml
    nb = netlab("10.88.0")
    url = "http://boot.live.test:8000/live/filesystem.squashfs"
    g = boot(guests, nb, f"fetch={url}", f"fetch-sha256={sha256(SQUASHFS)}",
             "ip=10.88.0.50::10.88.0.1:255.255.255.0::vec0:off:10.88.0.1")
    g.expect(r"Network: vec0 static 10\.88\.0\.50")
    g.expect(r"Checking " + re.escape(url) + r"\.\.\. ok")
    g.expect(uml.READY)
    assert "inet 10.88.0.50/24" in g.shell("ip -4 addr show dev vec0")
    assert g.poweroff() == 0
    dns = nb.log(nb.dnslog)
    assert "query[A] boot.live.test" in dns and "DHCPDISCOVER" not in dns, dns


def test_fetch_iso_uses_its_squashfs(netlab, guests):
    """An .iso URL: the ISO is fetched and its /live/*.squashfs mounted; fetch-sha256= given, no .sha256 file."""
    import uml
    nb = netlab("10.82.0")
    shutil.copy(ISO, os.path.join(nb.www, "live.iso"))
    g = boot(guests, nb, f"fetch=http://boot.live.test:8000/live.iso", f"fetch-sha256={sha256(ISO)}")
    g.expect(r"Checking http://boot\.live\.test:8000/live\.iso\.\.\. ok")
    g.expect(r"Mounted /live/\S+\.squashfs from /dev/loop\d+ \(fetched\) read-only")  # every layer of the ISO
    g.expect(uml.READY)
    g.shell("true")   # the shell reads the console now: poweroff typed earlier could be flushed
    assert g.poweroff() == 0


def test_fetch_wrong_checksum_is_refused(netlab, guests):
    nb = netlab("10.83.0")
    bad = "0" * 64
    url = f"http://{nb.server}:8000/live/filesystem.squashfs"
    g = boot(guests, nb, f"fetch={url}", f"fetch-sha256={bad}")
    g.expect(r"Checking " + re.escape(url) + r"\.\.\. FAILED")
    g.expect(r"liveinit: medium check: /run/live/fetch/filesystem\.squashfs is corrupt: SHA-256 [0-9a-f]{64}, "
             r"expected " + bad)
    g.expect(r"starting a rescue shell")
    assert "ready" not in g.output


def test_fetch_404_one_line_retries_then_rescue(netlab, guests):
    """No checksum file (one warning would follow), the image itself missing: one line per attempt naming
    the URL and the step, backoff, then the rescue shell."""
    nb = netlab("10.84.0")
    url = "http://boot:8000/live/missing.squashfs"
    g = boot(guests, nb, f"fetch={url}")
    g.expect(r"liveinit: fetch: " + re.escape(url) + r": GET: HTTP 404 Not Found; retrying in 1 s")
    g.expect(r"liveinit: fetch: " + re.escape(url) + r": GET: HTTP 404 Not Found \(giving up\)", timeout=60)
    g.expect(r"starting a rescue shell")
    out = g.output.replace("\r", "")
    assert "no checksum" not in out   # it never got that far


def test_fetch_unverified_warns_and_fetch_verify_refuses(netlab, guests):
    import uml
    nb = netlab("10.85.0")
    url = "http://boot:8000/live/filesystem.squashfs"
    g = boot(guests, nb, f"fetch={url}")
    g.expect(r"liveinit: warning: fetch: " + re.escape(url) + r": no checksum")
    g.expect(uml.READY)
    g.shell("true")   # the shell reads the console now: poweroff typed earlier could be flushed
    assert g.poweroff() == 0
    g2 = boot(guests, nb, f"fetch={url}", "fetch-verify")
    g2.expect(r"liveinit: fetch: " + re.escape(url) + r": no checksum .* and fetch-verify is given")
    g2.expect(r"starting a rescue shell")


def test_fetch_resumes_after_server_stopped_mid_transfer(netlab, guests):
    """The server dies mid-transfer (the connection with it) and comes back: the client says so in one line,
    waits, and resumes with Range where it stopped; the checksum then matches."""
    import uml
    nb = netlab("10.86.0")
    nb.limit_rate("40mbit")   # ~5 MB/s: the 45 MB image takes ~9 s
    url = "http://boot:8000/live/filesystem.squashfs"
    g = boot(guests, nb, f"fetch={url}", f"fetch-sha256={sha256(SQUASHFS)}")
    g.expect(r"Fetching " + re.escape(url) + r": ([1-9]\d*)/\d+ MiB")
    nb.stop_http()
    g.expect(r"liveinit: fetch: " + re.escape(url) + r": GET: short read(?: at|: connection closed at) (\d+) of "
             + str(os.path.getsize(SQUASHFS)) + r" bytes.*; retrying in (\d) s", timeout=60)
    cut = int(g.child.match.group(1))
    assert 0 < cut < os.path.getsize(SQUASHFS)
    nb.start_http()
    g.expect(r"Checking " + re.escape(url) + r"\.\.\. ok", timeout=120)
    g.expect(uml.READY)
    g.shell("true")   # the shell reads the console now: poweroff typed earlier could be flushed
    assert g.poweroff() == 0
    http = nb.log(nb.httplog)
    assert "response:206" in http, http


def test_four_clients_at_once(netlab, guests):
    """Four UML clients on one bridge boot from one server at the same time: each gets its own address, each
    reaches ready, and the server's log shows one fetch of the image per client."""
    import uml
    nb = netlab("10.87.0", clients=4)
    with open(os.path.join(nb.www, "live", "filesystem.squashfs.sha256"), "w") as f:
        f.write(f"{sha256(SQUASHFS)}  filesystem.squashfs\n")
    url = "http://boot:8000/live/filesystem.squashfs"
    gs = [boot(guests, nb, f"fetch={url}", tap=tap) for tap in nb.taps]
    addrs = set()
    for g in gs:
        addrs.add(g.expect(r"dhcpc: vec0: bound (10\.87\.0\.\d+)/24").group(1))
    for g in gs:
        g.expect(r"Checking " + re.escape(url) + r"\.\.\. ok")
        g.expect(uml.READY)
    assert len(addrs) == 4
    for g in gs:
        g.shell("true")
        assert g.poweroff() == 0
    http = nb.log(nb.httplog)
    getters = re.findall(r"^(10\.87\.0\.\d+):\d+: url:/live/filesystem\.squashfs$", http, re.M)
    assert sorted(getters) == sorted(addrs), http
