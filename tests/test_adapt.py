"""Stage 1's adaptation of foreign roots (init/stage1/adapt.c, stage2root.c) on fixture trees, through the
host driver build/tests/adapt_run: a systemd root laid out like Debian bookworm (merged /usr, relative and
absolute symlinks), a sysvinit root, our own live root, a tree without any init.  The boots that prove the
result works are in tests/test_foreign.py."""
import crypt
import os
import subprocess
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(TOP, "build", "tests", "adapt_run")
SHADOW = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"


def put(root, rel, text="", mode=0o644):
    path = os.path.join(root, rel.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def link(root, rel, target):
    path = os.path.join(root, rel.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


def systemd_root(root, keys=False, sshd=True):
    """Debian bookworm's shape: /sbin, /lib, /bin are links into /usr; init -> ../lib/systemd/systemd;
    poweroff & co -> /bin/systemctl (absolute, as Debian ships them)."""
    for d in ("bin", "sbin", "lib"):
        os.makedirs(os.path.join(root, "usr", d), exist_ok=True)
        os.symlink("usr/" + d, os.path.join(root, d))
    put(root, "/usr/lib/systemd/systemd", "#!elf", 0o755)
    link(root, "/usr/sbin/init", "../lib/systemd/systemd")
    put(root, "/usr/bin/systemctl", "#!elf", 0o755)
    for c in ("poweroff", "reboot", "halt", "shutdown"):
        link(root, "/usr/sbin/" + c, "/bin/systemctl")
    put(root, "/usr/sbin/agetty", "#!elf", 0o755)
    put(root, "/usr/bin/dash", "#!elf", 0o755)
    link(root, "/usr/bin/sh", "dash")
    put(root, "/etc/shadow", SHADOW, 0o640)
    put(root, "/etc/hostname", "debian\n")
    os.makedirs(os.path.join(root, "etc/systemd/system/multi-user.target.wants"))
    if sshd:
        put(root, "/usr/sbin/sshd", "#!elf", 0o755)
        put(root, "/usr/bin/ssh-keygen", "#!elf", 0o755)
        put(root, "/usr/lib/systemd/system/ssh.service", "[Service]\n")
        os.makedirs(os.path.join(root, "etc/ssh"))
        if keys:
            put(root, "/etc/ssh/ssh_host_ed25519_key", "k", 0o600)
    return root


def sysvinit_root(root):
    put(root, "/sbin/init", "#!elf", 0o755)
    put(root, "/sbin/getty", "#!elf", 0o755)
    put(root, "/bin/sh", "#!elf", 0o755)
    put(root, "/usr/sbin/sshd", "#!elf", 0o755)
    put(root, "/usr/bin/ssh-keygen", "#!elf", 0o755)
    put(root, "/etc/inittab", "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n"
        "1:2345:respawn:/sbin/getty --noclear 38400 tty1\n#T0:23:respawn:/sbin/getty -L ttyS0 9600 vt100\n")
    put(root, "/etc/shadow", SHADOW, 0o640)
    return root


def run(root, cmdline, tmp_path, check=True):
    initrd = tmp_path / "initrd"
    if not initrd.exists():
        put(str(initrd), "/lib/liveinit/liveinit", "stage2-binary", 0o755)
        put(str(initrd), "/lib/liveinit/dhcpc", "dhcpc-binary", 0o755)
        put(str(initrd), "/bin/busybox", "busybox-binary", 0o755)
    r = subprocess.run([RUN, str(root), str(initrd), str(tmp_path / "run-liveinit"), cmdline],
                       capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def read(root, rel):
    with open(os.path.join(str(root), rel.lstrip("/"))) as f:
        return f.read()


def tree(root):
    """Every path under root with its type/target/content, to compare before and after."""
    out = {}
    for d, dirs, files in os.walk(str(root)):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, str(root))
            if os.path.islink(p):
                out[rel] = "-> " + os.readlink(p)
            elif os.path.isfile(p):
                out[rel] = open(p, "rb").read()
            else:
                out[rel] = "dir"
    return out


def test_systemd_uml(tmp_path):
    root = systemd_root(str(tmp_path / "root"))
    r = run(root, "root=/dev/ubda uml passwd=s3cret hostname=box7", tmp_path)
    lines = r.stdout.splitlines()
    assert lines[0] == "init: systemd"
    unit = read(root, "/etc/systemd/system/liveinit-getty@.service")
    assert "ExecStart=-/sbin/agetty " in unit and "TTYPath=/dev/%I" in unit and "BindsTo" not in unit
    assert os.readlink(os.path.join(root, "etc/systemd/system/getty.target.wants/liveinit-getty@tty0.service")) \
        == "/etc/systemd/system/liveinit-getty@.service"
    keygen = read(root, "/etc/systemd/system/liveinit-ssh-keygen.service")
    assert "Before=ssh.service" in keygen and "ExecStart=/usr/bin/ssh-keygen -A" in keygen
    for wants in ("multi-user.target.wants", "ssh.service.wants"):
        assert os.path.islink(os.path.join(root, "etc/systemd/system", wants, "liveinit-ssh-keygen.service"))
    shadow = read(root, "/etc/shadow").splitlines()
    h = shadow[0].split(":")[1]
    assert h.startswith("$6$") and crypt.crypt("s3cret", h) == h
    assert shadow[0].split(":")[2] == str(int(time.time()) // 86400)
    assert shadow[1] == "daemon:*:19000:0:99999:7:::"
    assert os.stat(os.path.join(root, "etc/shadow")).st_mode & 0o7777 == 0o640
    assert read(root, "/etc/hostname") == "box7\n"
    # One line per change, naming the file; the password itself is nowhere in the log.
    assert any("liveinit-getty@.service" in l and "tty0" in l for l in lines)
    assert any("liveinit-ssh-keygen.service" in l for l in lines)
    assert any("/etc/shadow" in l for l in lines) and any("box7" in l for l in lines)
    assert "s3cret" not in r.stdout
    assert len(lines) == 1 + 4
    # No stage 2 pieces without liveinit.stage2.
    assert os.readlink(os.path.join(root, "usr/sbin/poweroff")) == "/bin/systemctl"


def test_systemd_keys_present_sshd_enables(tmp_path):
    root = systemd_root(str(tmp_path / "root"), keys=True)
    r = run(root, "uml sshd", tmp_path)
    assert not os.path.exists(os.path.join(root, "etc/systemd/system/liveinit-ssh-keygen.service"))
    assert os.readlink(os.path.join(root, "etc/systemd/system/multi-user.target.wants/ssh.service")) \
        == "/lib/systemd/system/ssh.service"
    assert any(l.startswith("sshd:") for l in r.stdout.splitlines())
    assert read(root, "/etc/hostname") == "debian\n"  # no hostname=: the root keeps its own
    assert read(root, "/etc/shadow") == SHADOW        # no passwd=: untouched


def test_systemd_xen_and_pc_serial_left_to_systemd(tmp_path):
    """systemd's getty generator serves hvc0 and console=ttyS0 itself: no getty of ours there."""
    for i, cmdline in enumerate(["xen", "console=tty0 console=ttyS0,115200", ""]):
        root = systemd_root(str(tmp_path / ("root%d" % i)), keys=True, sshd=False)
        r = run(root, cmdline, tmp_path)
        assert r.stdout.splitlines() == ["init: systemd"], cmdline
        assert not os.path.exists(os.path.join(root, "etc/systemd/system/liveinit-getty@.service"))


def test_sysvinit(tmp_path):
    root = sysvinit_root(str(tmp_path / "root"))
    r = run(root, "uml passwd=pw", tmp_path)
    assert r.stdout.splitlines()[0] == "init: sysvinit"
    inittab = read(root, "/etc/inittab")
    assert "LI:2345:respawn:/sbin/getty -L tty0 115200 vt100\n" in inittab
    assert "LK::sysinit:/usr/bin/ssh-keygen -A\n" in inittab
    assert inittab.startswith("id:2:initdefault:\n")
    h = read(root, "/etc/shadow").split(":")[1]
    assert crypt.crypt("pw", h) == h
    # PC with console=ttyS0: the commented T0 line in Debian's inittab does not count as served.
    root = sysvinit_root(str(tmp_path / "root2"))
    run(root, "console=ttyS0,115200n8", tmp_path)
    assert "LI:2345:respawn:/sbin/getty -L ttyS0 115200 vt100\n" in read(root, "/etc/inittab")
    # ... and a second run adds nothing twice (tty already served by our line).
    before = read(root, "/etc/inittab")
    os.remove(os.path.join(root, "usr/sbin/sshd"))
    run(root, "console=ttyS0", tmp_path)
    assert read(root, "/etc/inittab") == before


def test_our_root_and_no_init_untouched(tmp_path):
    ours = str(tmp_path / "ours")
    put(ours, "/sbin/liveinit", "elf", 0o755)
    link(ours, "/sbin/init", "liveinit")
    put(ours, "/etc/shadow", SHADOW)
    empty = str(tmp_path / "empty")
    put(empty, "/etc/shadow", SHADOW)
    for root, kind in ((ours, "liveinit stage 2"), (empty, "no init")):
        before = tree(root)
        r = run(root, "uml passwd=x hostname=h sshd", tmp_path)
        assert r.stdout.splitlines() == ["init: " + kind]
        assert tree(root) == before


def test_adapt_off(tmp_path):
    root = systemd_root(str(tmp_path / "root"))
    before = tree(root)
    r = run(root, "uml passwd=x liveinit.adapt=0", tmp_path)
    assert r.stdout.splitlines() == ["init: systemd"]
    assert tree(root) == before


def test_absolute_links_stay_inside_the_root(tmp_path):
    """/etc/systemd/system as an absolute link: followed inside the root, never on the host."""
    root = systemd_root(str(tmp_path / "root"), keys=True, sshd=False)
    os.rename(os.path.join(root, "etc/systemd/system"), os.path.join(root, "etc/sd-real"))
    os.symlink("/etc/sd-real", os.path.join(root, "etc/systemd/system"))
    run(root, "uml", tmp_path)
    assert os.path.isfile(os.path.join(root, "etc/sd-real/liveinit-getty@.service"))
    assert os.path.islink(os.path.join(root, "etc/systemd/system"))


def test_missing_agetty_is_one_line(tmp_path):
    root = systemd_root(str(tmp_path / "root"))
    os.remove(os.path.join(root, "usr/sbin/agetty"))
    r = run(root, "uml", tmp_path, check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == "adapt: no agetty in the new root (/sbin/agetty): no login on tty0"


def test_stage2_on_systemd_root(tmp_path):
    root = systemd_root(str(tmp_path / "root"))
    r = run(root, "uml liveinit.stage2", tmp_path)
    runl = tmp_path / "run-liveinit"
    assert (runl / "liveinit").read_text() == "stage2-binary"
    assert os.access(str(runl / "liveinit"), os.X_OK)
    assert os.readlink(str(runl / "init")) == "liveinit"
    assert (runl / "dhcpc").read_text() == "dhcpc-binary"
    assert os.readlink(os.path.join(root, "usr/sbin/dhcpc")) == "/run/liveinit/dhcpc"
    # merged /usr: /sbin/poweroff and /usr/sbin/poweroff are one file, replaced once.
    for c in ("poweroff", "reboot", "halt", "shutdown"):
        assert os.readlink(os.path.join(root, "usr/sbin", c)) == "/run/liveinit/liveinit"
    lines = r.stdout.splitlines()
    assert sum("poweroff" in l for l in lines) == 1
    assert not (runl / "busybox").exists()       # the root has /bin/sh
    assert read(root, "/etc/shadow") == SHADOW     # stage 2 mode: no systemd adaptation
    assert not os.path.exists(os.path.join(root, "etc/systemd/system/liveinit-getty@.service"))


def test_stage2_root_without_shell(tmp_path):
    root = str(tmp_path / "root")
    put(root, "/etc/os-release", "ID=none\n")
    r = run(root, "liveinit.stage2", tmp_path)
    runl = tmp_path / "run-liveinit"
    assert (runl / "busybox").read_text() == "busybox-binary"
    assert os.readlink(os.path.join(root, "bin/sh")) == "/run/liveinit/busybox"
    for c in ("poweroff", "reboot", "halt", "shutdown"):
        assert os.readlink(os.path.join(root, "sbin", c)) == "/run/liveinit/liveinit"
    assert any("no shell" in l for l in r.stdout.splitlines())
