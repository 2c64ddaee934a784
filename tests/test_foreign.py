"""Somebody else's live ISO with our initrd (issue 10): a live-build style ISO (tests/foreign/build-iso: a
Debian bookworm systemd root with openssh-server, /live/filesystem.squashfs in xz plus gzip, lzo, lz4 and zstd
add-on layers,
volume id "d-live 12 st amd64") booted in UML, qemu (serial console) and Xen (hvc0), each with a login where
the user is; and in UML with liveinit.stage2.  Four boots in all (systemd is slow under TCG: generous
timeouts, no timed assertions).  The adaptation itself is unit-tested on fixture roots in tests/test_adapt.py.
"""
import os
import re
import subprocess

import pytest

import qemu
import uml
import xenvm
from test_xen import Shell as XenConsoleShell

TOP = uml.TOP
BUILD = uml.BUILD
PASSWORD = "Fo-reign1"
PROMPT = r"root@%s:~# "
# SSH host keys each boot showed (the ed25519 public key): no two boots may share them.
SEEN_KEYS = {}


@pytest.fixture(scope="module")
def iso():
    out = subprocess.run([os.path.join(TOP, "tests", "foreign", "build-iso")], cwd=TOP, check=True,
                         stdout=subprocess.PIPE, text=True, timeout=3600).stdout
    return os.path.join(TOP, out.strip().splitlines()[-1])


def login(g, host, timeout):
    """At the getty: log in as root with passwd='s password; wait for bash's prompt."""
    g.expect(r"%s login: " % host, timeout=timeout)
    g.sendline("root")
    g.expect(r"Password: ", timeout=60)
    g.sendline(PASSWORD)
    g.expect(PROMPT % host, timeout=120)


def note(where, text):
    """Into the captured output and build/test-logs/test_foreign.log (kept after a passing run too)."""
    print("%s: %s" % (where, text))
    os.makedirs(uml.LOGDIR, exist_ok=True)
    with open(os.path.join(uml.LOGDIR, "test_foreign.log"), "a") as f:
        f.write("%s: %s\n" % (where, text))


def check_systemd_root(g, where):
    """What every platform must show once logged in.  Returns the host key."""
    state = g.shell("systemctl is-system-running --wait", timeout=600).strip()
    failed = g.shell("systemctl --failed --no-legend --plain | cut -d' ' -f1").split()
    note(where, "systemctl is-system-running: %s; failed units: %s" % (state, " ".join(failed) or "none"))
    assert state in ("running", "degraded"), state
    assert not [u for u in failed if "liveinit" in u], failed
    adapted = g.shell("cat /run/liveinit/adapted")
    note(where, "/run/liveinit/adapted:\n" + adapted)
    assert "passwd: /etc/shadow" in adapted
    assert g.shell("systemctl is-active ssh.service").strip() == "active"
    keys = g.shell("ls /etc/ssh/ | grep '^ssh_host_.*_key$'").split()
    result = g.shell("systemctl show -p Result --value liveinit-ssh-keygen.service").strip()
    note(where, "host keys: %s; liveinit-ssh-keygen.service result: %s" % (" ".join(keys), result))
    assert result == "success"
    key = g.shell("cat /etc/ssh/ssh_host_ed25519_key.pub").split()
    assert key and key[0] == "ssh-ed25519", key
    # The medium stays read-only under the overlay; the add-on layer lies above the base.
    mounts = g.shell("cat /proc/mounts")
    assert re.search(r"/run/live/medium iso9660 ro", mounts), mounts
    assert g.shell("cat /etc/liveinit-addon").strip() == "liveinit add-on layer"
    comps = ("gzip", "lzo", "lz4", "zstd")
    assert g.shell("cat" + "".join(" /etc/liveinit-addon-" + c for c in comps)).split("\n")[:4] == \
        ["liveinit %s layer" % c for c in comps]
    assert g.shell("cat /etc/issue").strip() == "issue from the add-on layer"
    for other, k in SEEN_KEYS.items():
        assert k != key[1], "%s and %s booted with the same SSH host key" % (where, other)
    SEEN_KEYS[where] = key[1]
    return adapted


def test_uml_systemd_login(iso, guests):
    """UML: systemd's root gets a login on tty0 (the terminal `linux` runs in); root + passwd= logs in;
    systemd is up; ssh runs with keys made at this boot; poweroff ends UML; the ISO is unchanged."""
    before = uml.sha256(iso)
    g = guests(["initrd=" + os.path.join(BUILD, "initrd.img"), "root=/dev/ubda", "ubdar=" + iso, "uml",
                "passwd=" + PASSWORD, "hostname=foreign-uml"], mem="512M", timeout=600)
    login(g, "foreign-uml", timeout=900)
    adapted = check_systemd_root(g, "uml")
    assert "liveinit-getty@.service, enabled for tty0" in adapted
    assert "liveinit-ssh-keygen.service" in adapted
    assert g.shell("tty").strip() == "/dev/tty0"
    assert g.shell("hostname").strip() == "foreign-uml"
    assert g.poweroff(timeout=300) == 0
    assert uml.sha256(iso) == before


def test_uml_stage2(iso, guests, tmp_path):
    """UML, liveinit.stage2: our stage 2 runs the systemd root: ready line, fstab from the disks, and
    `poweroff` typed in its shell (the root's is a systemctl link) runs our ordered shutdown."""
    disk = str(tmp_path / "data.img")
    subprocess.run(["truncate", "-s", "16M", disk], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "fdata", disk], check=True)
    before = uml.sha256(iso)
    g = guests(["initrd=" + os.path.join(BUILD, "initrd.img"), "root=/dev/ubda", "ubdar=" + iso,
                "ubdb=" + disk, "uml", "liveinit.stage2"], mem="256M", timeout=120)
    g.expect(r"Adapted the root \(liveinit.stage2\)")
    g.expect(uml.READY)
    g.expect("# ")
    assert g.shell("cat /proc/1/comm").strip() == "init"
    assert g.shell("readlink /proc/1/exe").strip() == "/run/liveinit/liveinit"
    fstab = g.shell("cat /etc/fstab")
    assert re.search(r"^/dev/ubdb\s+/mnt/ubdb\s+ext4", fstab, re.M), fstab
    assert g.shell("readlink -f /sbin/poweroff").strip() == "/run/liveinit/liveinit"
    assert "stage2: init is /run/liveinit/init" in g.shell("cat /run/liveinit/adapted")
    assert g.shell("grep -c PRETTY_NAME=.Debian /etc/os-release").strip() == "1"
    mark = len(g.output)
    assert g.poweroff(timeout=120) == 0
    shutdown = g.output[mark:]
    for step in ("Sent all processes the TERM signal", "Shutting down"):
        assert step in shutdown, shutdown[-2000:]
    assert "systemctl" not in shutdown and "System has not been booted with systemd" not in shutdown
    assert uml.sha256(iso) == before


def test_qemu_serial_login(iso):
    """qemu (TCG), the PC kernel and initrd, console=ttyS0, no root=: stage 1 finds the ISO by its /live tree
    (volume id not LIVEINIT); systemd's getty on ttyS0; the same login."""
    kernel = os.path.join(BUILD, "pc", "vmlinuz")
    initrd = os.path.join(BUILD, "pc", "initrd.img")
    assert os.path.exists(kernel) and os.path.exists(initrd), "build/pc missing: run make"
    before = uml.sha256(iso)
    with qemu.Qemu(cdrom=iso, kernel=kernel, initrd=initrd, mem=1024, timeout=900,
                   append="console=ttyS0 passwd=%s hostname=foreign-pc" % PASSWORD) as q:
        login(q, "foreign-pc", timeout=1500)
        check_systemd_root(q, "qemu")
        assert q.shell("tty").strip() == "/dev/ttyS0"
        q.sendline("poweroff")
        q.wait_exit(timeout=300)
    assert uml.sha256(iso) == before


# Under the Xen-in-qemu harness (TCG), processes of the glibc root now and then die of a general protection fault
# in libc or libcrypto (seen: ssh-keygen in 2 of 3 boots, systemd as PID 1 in 1 of 3, which then hangs the
# guest); the same ISO shows none in UML or plain qemu.  A boot whose PID 1 faults is reported and tried once
# more; a second one fails the test.
PID1_FAULT = r"traps: systemd\[1\] general protection fault"


def test_xen_hvc0_login(iso):
    """Xen PV domU (Xen in qemu): systemd's getty on hvc0; the same login."""
    before = uml.sha256(iso)
    for attempt in (1, 2):
        m = xenvm.live_guest(iso, extra="printk.time=1 passwd=%s hostname=foreign-xen" % PASSWORD, timeout=1200,
                             log_name="test_foreign")
        with m:
            m.expect("dom0: xl create", timeout=300)
            if m.expect([r"foreign-xen login: ", PID1_FAULT], timeout=900) == 1:
                note("xen", "attempt %d: systemd (PID 1) died of a general protection fault in the emulated "
                     "guest; log %s" % (attempt, m.logpath))
                assert attempt == 1, "PID 1 faulted in both Xen boots (see build/test-logs/test_foreign.log)"
                continue
            m.sendline("root")
            m.expect(r"Password: ", timeout=120)
            m.sendline(PASSWORD)
            m.expect(PROMPT % "foreign-xen", timeout=300)
            sh = XenShell(m)
            check_systemd_root(sh, "xen")
            assert sh.shell("tty").strip() == "/dev/hvc0"
            m.sendline("poweroff")
            m.expect("dom0: domain gone", timeout=600)
        break
    assert uml.sha256(iso) == before


class XenShell:
    """uml.UML's shell() interface over test_xen's console Shell."""

    def __init__(self, m):
        self.s = XenConsoleShell(m)

    def shell(self, cmd, timeout=120):
        return self.s.run(cmd, timeout)


def test_uml_stage2_root_without_shell(guests, tmp_path):
    """liveinit.stage2 on a root that has no shell at all: one warning line naming the fallback, and the
    initrd's busybox as the console shell; poweroff still runs our shutdown."""
    tree = tmp_path / "tree"
    for d in ("etc", "proc", "sys", "dev", "run", "tmp", "mnt"):
        (tree / d).mkdir(parents=True)
    (tree / "etc" / "os-release").write_text("PRETTY_NAME=\"no shell here\"\n")
    (tmp_path / "iso" / "live").mkdir(parents=True)
    subprocess.run(["mksquashfs", str(tree), str(tmp_path / "iso" / "live" / "filesystem.squashfs"),
                    "-comp", "gzip", "-quiet", "-no-progress", "-all-root"], check=True)
    iso = str(tmp_path / "noshell.iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "NOSHELL", "-o", iso,
                    str(tmp_path / "iso")], check=True, capture_output=True)
    g = guests(["initrd=" + os.path.join(BUILD, "initrd.img"), "root=/dev/ubda", "ubdar=" + iso, "uml",
                "liveinit.stage2"], timeout=120)
    g.expect(r"liveinit: warning: the root has no /bin/sh: the console shell is the initrd's busybox "
             r"\(/run/liveinit/busybox\)")
    g.expect(uml.READY)
    g.expect("# ")
    assert g.shell("cat /etc/os-release").strip() == 'PRETTY_NAME="no shell here"'
    assert g.shell("/run/liveinit/busybox readlink /bin/sh").strip() == "/run/liveinit/busybox"
    mark = len(g.output)
    assert g.poweroff(timeout=60) == 0
    assert "Shutting down" in g.output[mark:]
