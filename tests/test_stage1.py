"""Stage 1 boot tests in real UML guests (Debian's user-mode-linux kernel, our initrd and images)."""
import os
import shutil
import subprocess

import pytest

import uml

B = uml.BUILD
INITRD = "initrd=" + os.path.join(B, "initrd.img")
RESCUE = r"starting a rescue shell"


def ready_shell(g):
    g.expect(uml.READY)
    # The root's shell answers (the marker is computed by the shell, not echoed back as typed).
    assert "42" in g.shell("echo $((40+2))")


def test_iso_mode(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "live.iso"), "uml"])
    g.expect(r"stage 1 on uml \(given\)")
    ready_shell(g)
    assert "liveinit" in g.shell("cat /etc/os-release")
    mounts = g.shell("cat /proc/mounts")
    assert "overlay / overlay" in mounts
    assert "/run/live/medium iso9660 ro" in mounts
    assert "/run/live/rootfs squashfs ro" in mounts
    # The root is writable (tmpfs upper) although the medium is read-only.
    g.shell("echo hello > /root/written && cat /root/written")
    assert g.last_status == 0
    # The initramfs was emptied: stage 1's own files are gone from the old root (nothing left to see),
    # and /init is not in the new root.
    g.shell("test ! -e /init")
    assert g.last_status == 0
    assert g.poweroff() == 0


def test_scan_by_label_without_root(guests):
    """No root=: stage 1 finds the medium by its LIVEINIT label; the platform is detected."""
    g = guests([INITRD, "ubdbr=" + os.path.join(B, "live.iso"), "rootdelay=5"])
    g.expect(r"stage 1 on uml \(detected\)")
    ready_shell(g)
    assert "/dev/ubdb /run/live/medium iso9660" in g.shell("cat /proc/mounts")
    assert g.poweroff() == 0


def test_squashroot_mode(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "root.squashfs"), "squashroot", "uml"])
    g.expect(r"Mounted /dev/ubda \(squashfs\) read-only")
    ready_shell(g)
    mounts = g.shell("cat /proc/mounts")
    assert "/dev/ubda /run/live/rootfs squashfs ro" in mounts
    assert "overlay / overlay" in mounts
    assert g.poweroff() == 0


def test_cow_ext_root(guests, tmp_path):
    base = os.path.join(B, "root.img")
    before = uml.sha256(base)
    cow = str(tmp_path / "root.cow")
    g = guests([INITRD, "root=/dev/ubda", "ubda=%s,%s" % (cow, base), "uml"])
    g.expect(r"Mounted /dev/ubda \(ext4\) on / read-write")
    ready_shell(g)
    g.shell("echo cow-data > /root/cowtest && sync")
    assert g.last_status == 0
    assert g.poweroff() == 0
    assert uml.sha256(base) == before, "the base image was written"
    assert os.path.getsize(cow) > 0


def test_toram(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "live.iso"), "toram", "uml"])
    g.expect(r"Copied /live/filesystem.squashfs to RAM: \d+ MiB in [\d.]+ s, \d+ MB/s")
    ready_shell(g)
    mounts = g.shell("cat /proc/mounts")
    assert "/run/live/toram tmpfs" in mounts
    assert "/run/live/medium" not in mounts, "toram must release the medium"
    assert g.poweroff() == 0


def test_break_premount_gives_shell_then_continues(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "live.iso"), "break=premount", "uml"])
    g.expect(r"break=premount; " + RESCUE)
    # The initrd's busybox shell; /proc is there, the medium is not mounted yet.
    out = g.shell("cat /proc/mounts")
    assert "/run/live/medium" not in out
    g.sendline("exit")
    ready_shell(g)
    assert g.poweroff() == 0


def test_missing_root_device(guests):
    g = guests([INITRD, "root=/dev/ubdz", "rootdelay=1", "uml"])
    g.expect(r"liveinit: unable to open root device /dev/ubdz: No such file or directory")
    g.expect(RESCUE)
    assert "ok" in g.shell("echo ok")
    assert "Kernel panic" not in g.output


def test_bad_parameters_warn_and_boot(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "live.iso"), "uml",
                "rootdelay=soon", "break=nowhere", "live-media-path=relative"])
    g.expect(r"warning: rootdelay=soon: expected seconds")
    ready_shell(g)
    out = g.output
    assert "break=nowhere: expected premount, mount or switch" in out
    assert "live-media-path=relative: expected an absolute path" in out
    assert g.poweroff() == 0


def make_iso(tree, out):
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "LIVEINIT", "-R", "-o", out, tree],
                   check=True, capture_output=True)


@pytest.fixture
def iso_tree(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(os.path.join(B, "iso", "live"), tree / "live")
    return tree


def test_corrupt_squashfs_superblock(guests, iso_tree, tmp_path):
    sq = iso_tree / "live" / "filesystem.squashfs"
    with open(sq, "r+b") as f:
        f.write(b"\0" * 96)  # the superblock
    iso = str(tmp_path / "bad.iso")
    make_iso(str(iso_tree), iso)
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + iso, "uml"])
    g.expect(r"liveinit: unable to mount /dev/loop\d+ on /run/live/rootfs \(squashfs\): Invalid argument")
    g.expect(RESCUE)
    assert "ok" in g.shell("echo ok")
    assert "Kernel panic" not in g.output


def test_check_detects_flipped_byte(guests, iso_tree, tmp_path):
    sq = iso_tree / "live" / "filesystem.squashfs"
    size = os.path.getsize(sq)
    with open(sq, "r+b") as f:
        f.seek(size // 2)
        b = f.read(1)
        f.seek(size // 2)
        f.write(bytes([b[0] ^ 0x01]))
    iso = str(tmp_path / "flipped.iso")
    make_iso(str(iso_tree), iso)
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + iso, "check", "uml"])
    g.expect(r"Checking /live/filesystem.squashfs\.\.\. FAILED")
    g.expect(r"medium check: /run/live/medium/live/filesystem.squashfs is corrupt: SHA-256 [0-9a-f]{64}, "
             r"expected [0-9a-f]{64}")
    g.expect(RESCUE)
    assert "Kernel panic" not in g.output


def test_check_passes_on_good_medium(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "live.iso"), "check", "uml"])
    g.expect(r"Checking /live/filesystem.squashfs\.\.\. ok")
    ready_shell(g)
    assert g.poweroff() == 0


def test_init_missing_in_root(guests):
    g = guests([INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "live.iso"), "init=/sbin/nonexistent", "uml"])
    g.expect(r"liveinit: unable to find init /sbin/nonexistent in the new root: No such file or directory")
    g.expect(RESCUE)
    assert "Kernel panic" not in g.output
