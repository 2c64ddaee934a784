"""dhcpc against real DHCP servers (dnsmasq, busybox udhcpd) in network namespaces made by each test.

Needs root (namespaces).  Every namespace, device and process is removed by the fixture, also on failure.
"""
import os
import re
import signal
import subprocess
import time

import pytest

from dhcpnet import DHCPC, ROOT, Lab, run, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")


@pytest.fixture
def lab():
    made = []

    def make(**kw):
        lab = Lab(**kw)
        made.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in made:
            lab.close()


def text(path):
    with open(path) as f:
        return f.read()


def test_lease_obtained_configures_address_route_mtu_resolv(lab):
    n = lab()
    n.server_ip()
    _, slog, _ = n.dnsmasq(extra=["--dhcp-option=26,1400", "--dhcp-option=6,10.66.0.53,10.66.0.54",
                                  "--domain=corp.test", "--dhcp-option=option:domain-search,a.test,b.test"])
    p, log = n.client()
    lease = n.wait_state("bound")
    addr = lease["address"]
    assert re.fullmatch(r"10\.66\.0\.(1[0-4][0-9]|150)", addr), lease
    assert n.addresses() == [f"{addr}/24"]
    default = [r for r in n.routes() if r["dst"] == "default"]
    assert len(default) == 1 and default[0]["gateway"] == "10.66.0.1" and default[0]["dev"] == n.cif
    assert n.mtu() == 1400
    resolv = text(n.resolv)
    assert "nameserver 10.66.0.53\nnameserver 10.66.0.54\n" in resolv
    assert "search a.test b.test\n" in resolv
    assert lease["server"] == "10.66.0.1" and lease["lease_seconds"] == "120" and lease["mtu"] == "1400"
    assert int(lease["expires"]) - int(lease["obtained"]) == 120
    wait_for(lambda: re.search(rf"dhcpc: {n.cif}: bound {re.escape(addr)}/24 via 10\.66\.0\.1 lease 120s\n",
                               text(log)), 5, "the bound line")
    assert f"DHCPACK({n.sif}) {addr} {n.mac}" in text(slog)
    # the pid file names the running client (stage 2 signals it at shutdown)
    assert int(text(os.path.join(n.lease_dir, f"{n.cif}.pid"))) > 0
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0


def test_sigterm_releases_and_removes_address(lab):
    n = lab()
    n.server_ip()
    _, slog, leases = n.dnsmasq()
    p, log = n.client()
    addr = n.wait_state("bound")["address"]
    wait_for(lambda: n.mac in text(leases), 5, "dnsmasq to record the lease")
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0
    assert n.addresses() == []
    assert not [r for r in n.routes() if r["dst"] == "default"]
    assert n.lease()["state"] == "released"
    assert not os.path.exists(os.path.join(n.lease_dir, f"{n.cif}.pid"))
    wait_for(lambda: f"DHCPRELEASE({n.sif}) {addr} {n.mac}" in text(slog), 5, "DHCPRELEASE in the server log")
    wait_for(lambda: n.mac not in text(leases), 5, "the server to drop the lease")
    assert f"released {addr}" in text(log)


def test_daemon_mode_and_release_command(lab):
    """Default mode: returns at once with the pid file written; --release signals it and waits."""
    n = lab()
    n.server_ip()
    _, slog, leases = n.dnsmasq()
    p, log = n.client(foreground=False)
    assert p.wait(5) == 0
    pidfile = os.path.join(n.lease_dir, f"{n.cif}.pid")
    pid = int(text(pidfile))
    assert pid != p.pid and os.path.exists(f"/proc/{pid}")
    n.wait_state("bound")
    # a second client on the same interface refuses to start
    r = run("ip", "netns", "exec", n.cli, DHCPC, "--lease-dir", n.lease_dir, n.cif, check=False)
    assert r.returncode == 1 and "already running" in r.stderr
    r = run("ip", "netns", "exec", n.cli, DHCPC, "--release", "--lease-dir", n.lease_dir, n.cif, check=False)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(pidfile)
    assert n.addresses() == []
    wait_for(lambda: "DHCPRELEASE" in text(slog), 5, "DHCPRELEASE in the server log")
    r = run("ip", "netns", "exec", n.cli, DHCPC, "--release", "--lease-dir", n.lease_dir, n.cif, check=False)
    assert r.returncode == 1 and "no client running" in r.stderr


def test_renew_at_t1_is_unicast_and_extends_lease(lab):
    n = lab(subnet="10.67.0")
    n.server_ip()
    _, cap = n.tcpdump()
    n.udhcpd(lease_s=10)
    p, log = n.client()
    first = n.wait_state("bound")
    assert first["lease_seconds"] == "10"
    wait_for(lambda: "renewed" in text(log), 15, "the renewal at T1")
    addr = first["address"]
    renewed = n.wait_state("bound")
    assert int(renewed["obtained"]) > int(first["obtained"])
    assert int(renewed["expires"]) > int(first["expires"])
    assert "renewing" in text(log) and "rebinding" not in text(log)
    # the server saw a REQUEST sent from our address straight to it (not a broadcast)
    wait_for(lambda: re.search(rf"IP {re.escape(addr)}\.68 > 10\.67\.0\.1\.67: .*BOOTP/DHCP, Request", text(cap)),
             5, "a unicast REQUEST in the capture")
    assert n.addresses() == [f"{addr}/24"]


def test_renewal_ack_replaces_lease_time_dns_and_router(lab):
    """A renewal's ACK is the lease from then on: the server changed the lease time, the DNS server and the
    router between the two ACKs (dnsmasq re-reads its hosts and options files on SIGHUP), and the lease file,
    the timers, resolv.conf and the default route all follow the second ACK."""
    n = lab(subnet="10.79.0")
    n.server_ip()
    hosts = os.path.join(n.tmp, "hosts")
    opts = os.path.join(n.tmp, "opts")

    def server_config(lease, dns, router):
        with open(hosts, "w") as f:
            f.write(f"{n.mac},10.79.0.120,{lease}\n")
        with open(opts, "w") as f:
            f.write(f"option:dns-server,{dns}\noption:router,{router}\n")

    server_config("3m", "10.79.0.53", "10.79.0.1")
    server, slog, _ = n.dnsmasq(extra=[f"--dhcp-hostsfile={hosts}", f"--dhcp-optsfile={opts}"])
    p, log = n.client()
    first = n.wait_state("bound")
    assert first["address"] == "10.79.0.120" and first["lease_seconds"] == "180", first
    assert first["dns"] == "10.79.0.53" and first["router"] == "10.79.0.1", first
    assert "nameserver 10.79.0.53\n" in text(n.resolv)

    server_config("5m", "10.79.0.99", "10.79.0.2")
    server.send_signal(signal.SIGHUP)
    wait_for(lambda: text(slog).count(f"read {opts}") >= 2, 10, "dnsmasq to re-read its options")
    p.send_signal(signal.SIGUSR1)   # renew now instead of at T1 (90 s)
    wait_for(lambda: "renewed" in text(log), 15, "the renewal")
    lease = wait_for(lambda: n.lease() if n.lease().get("lease_seconds") != "180" else None, 5,
                     "the lease file to change")
    assert lease["state"] == "bound" and lease["address"] == "10.79.0.120", lease
    assert lease["lease_seconds"] == "300", lease
    obtained = int(lease["obtained"])
    assert int(lease["expires"]) - obtained == 300
    # dnsmasq sends T1/T2 for the new lease, T1 less a random fuzz: both beyond what a 180 s lease allows
    t1, t2 = int(lease["renew"]) - obtained, int(lease["rebind"]) - obtained
    assert 90 < t1 <= 150 and 157 < t2 <= 262 and t1 < t2, lease
    assert lease["dns"] == "10.79.0.99" and lease["router"] == "10.79.0.2", lease
    resolv = text(n.resolv)
    assert "nameserver 10.79.0.99\n" in resolv and "10.79.0.53" not in resolv, resolv
    default = [r for r in n.routes() if r["dst"] == "default"]
    assert [r["gateway"] for r in default] == ["10.79.0.2"], default
    assert re.search(r"renewed 10\.79\.0\.120/24 via 10\.79\.0\.2 lease 300s\n", text(log)), text(log)
    assert n.addresses() == ["10.79.0.120/24"]
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0


def test_resolv_conf_symlink_writes_its_target(lab):
    """systemd-resolved's /etc/resolv.conf is a relative symlink into /run: the target is written, the link
    stays a link."""
    n = lab(subnet="10.80.0")
    n.server_ip()
    n.dnsmasq(extra=["--dhcp-option=6,10.80.0.53"])
    etc = os.path.join(n.tmp, "etc")
    stub = os.path.join(n.tmp, "run", "systemd", "resolve", "stub-resolv.conf")
    os.makedirs(etc)
    os.makedirs(os.path.dirname(stub))
    link = os.path.join(etc, "resolv.conf")
    os.symlink("../run/systemd/resolve/stub-resolv.conf", link)
    p, log = n.client("--resolv-conf", link)   # the last --resolv-conf wins
    n.wait_state("bound")
    wait_for(lambda: os.path.exists(stub), 5, "the link's target to be written")
    assert os.path.islink(link) and os.readlink(link) == "../run/systemd/resolve/stub-resolv.conf"
    assert "nameserver 10.80.0.53\n" in text(stub)
    assert not os.path.exists(n.resolv)
    assert "unable to" not in text(log), text(log)
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0


def test_resolv_conf_mount_point_is_written_in_place(lab):
    """`ip netns exec` (and containers) bind-mount a file over /etc/resolv.conf; rename() onto a mount point
    gives EBUSY, so dhcpc writes it in place.  The same bind mount, made on a file of the test's own in a
    private mount namespace (never the host's /etc/resolv.conf)."""
    n = lab(subnet="10.81.0")
    n.server_ip()
    n.dnsmasq(extra=["--dhcp-option=6,10.81.0.53"])
    target = os.path.join(n.tmp, "resolv.conf")
    source = os.path.join(n.tmp, "netns-resolv.conf")
    with open(target, "w") as f:
        f.write("under the mount\n")
    with open(source, "w") as f:
        f.write("nameserver 192.0.2.1\n")
    n.lease_dir = os.path.join(n.tmp, "run")
    log = os.path.join(n.tmp, "dhcpc.log")
    script = 'mount --bind "$1" "$2" && exec "$3" -f -v --lease-dir "$4" --resolv-conf "$2" "$5"'
    p = n.spawn(n.cli, ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", source, target,
                        DHCPC, n.lease_dir, n.cif], log)
    n.wait_state("bound")
    wait_for(lambda: "10.81.0.53" in text(source), 5, "resolv.conf written through the mount")
    assert text(source).startswith("# written by dhcpc") and "192.0.2.1" not in text(source), text(source)
    assert text(target) == "under the mount\n"   # outside the namespace nothing was mounted or replaced
    assert not os.path.exists(source + ".new") and not os.path.exists(target + ".new")
    assert "unable to" not in text(log), text(log)
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0


def test_server_gone_rebind_then_expiry_drops_address(lab):
    n = lab(subnet="10.68.0")
    n.server_ip()
    _, cap = n.tcpdump()
    server, _ = n.udhcpd(lease_s=10)
    p, log = n.client()
    addr = n.wait_state("bound")["address"]
    server.terminate()
    server.wait(5)
    wait_for(lambda: "rebinding" in text(log), 15, "REBINDING at T2")
    wait_for(lambda: "expired" in text(log), 10, "the lease to expire")
    wait_for(lambda: n.addresses() == [], 3, "the address to be removed")
    assert n.lease()["state"] in ("expired",)
    out = text(log)
    assert out.index("renewing") < out.index("rebinding") < out.index("expired")
    # REBINDING broadcasts from our address
    assert re.search(rf"IP {re.escape(addr)}\.68 > 255\.255\.255\.255\.67: .*Request", text(cap)), text(cap)
    # and the client goes back to looking for a server
    wait_for(lambda: text(log).count("selecting") >= 2, 5, "a new DISCOVER")
    assert p.poll() is None


def test_nak_on_renew_restarts_and_gets_new_address(lab):
    n = lab(subnet="10.69.0")
    n.server_ip()
    first_server, _, _ = n.dnsmasq(name="first", rng=("100", "120"))
    p, log = n.client()
    old = n.wait_state("bound")["address"]
    first_server.terminate()
    first_server.wait(5)
    # the new server knows nothing of that lease and hands out another range, authoritatively
    _, slog, _ = n.dnsmasq(name="second", rng=("200", "220"), extra=["--dhcp-authoritative"])
    p.send_signal(signal.SIGUSR1)   # renew now instead of waiting for T1 (60 s with dnsmasq's 2 m minimum)
    wait_for(lambda: "NAK from 10.69.0.1" in text(log), 10, "the NAK")
    new = wait_for(lambda: n.lease().get("state") == "bound" and n.lease()["address"] != old and n.lease(),
                   15, "a new lease")["address"]
    assert 200 <= int(new.split(".")[3]) <= 220
    assert n.addresses() == [f"{new}/24"]
    assert f"DHCPNAK({n.sif}) {old} {n.mac}" in text(slog)


# One DHCPDISCOVER broadcast on the interface argv[1] for the MAC argv[2], from an ephemeral port (dhcpc
# holds port 68): the servers log it whatever they answer.
DISCOVER_PROBE = r"""
import socket, struct, sys
mac = bytes(int(x, 16) for x in sys.argv[2].split(":"))
pkt = struct.pack("!BBBBIHH4s4s4s4s16s192s4s", 1, 1, 6, 0, 0x5eed, 0, 0x8000, bytes(4), bytes(4), bytes(4),
                  bytes(4), mac + bytes(10), bytes(192), bytes([99, 130, 83, 99])) + bytes([53, 1, 1, 255])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())
s.sendto(pkt, ("255.255.255.255", 67))
"""


def test_two_servers_request_names_one(lab):
    n = lab(subnet="10.70.0", bridge=True)
    nsa, deva = n.add_host("10.70.0.1")
    nsb, devb = n.add_host("10.70.0.2")
    _, loga, leasea = n.dnsmasq(name="a", ns=nsa, dev=deva, rng=("100", "149"))
    _, logb, leaseb = n.dnsmasq(name="b", ns=nsb, dev=devb, rng=("150", "199"))
    p, log = n.client()
    lease = n.wait_state("bound")
    wait_for(lambda: "DHCPOFFER" in text(loga) and "DHCPOFFER" in text(logb), 10, "both servers to offer")
    # "The other server did not ACK" needs proof that it has handled the client's REQUEST, not a pause: each
    # dnsmasq handles packets in arrival order, so once both have logged a DISCOVER sent after the client was
    # bound, the REQUEST before it was handled too.
    probe_mac = "02:00:00:00:be:ef"
    run("ip", "netns", "exec", n.cli, "python3", "-c", DISCOVER_PROBE, n.cif, probe_mac)
    wait_for(lambda: probe_mac in text(loga) and probe_mac in text(logb), 10, "both servers to log the probe")
    acked = [name for name, lg in (("a", loga), ("b", logb)) if "DHCPACK" in text(lg)]
    assert len(acked) == 1, (text(loga), text(logb))
    chosen = {"a": "10.70.0.1", "b": "10.70.0.2"}[acked[0]]
    assert lease["server"] == chosen
    other = logb if acked[0] == "a" else loga
    assert "DHCPACK" not in text(other) and "DHCPNAK" not in text(other)
    assert n.mac in text(leasea if acked[0] == "a" else leaseb)
    assert n.mac not in text(leaseb if acked[0] == "a" else leasea)


def test_one_client_per_interface(lab):
    """Stage 2 runs one client per Ethernet interface: both own UDP port 68 (bound to their device), both
    renew, and each default route has its own metric."""
    n = lab(subnet="10.75.0")
    n.server_ip()
    n.dnsmasq(name="one")
    c2, s2 = n.add_link()
    n.ip(n.srv, "addr", "add", "10.76.0.1/24", "dev", s2)
    n.dnsmasq(name="two", dev=s2, subnet="10.76.0")
    p1, log1 = n.client(name="c1")
    first = n.cif
    n.cif = c2
    p2, log2 = n.client(name="c2")
    addr2 = n.wait_state("bound")["address"]
    n.cif = first
    addr1 = n.wait_state("bound")["address"]
    assert addr1.startswith("10.75.0.") and addr2.startswith("10.76.0.")
    metrics = sorted(r.get("metric") for r in n.routes() if r["dst"] == "default")
    assert len(metrics) == 2 and metrics[0] != metrics[1]
    for p, log in ((p1, log1), (p2, log2)):
        p.send_signal(signal.SIGUSR1)
    for log in (log1, log2):
        wait_for(lambda: "renewed" in text(log), 10, "both clients to renew over UDP")
    for p in (p1, p2):
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
    n.cif = c2
    assert n.addresses() == []
    n.cif = first
    assert n.addresses() == []


def test_decline_when_address_in_use(lab):
    n = lab(subnet="10.71.0", bridge=True)
    n.server_ip()
    n.add_host("10.71.0.77")            # a host that already uses the address the server will offer
    _, slog, _ = n.dnsmasq(extra=[f"--dhcp-host={n.mac},10.71.0.77"])
    p, log = n.client()
    wait_for(lambda: "10.71.0.77 is in use by" in text(log), 10, "the conflict to be seen")
    lease = n.wait_state("bound", timeout=25)      # RFC 2131: ten seconds before trying again
    assert lease["address"] != "10.71.0.77"
    assert n.addresses() == [f"{lease['address']}/24"]
    assert re.search(rf"DHCPDECLINE\({n.bridge}\) 10\.71\.0\.77 {n.mac}", text(slog))


FAKE_SERVER = r"""
import socket, struct, sys, time
dev, server, offer_ip = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
s.bind(("", 67))
ip = socket.inet_aton
def reply(req, mtype, xid=None, chaddr=None, cookie=b"\x63\x82\x53\x63", opts=None, op=2, trunc=None, fill=None):
    xid = req[4:8] if xid is None else xid
    chaddr = req[28:44] if chaddr is None else chaddr
    hdr = bytes([op, 1, 6, 0]) + xid + bytes(8) + ip(offer_ip) + ip(server) + bytes(4) + chaddr
    sname_file = fill if fill is not None else bytes(192)
    if opts is None:
        opts = (bytes([53, 1, mtype, 54, 4]) + ip(server) + bytes([51, 4, 0, 0, 14, 16, 1, 4, 255, 255, 255, 0,
                3, 4]) + ip(server) + bytes([255]))
    pkt = hdr + sname_file + cookie + opts
    if trunc:
        pkt = pkt[:trunc]
    s.sendto(pkt, ("255.255.255.255", 68))
while True:
    req, _ = s.recvfrom(2048)
    opts = req[240:]
    mtype = opts[opts.index(b"\x35\x01") + 2] if b"\x35\x01" in opts else 0
    if mtype == 1:
        bad_len = bytes([53, 1, 2, 54, 4]) + ip(server) + bytes([1, 200, 1, 2])  # option runs past the end
        loop = bytes([53, 1, 2, 54, 4]) + ip(server) + bytes([52, 1, 3, 255])     # overload into garbage
        for kw in (dict(xid=b"\0\0\0\0"), dict(chaddr=bytes(16)), dict(cookie=b"\0\0\0\0"), dict(op=1),
                   dict(trunc=100), dict(opts=bad_len), dict(opts=loop, fill=bytes([7, 250]) * 96),
                   dict(opts=bytes([54, 4]) + ip(server) + bytes([255]))):
            reply(req, 2, **kw)
        time.sleep(0.2)
        reply(req, 2)
        print("offered", flush=True)
    elif mtype == 3:
        reply(req, 5, cookie=b"\1\2\3\4")
        reply(req, 5)
        print("acked", flush=True)
"""


def test_malformed_replies_are_ignored(lab):
    n = lab(subnet="10.72.0")
    dev = n.server_ip()
    script = os.path.join(n.tmp, "fake_server.py")
    with open(script, "w") as f:
        f.write(FAKE_SERVER)
    slog = os.path.join(n.tmp, "fake.log")
    n.spawn(n.srv, ["python3", script, dev, "10.72.0.1", "10.72.0.123"], slog)
    time.sleep(0.3)
    p, log = n.client()
    lease = n.wait_state("bound", timeout=15)
    assert lease["address"] == "10.72.0.123" and lease["lease_seconds"] == "3600"
    out = text(log)
    for why in ("transaction id is not ours", "client hardware address is not ours", "no DHCP magic cookie",
                "not a BOOTREPLY", "option runs past the end", "no valid message type option"):
        assert why in out, (why, out)
    assert p.poll() is None


def test_static_ip_form(lab):
    n = lab(subnet="10.73.0")
    spec = f"10.73.0.5::10.73.0.1:255.255.255.0:statichost:{n.cif}:off:10.73.0.53"
    resolv = os.path.join(n.tmp, "resolv.conf")
    # a private UTS namespace: the hostname field must not rename this machine
    r = run("unshare", "--uts", "sh", "-c",
            'ip netns exec "$1" "$2" --static "$3" --resolv-conf "$4" --lease-dir "$5" && hostname',
            "sh", n.cli, DHCPC, spec, resolv, os.path.join(n.tmp, "run"), check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("statichost\n")
    assert f"dhcpc: {n.cif}: static 10.73.0.5/24 via 10.73.0.1" in r.stdout
    assert n.addresses() == ["10.73.0.5/24"]
    default = [x for x in n.routes() if x["dst"] == "default"]
    assert default and default[0]["gateway"] == "10.73.0.1"
    assert "nameserver 10.73.0.53\n" in text(resolv)
    # classful default netmask and no gateway; then a bad spec is a usage error naming the field
    r = run("ip", "netns", "exec", n.cli, DHCPC, "--static", f"172.16.9.9:::::{n.cif}:off", "--resolv-conf", resolv, "--lease-dir", os.path.join(n.tmp, "run"),
            check=False)
    assert r.returncode == 0, r.stderr
    assert "172.16.9.9/16" in n.addresses()
    r = run("ip", "netns", "exec", n.cli, DHCPC, "--static", f"10.73.0.300::::::{n.cif}:off", check=False)
    assert r.returncode == 2 and "client-ip" in r.stderr


def test_ip_dhcp_forms_start_clients(lab):
    """ip= forms without a client address ask for DHCP: `dhcpc --static` starts the client in the background,
    on the named device or on every Ethernet interface, and sends the hostname field."""
    n = lab(subnet="10.78.0")
    n.server_ip()
    _, slog, _ = n.dnsmasq()
    n.lease_dir = os.path.join(n.tmp, "run")
    out = os.path.join(n.tmp, "static-dhcp.log")
    for spec in (f":::::{n.cif}:dhcp", "::::fromipparam::any"):
        # the daemon keeps stdout/stderr (the console): a file here, not a pipe nobody would close
        with open(out, "w") as f:
            r = subprocess.run(["ip", "netns", "exec", n.cli, DHCPC, "--static", spec, "--lease-dir", n.lease_dir,
                                "--resolv-conf", os.path.join(n.tmp, "resolv.conf")], stdout=f, stderr=f,
                               timeout=10)
        assert r.returncode == 0, (spec, text(out))
        pidfile = os.path.join(n.lease_dir, f"{n.cif}.pid")
        assert os.path.exists(pidfile), spec          # written before --static returned
        addr = n.wait_state("bound")["address"]
        assert n.addresses() == [f"{addr}/24"]
        r = run("ip", "netns", "exec", n.cli, DHCPC, "--release", "--lease-dir", n.lease_dir, n.cif, check=False)
        assert r.returncode == 0, r.stderr
        assert n.addresses() == [] and not os.path.exists(pidfile)
    assert re.search(r"DHCPACK\(\S+\) [\d.]+ \S+ fromipparam", text(slog)), text(slog)[-2000:]


def test_usage_and_errors(lab):
    r = run(DHCPC, "--help")
    assert r.returncode == 0 and "Exit codes: 0 ok, 1 failure, 2 usage" in r.stdout
    assert run(DHCPC, check=False).returncode == 2
    assert run(DHCPC, "--bogus", "eth0", check=False).returncode == 2
    assert run(DHCPC, "--timeout", "x", "-1", "eth0", check=False).returncode == 2
    n = lab()
    r = run("ip", "netns", "exec", n.cli, DHCPC, "-f", "nosuchif0", check=False)
    assert r.returncode == 1 and "nosuchif0" in r.stderr
    r = run("ip", "netns", "exec", n.cli, DHCPC, "-f", "lo", check=False)
    assert r.returncode == 1 and "not an Ethernet interface" in r.stderr
    # -1 with no server: exit 1 after the timeout
    r = run("ip", "netns", "exec", n.cli, DHCPC, "-1", "--timeout", "2", "--lease-dir", n.tmp, n.cif, check=False)
    assert r.returncode == 1 and "no lease after 2s" in r.stdout


def test_fuzz_packet_parser_bounded():
    """libFuzzer on the packet parser for 20 s, starting from captured packets (make fuzz)."""
    r = subprocess.run(["make", "-C", ROOT, "fuzz", "FUZZ_SECONDS=20"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert re.search(r"Done \d+ runs", r.stderr + r.stdout)


GUEST_INIT = r"""#!/bin/busybox sh
# Test-only initramfs /init: exercises dhcpc inside a real UML guest the way stage 2 uses it.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /run /etc
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /modules/*.ko; do [ -e "$m" ] && insmod "$m"; done
IF=
for i in $(ls /sys/class/net); do [ "$i" = lo ] || { IF=$i; break; }; done
echo "guest: interface $IF"
/sbin/dhcpc "$IF"
echo "guest: start exit $? pidfile $(cat /run/dhcpc/$IF.pid)"
n=0
while ! grep -q state=bound /run/dhcpc/$IF.lease 2>/dev/null && [ $n -lt 150 ]; do sleep 0.2; n=$((n+1)); done
sleep 0.3
sed 's/^/guest: lease /' /run/dhcpc/$IF.lease
sed 's/^/guest: resolv /' /etc/resolv.conf
ip -4 addr show dev "$IF" | sed 's/^/guest: addr /'
ip route | sed 's/^/guest: route /'
/sbin/dhcpc --release "$IF"
echo "guest: release exit $?"
ip -4 addr show dev "$IF" | grep -c inet | sed 's/^/guest: inet lines after release /'
echo "guest: done"
poweroff -f
"""


def make_guest_initramfs(directory, modules=()):
    root = os.path.join(directory, "root")
    for d in ("bin", "sbin", "modules"):
        os.makedirs(os.path.join(root, d))
    for m in modules:
        subprocess.run(["cp", m, os.path.join(root, "modules")], check=True)
    subprocess.run(["cp", "/bin/busybox", os.path.join(root, "bin", "busybox")], check=True)
    subprocess.run(["cp", DHCPC, os.path.join(root, "sbin", "dhcpc")], check=True)
    init = os.path.join(root, "init")
    with open(init, "w") as f:
        f.write(GUEST_INIT)
    os.chmod(init, 0o755)
    image = os.path.join(directory, "initramfs.cpio")
    subprocess.run(f"cd {root} && find . | cpio -o -H newc --quiet > {image}", shell=True, check=True)
    return image


@pytest.mark.skipif(not os.path.exists("/usr/bin/linux.uml"), reason="user-mode-linux not installed")
def test_uml_guest_gets_lease_and_releases(lab):
    """A real UML guest on a tap device in a namespace, dnsmasq on the tap: the guest's vec0 gets a lease,
    and `dhcpc --release` gives it back (the stage 2 start/stop contract, inside the guest)."""
    import uml
    n = lab(subnet="10.74.0")
    tap = n.sif + "t"
    n.ip(n.srv, "tuntap", "add", "dev", tap, "mode", "tap")
    n.ip(n.srv, "addr", "add", "10.74.0.1/24", "dev", tap)
    n.ip(n.srv, "link", "set", tap, "up")
    _, slog, leases = n.dnsmasq(dev=tap, extra=["--dhcp-option=6,10.74.0.53", "--dhcp-option=26,1400"])
    image = make_guest_initramfs(n.tmp)
    g = uml.UML([f"initrd={image}", f"vec0:transport=tap,ifname={tap}"], timeout=90,
                prefix=["ip", "netns", "exec", n.srv])
    try:
        g.start()
        g.expect(r"guest: done", timeout=90)
        out = g.output.replace("\r", "")
    finally:
        g.kill()
    assert "guest: interface vec0" in out
    assert re.search(r"guest: start exit 0 pidfile \d+", out), out[-3000:]
    m = re.search(r"guest: lease address=(10\.74\.0\.\d+)", out)
    assert m, out[-3000:]
    addr = m.group(1)
    assert "guest: lease state=bound" in out and "guest: lease mtu=1400" in out
    assert "guest: resolv nameserver 10.74.0.53" in out
    assert re.search(rf"guest: addr\s+inet {re.escape(addr)}/24", out), out[-3000:]
    assert "guest: route default via 10.74.0.1 dev vec0" in out
    assert re.search(rf"dhcpc: vec0: bound {re.escape(addr)}/24 via 10\.74\.0\.1 lease 120s", out)
    assert "guest: release exit 0" in out and "guest: inet lines after release 0" in out
    assert f"DHCPACK({tap}) {addr}" in text(slog)
    wait_for(lambda: "DHCPRELEASE" in text(slog), 5, "the guest's DHCPRELEASE at the server")


PC_KERNEL_PKG = "linux-image-6.1.0-50-amd64-unsigned"


def pc_kernel():
    """Debian's amd64 kernel and its e1000 module, downloaded once with apt-get and cached under build/
    (keyed on the package name).  Returns (vmlinuz, e1000.ko)."""
    cache = os.path.join(ROOT, "build", "pc-kernel", PC_KERNEL_PKG)
    stamp = os.path.join(cache, ".done")
    if not os.path.exists(stamp):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(["apt-get", "download", PC_KERNEL_PKG], cwd=cache, check=True, capture_output=True)
        deb = [f for f in os.listdir(cache) if f.endswith(".deb")][0]
        subprocess.run(["dpkg-deb", "-x", deb, "x"], cwd=cache, check=True)
        open(stamp, "w").close()
    x = os.path.join(cache, "x")
    vmlinuz = [os.path.join(x, "boot", f) for f in os.listdir(os.path.join(x, "boot")) if f.startswith("vmlinuz")][0]
    e1000 = subprocess.run(["find", x, "-name", "e1000.ko"], capture_output=True, text=True).stdout.split()[0]
    return vmlinuz, e1000


@pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-x86_64"), reason="qemu-system-x86 not installed")
def test_qemu_guest_gets_slirp_lease(tmp_path):
    """qemu (TCG) with a Debian kernel and an e1000 NIC on qemu's user-mode network: its built-in DHCP server
    gives eth0 10.0.2.15, router 10.0.2.2, DNS 10.0.2.3.  (Not restrict=on: then slirp leaves out the router
    and DNS options.  The guest sends nothing but DHCP, which slirp answers itself.)"""
    vmlinuz, e1000 = pc_kernel()
    image = make_guest_initramfs(str(tmp_path), modules=[e1000])
    log = tmp_path / "console.log"
    with open(log, "w") as f:
        p = subprocess.Popen(["qemu-system-x86_64", "-m", "256", "-nographic", "-no-reboot", "-kernel", vmlinuz,
                              "-initrd", image, "-append", "console=ttyS0 panic=-1 quiet",
                              "-nic", "user,model=e1000", "-monitor", "none"],
                             stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: "guest: done" in log.read_text(errors="replace") or p.poll() is not None, 180,
                     "the qemu guest to finish", step=0.5)
        finally:
            if p.poll() is None:
                try:
                    p.wait(20)          # the guest powers off by itself
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    out = log.read_text(errors="replace").replace("\r", "")
    assert "guest: interface eth0" in out, out[-3000:]
    assert re.search(r"guest: start exit 0 pidfile \d+", out), out[-3000:]
    assert "guest: lease address=10.0.2.15" in out and "guest: lease server=10.0.2.2" in out, out[-3000:]
    assert "guest: resolv nameserver 10.0.2.3" in out
    assert re.search(r"guest: addr\s+inet 10\.0\.2\.15/24", out)
    assert "guest: route default via 10.0.2.2 dev eth0" in out
    assert re.search(r"dhcpc: eth0: bound 10\.0\.2\.15/24 via 10\.0\.2\.2 lease \d+s", out)
    assert "guest: release exit 0" in out and "guest: inet lines after release 0" in out


LIVE_IMAGES = [os.path.join(ROOT, "build", f) for f in ("initrd.img", "live.iso", "rootfs/sbin/dhcpc")]


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "init", "stage2")),
                    reason="stage 2 (init/stage2) is not in this tree yet")
@pytest.mark.skipif(not os.path.exists("/usr/bin/linux.uml"), reason="user-mode-linux not installed")
def test_live_system_in_uml_gets_lease_and_releases_at_poweroff(lab, guests):
    """The real thing: the live system boots in UML on a tap device with dnsmasq behind it; stage 2 starts
    dhcpc on vec0 without waiting for it, the lease arrives in the background, and poweroff releases it
    before the interface goes down."""
    import uml
    for f in LIVE_IMAGES:
        assert os.path.exists(f), f"{f} missing: run make all"
    n = lab(subnet="10.77.0")
    tap = n.sif + "t"
    n.ip(n.srv, "tuntap", "add", "dev", tap, "mode", "tap")
    n.ip(n.srv, "addr", "add", "10.77.0.1/24", "dev", tap)
    n.ip(n.srv, "link", "set", tap, "up")
    _, slog, leases = n.dnsmasq(dev=tap, extra=["--dhcp-option=6,10.77.0.53", "--domain=live.test"])
    live = ["initrd=" + LIVE_IMAGES[0], "root=/dev/ubda", "ubdar=" + LIVE_IMAGES[1], "uml"]
    g = guests(live + [f"vec0:transport=tap,ifname={tap}"], prefix=["ip", "netns", "exec", n.srv])
    g.expect(r"Starting background DHCP request\.\.\. vec0")
    g.expect(uml.READY)
    m = g.expect(r"dhcpc: vec0: bound (10\.77\.0\.\d+)/24 via 10\.77\.0\.1 lease 120s", timeout=30)
    addr = m.group(1)
    lease = g.shell("cat /run/dhcpc/vec0.lease")
    assert "state=bound" in lease and f"address={addr}" in lease
    assert "nameserver 10.77.0.53" in g.shell("cat /etc/resolv.conf")
    assert f"inet {addr}/24" in g.shell("ip -4 addr show dev vec0")
    assert "default via 10.77.0.1 dev vec0" in g.shell("ip route")
    wait_for(lambda: addr in text(leases), 5, "dnsmasq's lease file")
    assert g.poweroff() == 0
    out = g.output.replace("\r", "")
    released = out.find(f"dhcpc: vec0: released {addr}")
    down = out.find("Shutting down network device... vec0")
    assert 0 <= released < down, out[-3000:]
    wait_for(lambda: f"DHCPRELEASE({tap}) {addr}" in text(slog), 5, "the guest's DHCPRELEASE at the server")
    wait_for(lambda: addr not in text(leases), 5, "dnsmasq to drop the lease")


def test_resume_takes_over_a_bound_lease_without_discover(lab):
    """What stage 2 does after fetch=: a first client (-1) leaves its lease bound on the interface; a second
    client resumes it (same address, T1/T2/expiry from the file, no DISCOVER) and renews it.
    A lease whose address is no longer on the interface is not taken over."""
    n = lab(subnet="10.67.0")
    n.server_ip()
    _, slog, _ = n.dnsmasq(extra=["--dhcp-option=6,10.67.0.53"])
    p, log = n.client("-1", name="first")
    assert p.wait(30) == 0, text(log)
    first = n.lease()
    addr = first["address"]
    assert first["state"] == "bound" and n.addresses() == [f"{addr}/24"]
    assert text(slog).count("DHCPDISCOVER") == 1
    os.unlink(n.resolv)
    p2, log2 = n.client(name="second")
    m = wait_for(lambda: re.search(rf"dhcpc: {n.cif}: resumed {re.escape(addr)}/24 lease (\d+)s left", text(log2)),
                 10, "the resumed line")
    assert 0 < int(m.group(1)) <= 120
    assert n.lease()["renew"] == first["renew"] and n.lease()["expires"] == first["expires"]
    assert "nameserver 10.67.0.53" in text(n.resolv)   # resolv.conf rewritten from the lease
    # the resumed client renews like one that got the lease itself (USR1: now rather than at T1 = 60 s)
    p2.send_signal(signal.SIGUSR1)
    wait_for(lambda: f"renewed {addr}/24" in text(log2), 15, "the renewal")
    wait_for(lambda: text(slog).count(f"DHCPACK({n.sif}) {addr}") == 2, 5, "the renewal's ACK at the server")
    dns = text(slog)
    assert dns.count("DHCPDISCOVER") == 1, dns
    assert n.addresses() == [f"{addr}/24"]
    p2.send_signal(signal.SIGTERM)
    assert p2.wait(10) == 0
    # released: the file says so and the address is gone; a new client starts over
    p3, log3 = n.client(name="third")
    wait_for(lambda: "selecting" in text(log3), 10, "a fresh start")
    assert "resumed" not in text(log3)
    p3.send_signal(signal.SIGTERM)
    p3.wait(10)
