"""The rescue ISO (iso/rescue.mk: a Debian root under our stage 1/2) and stage 2's services, in real boots.

- `make rescue-iso` (the Debian root is cached under build/debroot/, the image under build/rescue/), then UML
  with a data disk made on the host: the ready line's package count, e2fsck, parted, mkfs.xfs, cryptsetup,
  smartctl, the ordered poweroff, the ISO's checksum unchanged.
- `sshd passwd=...` in UML on a tap device in a test-made namespace with dnsmasq: ssh with sshpass from the
  namespace, sshd stopped before the global TERM, host keys different on two boots, no password login
  without passwd=.
- Services on the busybox live ISO remastered with a service tree: respawn with backoff, `down`, liveinit-svc
  start/stop/restart, a service ignoring TERM killed after shutdown_timeout= with the shutdown going on.
- qemu (TCG): rescue.iso from CD through isolinux's `serial` label to the ready line.
Needs root (namespaces, remaster) and `make all`.
"""
import os
import re
import shutil
import subprocess

import pytest

import uml
from dhcpnet import Lab, wait_for
from qemu import Qemu

TOP = uml.TOP
BUILD = uml.BUILD
RESCUE_ISO = os.path.join(BUILD, "rescue.iso")
LIVE_ISO = os.path.join(BUILD, "live.iso")
INITRD = os.path.join(BUILD, "initrd.img")
WORK = os.path.join(BUILD, "test-rescue")
READY_COUNT = r"liveinit \S+ ready; (\d+) packages available"


@pytest.fixture(scope="module")
def rescue_iso():
    """build/rescue.iso, built by make when missing or stale (a fresh clone: the debootstrap root, 1-3 min,
    and the squashfs, 1-2 min; afterwards make finds it up to date)."""
    r = subprocess.run(["make", "-s", "rescue-iso"], cwd=TOP, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return RESCUE_ISO


def dpkg_count(root):
    with open(os.path.join(root, "var", "lib", "dpkg", "status")) as f:
        return sum(1 for line in f if re.match(r"Status: \S+ \S+ installed$", line))


def boot_args(iso, *extra):
    return [f"initrd={INITRD}", "root=/dev/ubda", f"ubdar={iso}", "uml", *extra]


def data_disk(path):
    """512 MB, GPT: partition 1 (100 MB) ext4 made here with a file on it, partition 2 (380 MB) left for the
    guest's mkfs.xfs (xfsprogs wants 300 MB at least).  Returns partition 2's byte offset."""
    subprocess.run(["truncate", "-s", "512M", path], check=True)
    subprocess.run(["sfdisk", "-q", path], input="label: gpt\nstart=1MiB, size=100MiB\nsize=380MiB\n",
                   text=True, check=True)
    src = path + ".d"
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "hello.txt"), "w") as f:
        f.write("rescued\n")
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "rescuedata", "-d", src,
                    "-E", f"offset={1024 * 1024}", path, "100M"], check=True)
    shutil.rmtree(src)
    return 101 * 1024 * 1024


def test_rescue_iso_contents(rescue_iso):
    """The image holds what the boot needs and no SSH host keys; its size is within the issue's 250 MB."""
    root = os.path.join(BUILD, "rescue", "root")
    assert os.readlink(os.path.join(root, "usr", "sbin", "init")) == "liveinit"
    for p in ("usr/sbin/dhcpc", "usr/bin/create", "usr/bin/uml-run", "usr/sbin/sshd", "usr/sbin/mkfs.xfs",
              "usr/bin/uml_mconsole", "etc/liveinit/services/sshd/run", "etc/liveinit/services/sshd/down"):
        assert os.path.exists(os.path.join(root, p)), p
    assert not [f for f in os.listdir(os.path.join(root, "etc", "ssh")) if f.startswith("ssh_host_")]
    assert os.listdir(os.path.join(root, "usr", "share", "man")) == []
    mods = os.listdir(os.path.join(root, "usr", "lib", "modules"))
    assert len(mods) == 2, mods  # the UML kernel's and the PC kernel's
    assert os.path.getsize(rescue_iso) <= 250 * 1024 * 1024


def test_rescue_uml_disk_tools(rescue_iso, tmp_path):
    before = uml.sha256(rescue_iso)
    disk = str(tmp_path / "data.img")
    xfs_offset = data_disk(disk)
    want = dpkg_count(os.path.join(BUILD, "rescue", "root"))
    with uml.UML(boot_args(rescue_iso, f"ubdb={disk}"), mem="256M", timeout=240) as g:
        m = g.expect(READY_COUNT, timeout=240)
        assert int(m.group(1)) == want
        out = g.shell("e2fsck -fn /dev/ubdb1", timeout=60)
        assert g.last_status == 0 and "files" in out, out
        out = g.shell("mkdir -p /mnt/d && mount -o ro /dev/ubdb1 /mnt/d && cat /mnt/d/hello.txt; umount /mnt/d")
        assert "rescued" in out
        out = g.shell("mkfs.xfs -f -L fromguest /dev/ubdb2 >/dev/null && xfs_repair -n /dev/ubdb2 >/dev/null; echo rc=$?",
                      timeout=120)
        assert "rc=0" in out, out
        out = g.shell("parted -s /dev/ubdb print")
        assert g.last_status == 0 and re.search(r"\n 1 .* ext4", out) and re.search(r"\n 2 .* xfs", out), out
        out = g.shell("cryptsetup --version && smartctl --version | head -n1")
        assert g.last_status == 0 and re.search(r"cryptsetup 2\.\d", out) and "smartctl" in out, out
        assert g.poweroff(timeout=120) == 0
        text = g.output
    assert text.index("Sent all processes the TERM signal") < text.index("Unmounting remaining file systems")
    with open(disk, "rb") as f:
        f.seek(xfs_offset)
        assert f.read(4) == b"XFSB"  # the guest's mkfs.xfs reached the disk
    assert uml.sha256(rescue_iso) == before


@pytest.fixture
def lab():
    made = []
    yield lambda **kw: made.append(Lab(**kw)) or made[-1]
    for n in made:
        n.close()


def stop_line(text, name, how="done"):
    """Where the progress line of a service's stop is (a shell prompt may come between its start and end)."""
    m = re.search(r"Stopping service %s\.\.\. [^\n]{0,40}?%s" % (re.escape(name), re.escape(how)), text)
    assert m, text[-3000:]
    return m.start()


def ssh_boot(n, tap, iso, extra, slog):
    """Boot with networking on tap; return (guest, the address dnsmasq gave it on this boot)."""
    acks = lambda: re.findall(r"DHCPACK\(\S+\) (10\.75\.0\.\d+)", open(slog).read())  # noqa: E731
    before = len(acks())
    g = uml.UML(boot_args(iso, f"vec0:transport=tap,ifname={tap}", *extra), mem="256M", timeout=240,
                prefix=["ip", "netns", "exec", n.srv])
    g.start()
    g.expect(READY_COUNT, timeout=240)
    wait_for(lambda: len(acks()) > before, 60, "the guest's lease")
    return g, acks()[-1]


def in_ns(n, *cmd, timeout=60):
    return subprocess.run(["ip", "netns", "exec", n.srv, *cmd], capture_output=True, text=True, timeout=timeout)


def host_key(n, addr):
    """The guest's ed25519 host key as ssh-keyscan sees it (waits for sshd to listen)."""
    key = []

    def scan():
        r = in_ns(n, "ssh-keyscan", "-t", "ed25519", "-T", "5", addr)
        key[:] = [line for line in r.stdout.splitlines() if "ssh-ed25519" in line]
        return bool(key)
    wait_for(scan, 90, "sshd on " + addr, step=1)
    return key[0].split()[-1]


SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=20",
            "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no"]


def test_rescue_sshd_password_login(rescue_iso, lab):
    n = lab(subnet="10.75.0")
    tap = n.sif + "t"
    n.ip(n.srv, "tuntap", "add", "dev", tap, "mode", "tap")
    n.ip(n.srv, "addr", "add", "10.75.0.1/24", "dev", tap)
    n.ip(n.srv, "link", "set", tap, "up")
    _, slog, _ = n.dnsmasq(dev=tap)
    password = "Rescue-Me-42"
    g, addr = ssh_boot(n, tap, rescue_iso, ["sshd", f"passwd={password}"], slog)
    try:
        key1 = host_key(n, addr)
        r = in_ns(n, "sshpass", "-p", password, "ssh", *SSH_OPTS, f"root@{addr}",
                  "echo logged-in-as-$(id -un); cat /proc/1/comm; liveinit-svc status sshd")
        assert r.returncode == 0, r.stderr
        assert "logged-in-as-root" in r.stdout and "sshd state=running" in r.stdout, r.stdout
        shadow = g.shell("grep '^root:' /etc/shadow")
        assert "root:$6$" in shadow and password not in shadow
        assert g.poweroff(timeout=120) == 0
        text = g.output
    finally:
        g.kill()
    assert stop_line(text, "sshd") < text.index("Sent all processes the TERM signal")
    assert "password logins stay off" not in text

    # Second boot: sshd without passwd=: new host keys, and password logins are refused.
    g, addr = ssh_boot(n, tap, rescue_iso, ["sshd"], slog)
    try:
        key2 = host_key(n, addr)
        r = in_ns(n, "sshpass", "-p", password, "ssh", *SSH_OPTS, f"root@{addr}", "true")
        assert r.returncode != 0  # sshpass: 5 = wrong password
        assert g.poweroff(timeout=120) == 0
        text = g.output
    finally:
        g.kill()
    assert "sshd: root has no password (no passwd= given): password logins stay off" in text
    assert key1 != key2


# ---- services on the busybox root ----

SERVICES = {
    # exits after 0.3 s every time: restarted with 1, 2, 4 s backoff
    "flaky": "#!/bin/sh\nread up rest < /proc/uptime\necho \"start $up\"\nsleep 0.3\nexit 1\n",
    # not started at boot
    "idle": "#!/bin/sh\nexec sleep 1000\n",
    # ignores TERM: killed after shutdown_timeout=
    "stubborn": "#!/bin/sh\ntrap 'echo got TERM' TERM\nwhile :; do sleep 1; done\n",
    "web": "#!/bin/sh\nexec sleep 1000\n",
}


@pytest.fixture(scope="module")
def services_iso():
    """build/live.iso remastered with a service tree (rebuilt when live.iso or this file changes)."""
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, "services.iso")
    stamp = out + ".src"
    key = "%s %s" % (uml.sha256(LIVE_ISO), repr(sorted(SERVICES.items())))
    if os.path.exists(out) and os.path.exists(stamp) and open(stamp).read() == key:
        return out
    add = os.path.join(WORK, "services-add")
    shutil.rmtree(add, ignore_errors=True)
    for name, run in SERVICES.items():
        d = os.path.join(add, "etc", "liveinit", "services", name)
        os.makedirs(d)
        with open(os.path.join(d, "run"), "w") as f:
            f.write(run)
        os.chmod(os.path.join(d, "run"), 0o755)
    open(os.path.join(add, "etc", "liveinit", "services", "idle", "down"), "w").close()
    r = subprocess.run([os.path.join(TOP, "scripts", "remaster"), LIVE_ISO, out, "--add", add],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    with open(stamp, "w") as f:
        f.write(key)
    return out


def status(g, name):
    out = g.shell("liveinit-svc status " + name)
    m = re.search(r"^%s state=(\S+)(?: pid=(\d+))?.* restarts=(\d+) want=(\S+)" % name, out, re.M)
    assert m, out
    return m.group(1), m.group(2), int(m.group(3)), m.group(4)


def test_services_respawn_down_control_and_shutdown(services_iso):
    with uml.UML(boot_args(services_iso, "shutdown_timeout=2"), timeout=120) as g:
        g.expect(uml.READY, timeout=120)
        assert "ready;" not in g.output  # the busybox root has no dpkg: no package count
        assert status(g, "idle")[0] == "down" and status(g, "idle")[3] == "down"
        web = status(g, "web")
        assert web[0] == "running" and web[1]
        # flaky: let it fail a few times; its starts are 1 s, then 2 s, then 4 s (+0.3 s run) apart.
        wait_for(lambda: status(g, "flaky")[2] >= 3, 60, "three restarts of flaky", step=1)
        starts = [float(x) for x in re.findall(r"start ([\d.]+)", g.shell("cat /run/liveinit/log/flaky"))]
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert len(gaps) >= 3 and gaps[0] >= 1.3 and gaps[1] >= 2.3 and gaps[2] >= 4.3, gaps
        # liveinit-svc start / stop / restart
        out = g.shell("liveinit-svc start idle")
        assert g.last_status == 0 and "idle state=running" in out, out
        out = g.shell("liveinit-svc stop idle")
        assert g.last_status == 0 and "idle state=down" in out, out
        old = status(g, "stubborn")[1]
        out = g.shell("liveinit-svc restart stubborn", timeout=30)  # TERM ignored: KILL after 2 s
        assert g.last_status == 0 and "stubborn state=running" in out, out
        assert status(g, "stubborn")[1] != old
        assert "service stubborn did not stop on SIGTERM within 2 s; sending SIGKILL" in g.output
        out = g.shell("liveinit-svc stop nosuch; echo rc=$?")
        assert "no service nosuch" in out and "rc=1" in out
        assert g.poweroff(timeout=60) == 0
        text = g.output
    term = text.index("Sent all processes the TERM signal")
    web_stop = stop_line(text, "web")
    stub_stop = stop_line(text, "stubborn", "killed after 2 s")
    assert web_stop < stub_stop < term  # reverse name order, all before the global TERM
    assert "Stopping service idle" not in text  # it was down


def test_rescue_qemu_isolinux_serial(rescue_iso):
    """BIOS -> isolinux (`serial` typed at boot:) -> Debian's kernel -> stage 1 -> the Debian root, with a root
    shell on the serial port and on tty1 (both consoles given)."""
    with Qemu(cdrom=rescue_iso, mem="1024", timeout=600) as q:
        q.boot_label("serial", timeout=120)
        m = q.expect(READY_COUNT, timeout=600)
        assert int(m.group(1)) == dpkg_count(os.path.join(BUILD, "rescue", "root"))
        out = q.shell("cat /sys/class/tty/console/active; ps -o tty= -C sh -C dash | sort -u")
        assert "ttyS0" in out and "tty1" in out, out
        assert q.poweroff(timeout=180) == 0


def test_rescue_ovmf_secure_boot(rescue_iso):
    """The same UEFI path as live.iso: OVMF with Secure Boot, shim and GRUB from the ESP find this ISO by its
    /.disk/id, `serial` chosen in GRUB's menu, the Debian root's ready line, a signed module (e1000) loads."""
    with Qemu(cdrom=rescue_iso, firmware="ovmf-secboot", mem="1024", timeout=600) as q:
        q.grub_choose("serial")
        q.expect(r"EFI stub: UEFI Secure Boot is enabled", timeout=300)
        m = q.expect(READY_COUNT, timeout=600)
        assert int(m.group(1)) == dpkg_count(os.path.join(BUILD, "rescue", "root"))
        assert "Key was rejected" not in q.output and "Loading of unsigned module" not in q.output
        assert re.search(r"^e1000\s", q.shell("lsmod"), re.M)
        assert q.poweroff(timeout=180) == 0
