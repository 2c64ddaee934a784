"""live-boot's features in real boots (issue 13): findiso=, toram admission, persistence.

Images are made per test from mkfs.ext4 / mkfs.vfat with the live ISO or a persistence.conf in them; every
boot that writes to an image is followed by a host-side e2fsck -fn of it."""
import os
import re
import shutil
import subprocess

import pytest

import qemu
import uml

B = uml.BUILD
ISO = os.path.join(B, "live.iso")
INITRD = "initrd=" + os.path.join(B, "initrd.img")
RESCUE = r"starting a rescue shell"


def run(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


def ext4_image(path, size_mb, label=None, files=None):
    """An ext4 image populated from a directory tree (mkfs.ext4 -d): files = {relative path: host file or bytes}."""
    tree = path + ".d"
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    for rel, content in (files or {}).items():
        dst = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if isinstance(content, bytes):
            with open(dst, "wb") as f:
                f.write(content)
        else:
            os.link(content, dst)  # same filesystem as build/: no 69 MB copy
    run("truncate", "-s", "%dM" % size_mb, path)
    run("mkfs.ext4", "-q", "-F", *(["-L", label] if label else []), "-d", tree, path)
    shutil.rmtree(tree)
    return path


def fsck_clean(path):
    """Unmounted cleanly (no journal left to replay, state clean) and consistent."""
    head = run("dumpe2fs", "-h", path).stdout
    assert "needs_recovery" not in head, "%s was not unmounted: its journal needs replaying" % path
    assert re.search(r"Filesystem state:\s+clean\n", head), head
    r = subprocess.run(["e2fsck", "-fn", path], capture_output=True, text=True)
    assert r.returncode == 0, "e2fsck -fn %s: exit %d\n%s%s" % (path, r.returncode, r.stdout, r.stderr)


def ready(g):
    g.expect(uml.READY)
    assert "42" in g.shell("echo $((40+2))")


# ---- findiso ----

@pytest.fixture(scope="module")
def iso_disk(tmp_path_factory):
    return ext4_image(str(tmp_path_factory.mktemp("findiso") / "disk.img"), 100, files={"isos/live.iso": ISO})


def test_findiso_uml(guests, iso_disk):
    before = uml.sha256(iso_disk)
    g = guests([INITRD, "ubdbr=" + iso_disk, "findiso=/isos/live.iso", "uml"])
    g.expect(r"Found /isos/live.iso on /dev/ubdb, attached to /dev/loop\d")
    ready(g)
    mounts = g.shell("cat /proc/mounts")
    assert "/dev/ubdb /run/live/findiso ext4 ro" in mounts
    assert re.search(r"/dev/loop\d /run/live/medium iso9660 ro", mounts)
    assert "overlay / overlay" in mounts
    assert g.poweroff() == 0
    assert re.search(r"Unmounted [^\n]*/run/live/findiso", g.output), "the findiso partition was not unmounted"
    assert uml.sha256(iso_disk) == before, "findiso's partition must not be written"


def test_findiso_root_names_partition_and_toram_releases_it(guests, iso_disk):
    g = guests([INITRD, "ubdbr=" + iso_disk, "root=/dev/ubdb", "findiso=/isos/live.iso", "toram", "uml"],
               mem="192M")
    g.expect(r"Copied /live/filesystem.squashfs to RAM: \d+ MiB in [\d.]+ s, \d+ MB/s")
    ready(g)
    mounts = g.shell("cat /proc/mounts")
    assert "/run/live/toram tmpfs" in mounts
    assert "/run/live/medium" not in mounts and "/run/live/findiso" not in mounts, mounts
    assert g.poweroff() == 0


def test_findiso_missing_file(guests, iso_disk):
    g = guests([INITRD, "ubdbr=" + iso_disk, "ubdcr=" + ISO, "findiso=/isos/other.iso", "rootdelay=1", "uml"])
    m = g.expect(r"liveinit: findiso: /isos/other.iso not found on ([^\r\n]*) \(waited 1 s")
    assert set(m.group(1).split()) >= {"/dev/ubdb", "/dev/ubdc"}, m.group(1)
    g.expect(RESCUE)


def test_findiso_qemu_vfat_virtio(tmp_path):
    """As GRUB's loopback would boot it: kernel and initrd given directly, the ISO a file on a vfat disk."""
    disk = str(tmp_path / "vfat.img")
    run("truncate", "-s", "120M", disk)
    run("mkfs.vfat", "-n", "STICK", disk)
    run("mmd", "-i", disk, "::/isos")
    run("mcopy", "-i", disk, ISO, "::/isos/live.iso")
    before = uml.sha256(disk)
    pc = os.path.join(B, "pc")
    with qemu.Qemu(kernel=os.path.join(pc, "vmlinuz"), initrd=os.path.join(pc, "initrd.img"),
                   append="console=ttyS0 findiso=/isos/live.iso", nic=None, timeout=300,
                   extra=["-drive", "file=%s,format=raw,if=virtio,readonly=on" % disk]) as q:
        q.expect(r"Found /isos/live.iso on /dev/vda, attached to /dev/loop\d")
        q.expect(uml.READY)
        mounts = q.shell("cat /proc/mounts")
        assert "/dev/vda /run/live/findiso vfat ro" in mounts
        assert q.poweroff() == 0
    assert uml.sha256(disk) == before


# ---- toram admission ----

def test_toram_does_not_fit_boots_from_medium(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + ISO, "toram", "uml"], mem="64M")
    g.expect(r"liveinit: warning: toram: /live/filesystem.squashfs needs (\d+) MiB \(\d+ MiB \+ 32 MiB for the "
             r"overlay\) but MemAvailable is (\d+) MiB \(tmpfs limit (\d+) MiB\); booting from the medium")
    ready(g)
    mounts = g.shell("cat /proc/mounts")
    assert "/run/live/medium iso9660" in mounts and "/run/live/toram" not in mounts
    assert g.poweroff() == 0


def test_toram_strict_does_not_fit_rescue(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + ISO, "toram=strict", "uml"], mem="64M")
    g.expect(r"liveinit: toram: /live/filesystem.squashfs needs \d+ MiB .* toram=strict: not booting from the "
             r"medium")
    g.expect(RESCUE)


def test_toram_fits_releases_medium(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + ISO, "toram=filesystem.squashfs", "uml"], mem="192M")
    g.expect(r"Copied /live/filesystem.squashfs to RAM")
    ready(g)
    mounts = g.shell("cat /proc/mounts")
    assert "/run/live/toram tmpfs" in mounts and "/run/live/medium" not in mounts
    assert g.poweroff() == 0


# ---- persistence ----

def persist_image(tmp_path, conf, label="persistence", name="persist.img"):
    return ext4_image(str(tmp_path / name), 64, label=label, files={"persistence.conf": conf.encode()})


def boot_persistent(guests, img, extra=(), **kw):
    return guests([INITRD, "root=/dev/ubda", "ubdar=" + ISO, "ubdb=" + img, "persistence", "uml"] + list(extra),
                  **kw)


def test_persistence_union_two_boots_poweroff_and_reboot(guests, tmp_path):
    img = persist_image(tmp_path, "/ union\n")
    g = boot_persistent(guests, img)
    g.expect(r"Persistence on /dev/ubdb \(1 entry\)")
    ready(g)
    # "installed": a new program in a directory of the squashfs
    g.shell("echo first boot > /root/notes && printf '#!/bin/sh\\necho installed ok\\n' > /usr/bin/hello"
            " && chmod 755 /usr/bin/hello")
    assert g.last_status == 0
    assert g.poweroff() == 0
    fsck_clean(img)

    g = boot_persistent(guests, img)
    ready(g)
    assert "first boot" in g.shell("cat /root/notes")
    assert "installed ok" in g.shell("hello")
    g.shell("echo second boot >> /root/notes")
    g.sendline("reboot")
    g.expect(r"Unmounted [^\r\n]*/run/live/persistence/persistence")
    g.expect(r"stage 1 on uml", timeout=120)   # UML restarts the kernel in the same process
    ready(g)
    assert "second boot" in g.shell("cat /root/notes")
    assert g.poweroff() == 0
    fsck_clean(img)
    out = run("debugfs", "-R", "cat /rw/root/notes", img).stdout
    assert "first boot" in out and "second boot" in out


def test_persistence_bind_and_union_dirs_and_label(guests, tmp_path):
    img = persist_image(tmp_path, "# only these persist\n/etc bind\n/srv union\n", label="mine")
    g = boot_persistent(guests, img, ["persistence-label=mine"])
    g.expect(r"Persistence on /dev/ubdb \(2 entries\)")
    ready(g)
    g.shell("echo kept > /etc/kept; echo served > /srv/page; echo lost > /root/lost")
    assert g.poweroff() == 0
    fsck_clean(img)
    # The new persistent /etc started as a copy of the live root's.
    assert "liveinit" in run("debugfs", "-R", "cat /etc/os-release", img).stdout
    assert "served" in run("debugfs", "-R", "cat /srv/rw/page", img).stdout
    g = boot_persistent(guests, img, ["persistence-label=mine"])
    ready(g)
    assert "kept" in g.shell("cat /etc/kept")
    assert "served" in g.shell("cat /srv/page")
    g.shell("test ! -e /root/lost")
    assert g.last_status == 0
    assert g.poweroff() == 0
    fsck_clean(img)


def test_persistence_read_only_and_nopersistence(guests, tmp_path):
    img = persist_image(tmp_path, "/ union\n")
    g = boot_persistent(guests, img)
    ready(g)
    g.shell("echo saved > /root/notes")
    assert g.poweroff() == 0
    fsck_clean(img)
    before = uml.sha256(img)
    g = boot_persistent(guests, img, ["persistence-read-only"])
    g.expect(r"read-only: changes stay in RAM")
    ready(g)
    assert "saved" in g.shell("cat /root/notes")
    g.shell("echo today > /root/notes && cat /root/notes")
    assert g.last_status == 0
    assert g.poweroff() == 0
    assert uml.sha256(img) == before, "persistence-read-only wrote to the image"
    g = boot_persistent(guests, img, ["nopersistence"])
    ready(g)
    g.shell("test ! -e /root/notes")
    assert g.last_status == 0
    assert g.poweroff() == 0
    assert uml.sha256(img) == before


def test_persistence_needing_fsck_is_refused(guests, tmp_path):
    img = persist_image(tmp_path, "/ union\n")
    run("debugfs", "-w", "-R", "ssv state 0", img)   # "not cleanly unmounted", no journal replay pending
    before = uml.sha256(img)
    g = boot_persistent(guests, img)
    g.expect(r"liveinit: warning: persistence /dev/ubdb \(ext4\) was not cleanly unmounted: run e2fsck on it; "
             r"continuing without persistence")
    ready(g)
    assert "/run/live/persistence" not in g.shell("cat /proc/mounts")
    assert g.poweroff() == 0
    assert uml.sha256(img) == before


def test_persistence_file_on_vfat(guests, tmp_path):
    inner = persist_image(tmp_path, "/ union\n", label="", name="inner.img")
    disk = str(tmp_path / "stick.img")
    run("truncate", "-s", "100M", disk)
    run("mkfs.vfat", "-n", "STICK", disk)
    run("mcopy", "-i", disk, inner, "::/persistence")
    g = boot_persistent(guests, disk)
    g.expect(r"Persistence on /dev/ubdb:/persistence \(1 entry\)")
    ready(g)
    g.shell("echo on a stick > /root/notes")
    assert g.poweroff() == 0
    run("mcopy", "-o", "-i", disk, "::/persistence", inner)
    fsck_clean(inner)
    assert "on a stick" in run("debugfs", "-R", "cat /rw/root/notes", inner).stdout


def test_persistence_qemu_virtio(tmp_path):
    """PC: the ISO as a CD, persistence on a virtio disk (ext4 is a module there, loaded on demand)."""
    img = persist_image(tmp_path, "/ union\n")
    pc = os.path.join(B, "pc")
    with qemu.Qemu(cdrom=ISO, kernel=os.path.join(pc, "vmlinuz"), initrd=os.path.join(pc, "initrd.img"),
                   append="console=ttyS0 persistence", nic=None, timeout=300,
                   extra=["-drive", "file=%s,format=raw,if=virtio" % img]) as q:
        q.expect(r"Persistence on /dev/vda \(1 entry\)")
        q.expect(uml.READY)
        q.shell("echo from qemu > /root/notes")
        assert q.last_status == 0
        assert q.poweroff() == 0
    fsck_clean(img)
    assert "from qemu" in run("debugfs", "-R", "cat /rw/root/notes", img).stdout


def test_toram_qemu_cd_progress():
    """PC: toram from a CD in qemu, the drive throttled to 16 MB/s so that the copy of the 45 MiB squashfs takes
    several seconds whatever the host's speed: the progress line shows, then the CD is released."""
    pc = os.path.join(B, "pc")
    cd = "file=%s,media=cdrom,if=ide,readonly=on,throttling.bps-read=%d" % (ISO, 16 << 20)
    with qemu.Qemu(kernel=os.path.join(pc, "vmlinuz"), initrd=os.path.join(pc, "initrd.img"),
                   append="console=ttyS0 toram", nic=None, timeout=300, extra=["-drive", cd]) as q:
        q.expect(r"Copying /live/filesystem.squashfs to RAM: +\d+% \d+ MB/s")
        q.expect(r"Copied /live/filesystem.squashfs to RAM: \d+ MiB in [\d.]+ s, \d+ MB/s")
        q.expect(uml.READY)
        mounts = q.shell("cat /proc/mounts")
        assert "/run/live/toram tmpfs" in mounts and "/run/live/medium" not in mounts
        assert q.poweroff() == 0


def test_persistence_never_on_the_medium(guests, tmp_path):
    """A persistence file on findiso's (read-only) partition and a medium labelled persistence: neither is used,
    each with one line, and neither image is written."""
    inner = persist_image(tmp_path, "/ union\n", label="", name="inner.img")
    disk = ext4_image(str(tmp_path / "disk.img"), 120, files={"isos/live.iso": ISO, "persistence": inner})
    before = uml.sha256(disk)
    g = guests([INITRD, "ubdb=" + disk, "findiso=/isos/live.iso", "persistence", "uml"])
    g.expect(r"liveinit: warning: persistence: /run/live/findiso/persistence is on the partition holding the "
             r"findiso ISO, which stays read-only; not used")
    ready(g)
    assert "/run/live/persistence" not in g.shell("cat /proc/mounts")
    assert g.poweroff() == 0
    assert uml.sha256(disk) == before

    labelled = str(tmp_path / "medium.iso")
    shutil.copyfile(ISO, labelled)
    run("xorriso", "-dev", labelled, "-volid", "persistence", "-commit")  # relabel a copy: not the base image
    g = guests([INITRD, "root=/dev/ubda", "ubda=" + labelled, "persistence", "uml"])
    g.expect(r"liveinit: warning: persistence /dev/ubda1?: it holds a live medium or is mounted already; not used")
    ready(g)
    assert g.output.count("liveinit: warning: persistence") == 1, g.output
    assert g.poweroff() == 0
