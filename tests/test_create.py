"""scripts/create: real UML guests of build/live.iso in tmux sessions, in a private run dir (CREATE_RUNDIR);
NAT networking only inside a network namespace made by the test."""
import os
import re
import shutil
import stat
import subprocess

import pytest

import uml
from createlib import CREATE, READY, STAGE2_READY, SWITCH, RunDir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (tap devices, netns)")

# Shutdown lines: stage 2's ordered shutdown, or busybox init's while it is the live root's init.
STAGE2_SHUTDOWN = [r"\[\*\] Sent all processes the TERM signal", r"\[\*\] Sent all processes the KILL signal",
                   r"\[\*\] Unmounting remaining file systems", r"\[\*\] Shutting down"]
BUSYBOX_SHUTDOWN = [r"The system is going down NOW!", r"Sent SIGTERM to all processes",
                    r"Sent SIGKILL to all processes", r"Requesting system poweroff"]


@pytest.fixture
def rundir(tmp_path, base_hashes):
    rd = RunDir(tmp_path / "run")
    yield rd
    rd.cleanup()
    for p, h in base_hashes.items():
        assert uml.sha256(os.path.join(uml.BUILD, p)) == h, "base image %s was modified by a guest" % p


@pytest.fixture
def netns():
    name = "lvcreate%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "pids", name], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def in_ns(ns, *cmd):
    return subprocess.run(["ip", "netns", "exec", ns] + list(cmd), capture_output=True, text=True, timeout=30)


def links(ns=None):
    cmd = (["ip", "-n", ns] if ns else ["ip"]) + ["-o", "link", "show"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def assert_shut_down_cleanly(rd, name):
    text = rd.log(name)
    lines = STAGE2_SHUTDOWN if re.search(STAGE2_READY, text) else BUSYBOX_SHUTDOWN
    pos = 0
    for pat in lines:
        m = re.compile(pat).search(text, pos)
        assert m, "%s: shutdown line %r missing (in order); log tail:\n%s" % (name, pat, text[-2000:])
        pos = m.end()


def test_three_guests_list_stop_all(rundir):
    names = [rundir.create("--mem", "64M") for _ in range(3)]
    assert names == ["live1", "live2", "live3"]
    for n in names:
        rundir.wait_log(n, READY, timeout=90)
        # Read-only medium, the kernel arguments create promised.
        cmdline = open(os.path.join(rundir.path, "guests", n, "cmdline")).read().split("\n")
        assert "ubdar=" + os.path.join(uml.BUILD, "live.iso") in cmdline
        assert "umid=" + n in cmdline and "mem=64M" in cmdline
    rows = rundir.list()
    assert sorted(rows) == names
    pids = []
    for n in names:
        assert rows[n]["state"] == "running" and rows[n]["mem"] == "64M" and rows[n]["net"] == "none", rows
        pid = int(rows[n]["pid"])
        assert ("umid=" + n).encode() in open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")
        pids.append(pid)
    # The next default name is the first free one.
    p = rundir.run("--mem", "64M", "--name", "live2")
    assert p.returncode == 1 and "already running" in p.stderr

    p = rundir.run("stop", "--all", timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    for n in names:
        assert re.search(r"^%s: stopped" % n, p.stdout, re.M), p.stdout
        assert_shut_down_cleanly(rundir, n)
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid)
    assert rundir.processes() == []
    assert all(r["state"] == "stopped" for r in rundir.list().values())
    assert not [link for link in links() if link.startswith("lv-")]


def test_disk_is_writable_medium_is_not(rundir, tmp_path):
    disk = tmp_path / "disk.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", str(disk), "16M"], check=True)
    name = rundir.create("--mem", "64M", "--name", "d1", "--disk", str(disk))
    rundir.wait_log(name, READY, timeout=90)
    st, out = rundir.shell(name, "mount /dev/ubdb /mnt && echo from-guest > /mnt/hello && umount /mnt")
    assert st == 0, out
    st, out = rundir.shell(name, "dd if=/dev/zero of=/dev/ubda bs=512 count=1")
    assert st != 0, "the medium /dev/ubda was writable: " + out
    p = rundir.run("stop", name, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    got = subprocess.run(["debugfs", "-R", "cat /hello", str(disk)], capture_output=True, text=True)
    assert got.stdout.strip() == "from-guest", got.stdout + got.stderr


def test_nat_lease_ping_and_teardown(rundir, netns):
    rd = RunDir(rundir.path, ns=netns)
    forward_before = in_ns(netns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()
    name = rd.create("--net", "nat", "--mem", "64M", "--name", "n1")
    assert "lvbr0" in links(netns) and "lv-n1" in links(netns)
    assert "lv-n1" not in links() and "lvbr0" not in links(), "NAT setup leaked out of the test's netns"
    ruleset = in_ns(netns, "nft", "list", "table", "ip", "liveinit_create").stdout
    assert "masquerade" in ruleset and "10.182.250.0/24" in ruleset, ruleset
    assert in_ns(netns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    assert rd.list()[name]["net"] == "nat"
    rd.wait_log(name, READY, timeout=90)

    own_client = bool(re.search(r"Starting background DHCP request\.\.\. [^\r\n]*vec0", rd.log(name)))
    if own_client:
        # The live root's own DHCP client: wait for its address.
        st, out = rd.shell(name, "for i in $(seq 60); do ip -4 addr show vec0 | grep -q 'inet 10\\.182\\.250\\.' && break;"
                                 " sleep 0.5; done; ip -4 addr show vec0", timeout=60)
        addr = re.search(r"inet (10\.182\.250\.\d+)/24", out)
        assert addr, "the guest's DHCP client got no address:\n" + out
        ip = addr.group(1)
    else:
        ip = _udhcpc_lease(rd, name)
    st, out = rd.shell(name, "ping -c 2 -W 2 10.182.250.1", timeout=30)
    assert st == 0 and "2 packets received" in out, out
    dlog = open(os.path.join(rundir.path, "net", "dnsmasq.log")).read()
    assert re.search(r"DHCPACK\(lvbr0\) %s " % re.escape(ip), dlog), dlog[-2000:]

    p = rd.run("stop", "--all", timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert_shut_down_cleanly(rd, name)
    if own_client:
        # Stage 2 takes the interface down and the client gives its lease back before the guest goes.
        assert re.search(r"\[\*\] Shutting down network device\.\.\. [^\r\n]*vec0", rd.log(name)), rd.log(name)[-2000:]
        dlog = open(os.path.join(rundir.path, "net", "dnsmasq.log")).read()
        assert re.search(r"DHCPRELEASE\(lvbr0\) %s " % re.escape(ip), dlog), dlog[-2000:]
    assert not [link for link in links(netns) if link == "lvbr0" or link.startswith("lv-")], links(netns)
    assert in_ns(netns, "nft", "list", "tables").stdout.strip() == ""
    assert in_ns(netns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == forward_before
    assert rd.processes() == []
    assert not os.path.exists(os.path.join(rundir.path, "net", "dnsmasq.pid"))


def _udhcpc_lease(rd, name):
    """Without the live root's DHCP client: busybox udhcpc with a script that sets the address."""
    script = ("printf '#!/bin/sh\\n[ \"$1\" = bound ] && ip addr add $ip/$mask dev $interface\\nexit 0\\n'"
              " > /tmp/dh; chmod +x /tmp/dh")
    st, out = rd.shell(name, script)
    assert st == 0, out
    st, out = rd.shell(name, "ip link set vec0 up && udhcpc -i vec0 -n -q -t 10 -s /tmp/dh", timeout=60)
    assert st == 0, out
    lease = re.search(r"lease of (10\.182\.250\.\d+) obtained from 10\.182\.250\.1", out)
    assert lease, out
    st, out = rd.shell(name, "ip -4 addr show vec0")
    assert lease.group(1) + "/24" in out, out
    return lease.group(1)


def test_guest_poweroff_releases_nat(rundir, netns):
    """A guest that powers itself off gives its tap back, and the last one takes the NAT with it."""
    rd = RunDir(rundir.path, ns=netns)
    a = rd.create("--net", "nat", "--mem", "64M")
    b = rd.create("--net", "nat", "--mem", "64M")
    assert {"lv-" + a, "lv-" + b} <= set(links(netns))
    for n in (a, b):
        rd.wait_log(n, READY, timeout=90)
    rd.send(a, "poweroff")
    rd.wait_log(a, r"System halted|Power down|reboot: ", timeout=60)
    _wait(lambda: "lv-" + a not in links(netns), "tap lv-%s removed" % a)
    assert "lvbr0" in links(netns) and "lv-" + b in links(netns)
    assert rd.list()[a]["state"] == "stopped" and rd.list()[b]["state"] == "running"
    rd.send(b, "poweroff")
    _wait(lambda: "lvbr0" not in links(netns), "bridge lvbr0 removed after the last NAT guest")
    _wait(lambda: rd.processes() == [], "no processes left")
    assert in_ns(netns, "nft", "list", "tables").stdout.strip() == ""


def _wait(cond, what, timeout=30):
    import time
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timeout waiting for: " + what
        time.sleep(0.2)


def test_plain_session_without_tmux(rundir):
    """The fallback the live root uses (no tmux there): a detached process, console = log + fifo."""
    env = {"CREATE_MUX": "plain"}
    name = rundir.create("--mem", "64M", env=env)
    rundir.wait_log(name, READY, timeout=90)
    assert stat.S_ISFIFO(os.stat(os.path.join(rundir.path, "guests", name, "console")).st_mode)
    assert not os.path.exists(os.path.join(rundir.path, "tmux.sock"))
    st, out = rundir.shell(name, "cat /proc/cmdline")
    assert st == 0 and "uml_dir=%s/uml" % rundir.path in out, out
    assert rundir.list()[name]["state"] == "running"
    import pexpect
    child = pexpect.spawn(CREATE, ["attach", name], env=rundir.env(), encoding="utf-8", timeout=30)
    try:
        child.expect("Ctrl-C leaves")
        child.sendline("echo plain-$((6*7))")
        child.expect("plain-42")
        child.sendcontrol("c")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert rundir.list()[name]["state"] == "running"
    p = rundir.run("stop", name, env=env, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert_shut_down_cleanly(rundir, name)
    assert rundir.processes() == []


def test_stop_force_kills(rundir):
    name = rundir.create("--mem", "64M")
    rundir.wait_log(name, SWITCH, timeout=90)
    p = rundir.run("stop", "--force", name, timeout=60)
    assert p.returncode == 0 and "%s: killed" % name in p.stdout, p.stdout + p.stderr
    _wait(lambda: rundir.processes() == [], "no processes left")
    assert rundir.list()[name]["state"] == "stopped"


def test_nat_refuses_without_root(tmp_path):
    rd = RunDir(tmp_path / "run")
    p = rd.run("--net", "nat", prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stderr.count("\n") == 1 and "needs root" in p.stderr, p.stderr
    assert not os.path.exists(rd.path)


def test_nat_refuses_without_tun(tmp_path):
    rd = RunDir(tmp_path / "run")
    # A private mount namespace where /dev/net has no tun node.
    p = rd.run("--net", "nat", prefix=["unshare", "-m", "sh", "-c",
                                       'mount -t tmpfs none /dev/net && exec "$@"', "sh"])
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stderr.count("\n") == 1 and "/dev/net/tun" in p.stderr, p.stderr
    assert not os.path.exists(rd.path)


@pytest.mark.parametrize("args,msg", [
    (["--mem", "lots"], "--mem lots"),
    (["--net", "bridge"], "--net bridge"),
    (["--name", "bad/name"], "--name bad/name"),
    (["--frobnicate"], "unknown argument"),
    (["stop"], "which guest"),
    (["attach"], "one guest name"),
])
def test_usage_errors(tmp_path, args, msg):
    p = RunDir(tmp_path / "run").run(*args)
    assert p.returncode == 2 and msg in p.stderr, p.stderr


def test_unknown_guest(tmp_path):
    rd = RunDir(tmp_path / "run")
    p = rd.run("stop", "nosuch")
    assert p.returncode == 1 and "no guest named nosuch" in p.stderr, p.stderr
    p = rd.run("attach", "nosuch")
    assert p.returncode == 1 and "not running" in p.stderr, p.stderr
    p = rd.run("--disk", str(tmp_path / "missing.img"))
    assert p.returncode == 1 and "missing.img: no such file" in p.stderr, p.stderr


@pytest.mark.parametrize("name", ["cow,base.img", "two words.img", "tab\there.img"])
def test_disk_path_with_comma_or_space_refused(tmp_path, name):
    """A ',' makes UML take the path as a COW pair (writes go elsewhere); whitespace splits the argument."""
    disk = tmp_path / name
    disk.write_bytes(b"\0" * 4096)
    p = RunDir(tmp_path / "run").run("--dry-run", "--disk", str(disk))
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1, p.stderr
    assert lines[0].startswith("create: --disk %s: a path with ','" % disk), p.stderr
    assert "ubd" not in p.stdout, p.stdout


def test_start_failure_is_reported(rundir):
    """A UML kernel that exits at once: create fails and says so, the name is free again."""
    p = rundir.run("--mem", "64M", env={"UML_LINUX": "/bin/false"})
    assert p.returncode == 1 and "live1 did not start: UML exited with status 1" in p.stderr, p.stderr
    assert rundir.list()["live1"]["state"] == "stopped"
    assert rundir.processes() == []


def _installed_copy(tmp_path, mounts_text):
    """scripts/create and uml-run laid out as in a live root (bin/ + a /uml dir) outside the build tree."""
    root = tmp_path / "live"
    (root / "bin").mkdir(parents=True)
    for s in ("create", "uml-run"):
        shutil.copy(os.path.join(uml.TOP, "scripts", s), root / "bin" / s)
    umldir = root / "uml"
    umldir.mkdir()
    kernel = umldir / "linux"
    kernel.write_text("#!/bin/sh\nexit 0\n")
    kernel.chmod(kernel.stat().st_mode | stat.S_IXUSR)
    (umldir / "initrd.img").write_bytes(b"initrd")
    mounts = tmp_path / "mounts"
    mounts.write_text(mounts_text)
    env = dict(os.environ, CREATE_UMLDIR=str(umldir), CREATE_PROC_MOUNTS=str(mounts),
               CREATE_RUNDIR=str(tmp_path / "run"))
    env.pop("UML_LINUX", None)
    return str(root / "bin" / "create"), env, str(umldir)


@pytest.mark.parametrize("mounts,medium", [
    # ISO medium (UML ubd, or a CD in qemu): the device stage 1 mounted at /run/live/medium.
    ("/dev/ubda /run/live/medium iso9660 ro 0 0\n/dev/loop0 /run/live/rootfs squashfs ro 0 0\n", "/dev/ubda"),
    ("/dev/sr0 /run/live/medium iso9660 ro 0 0\n/dev/loop0 /run/live/rootfs squashfs ro 0 0\n", "/dev/sr0"),
    # A bare squashfs device is the medium itself.
    ("/dev/ubdb /run/live/rootfs squashfs ro 0 0\n", "/dev/ubdb"),
    # toram: the loop device is no medium; nothing to boot from.
    ("tmpfs /run/live/toram tmpfs rw 0 0\n/dev/loop0 /run/live/rootfs squashfs ro 0 0\n", None),
])
def test_live_system_finds_its_medium(tmp_path, mounts, medium):
    create, env, umldir = _installed_copy(tmp_path, mounts)
    p = subprocess.run([create, "--dry-run", "--disk", "/dev/null"], env=env, capture_output=True, text=True)
    if medium is None:
        assert p.returncode == 1 and "no live medium" in p.stderr, p.stdout + p.stderr
        return
    assert p.returncode == 0, p.stderr
    argv = p.stdout.splitlines()[-1].split()
    assert argv[:3] == [os.path.join(os.path.dirname(create), "uml-run"), "--kernel", umldir + "/linux"]
    assert "ubdar=" + medium in argv and "root=/dev/ubda" in argv and "initrd=%s/initrd.img" % umldir in argv
    assert "ubdb=/dev/null" in argv and "con0=fd:0,fd:1" in argv and "umid=live1" in argv


def test_installed_in_live_root(guests):
    """A real boot of build/live.iso: create and its runtime (bash, glibc for the UML kernel, uml_mconsole,
    flock) are in the root, the medium's uml/{linux,initrd.img} run there, and create finds the medium the
    guest booted from.  (Starting
    a nested guest is not tested here: UML inside Debian's 6.1 UML kernel dies in start_userspace.)"""
    g = guests(["initrd=build/initrd.img", "root=/dev/ubda", "ubdar=build/live.iso", "uml"], mem="128M")
    g.expect(uml.READY)
    uml_dir = "/run/live/medium/uml"
    out = g.shell(uml_dir + "/linux --version")
    assert g.last_status == 0 and re.search(r"^\d+\.\d+", out.strip().splitlines()[-1]), out
    out = g.shell("wc -c < %s/initrd.img" % uml_dir)
    assert int(out.strip().splitlines()[-1]) == os.path.getsize(os.path.join(uml.BUILD, "initrd.img")), out
    out = g.shell("create --dry-run --mem 32M --disk /dev/null")
    assert g.last_status == 0, out
    argv = out.strip().splitlines()[-1].split()
    assert argv[:3] == ["/usr/bin/uml-run", "--kernel", uml_dir + "/linux"], argv
    for a in ("ubdar=/dev/ubda", "initrd=%s/initrd.img" % uml_dir, "root=/dev/ubda", "mem=32M", "ubdb=/dev/null",
              "uml_dir=/run/liveinit-create/uml"):
        assert a in argv, (a, argv)
    out = g.shell("create list && uml_mconsole /nonexistent version; flock --version")
    assert "NAME" in out and "util-linux" in out, out
    out = g.shell("create --net nat")
    assert g.last_status == 1 and "needs" in out, out


def test_stop_timeout_kills(rundir):
    """A guest that does not shut down (paused through its mconsole) is killed after --timeout; exit 1."""
    name = rundir.create("--mem", "64M")
    rundir.wait_log(name, READY, timeout=90)
    sock = os.path.join(rundir.path, "uml", name, "mconsole")
    out = subprocess.run(["uml_mconsole", sock, "stop"], capture_output=True, text=True, timeout=10).stdout
    assert out.startswith("OK"), out
    p = rundir.run("stop", "--timeout", "3", name, timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "did not stop within 3s" in p.stderr and "%s: killed" % name in p.stdout, p.stdout + p.stderr
    _wait(lambda: rundir.processes() == [], "no processes left")


def test_attach_and_detach(rundir):
    """create attach gives the guest's console on this terminal; Ctrl-b d leaves it running."""
    import pexpect
    name = rundir.create("--mem", "64M")
    rundir.wait_log(name, READY, timeout=90)
    child = pexpect.spawn(CREATE, ["attach", name], env=rundir.env(), encoding="utf-8", timeout=30,
                          dimensions=(50, 200))
    try:
        child.sendline("echo attached-$((6*7))")
        child.expect("attached-42")
        child.sendcontrol("b")
        child.send("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert rundir.list()[name]["state"] == "running"
    assert "attached-42" in rundir.log(name)


def test_create_inside_qemu_live_system(base_hashes):
    """The Finnix case: the live ISO booted on a real kernel (qemu, TCG), `create` there starts a UML guest of
    the same CD (/dev/sr0) with the ISO's uml/linux, it reaches its ready line, `list` shows it and `stop --all`
    shuts it down in order."""
    import qemu
    iso = os.path.join(uml.BUILD, "live.iso")
    with qemu.Qemu(cdrom=iso, mem="1024", timeout=300) as q:
        q.boot_label("serial")
        q.expect(uml.READY)
        out = q.shell("create --mem 64M 2>&1", timeout=120)
        # (kernel messages may be interleaved on this console)
        assert q.last_status == 0 and "live1" in out.split() and "create attach live1" in out, out
        log = "/run/liveinit-create/guests/live1/log"
        out = q.shell("cat /run/liveinit-create/guests/live1/cmdline", timeout=60)
        assert "ubdar=/dev/sr0" in out.split() and "/run/live/medium/uml/linux" in out.split(), out
        out = q.shell("for i in $(seq 240); do grep -aq 'liveinit [0-9][^ ]* ready' %s && break; sleep 0.5; done;"
                      " create list; grep -a '^\\[\\*\\]' %s" % (log, log), timeout=180)
        assert re.search(r"^live1\s+\d+\s+64M\s+running\s+none", out, re.M), out
        assert re.search(STAGE2_READY, out), out
        out = q.shell("create stop --all 2>&1; create list", timeout=180)
        assert q.last_status == 0 and re.search(r"^live1: stopped", out, re.M), out
        assert re.search(r"^live1\s+-\s+64M\s+stopped", out, re.M), out
        assert "No such file" not in out, out
        text = q.shell("cat " + log, timeout=60)
        pos = 0
        for pat in STAGE2_SHUTDOWN:
            m = re.compile(pat).search(text, pos)
            assert m, "shutdown line %r missing; log tail:\n%s" % (pat, text[-2000:])
            pos = m.end()
        q.poweroff(timeout=120)
    assert uml.sha256(iso) == base_hashes["live.iso"]
