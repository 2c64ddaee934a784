"""Issue 18: every filesystem stage 2 lists must mount, on every platform, in real kernels.

One boot per platform (the Xen domU's matrix rides on tests/test_xen.py's boot): GPT partitions made on the host
by mkfs.*/mksquashfs/xorriso (tests/fsmatrix.py), `mount /mnt/NAME` as the guest's /etc/fstab says, a file
written and read back on the read-write ones, umount; after poweroff the host's fsck -n is clean and the file is
there.  A filesystem the platform's kernel has no driver for must be an fstab comment saying so.
Also: /proc/sys/kernel/modprobe is our modprobe, which resolves crypto-crc32c from the root's module tree."""
import os
import re

import pytest

import fsmatrix
import qemu
import uml
from qemu import Qemu

BUILD = uml.BUILD
ISO = os.path.join(BUILD, "live.iso")
LIVE = ["initrd=" + os.path.join(BUILD, "initrd.img"), "root=/dev/ubda", "ubdar=" + ISO, "uml"]
PC_MODDIR = os.path.join(BUILD, "pc", "modules")
UML_MODDIR = "/usr/lib/uml/modules"

# What the kernels we boot lack (checked against their module trees below, so a kernel change shows up here):
# Debian's UML kernel has no exFAT and no NTFS; Debian 12's amd64 kernel has neither NTFS driver (ntfs, ntfs3).
UML_NO_DRIVER = {"exfat", "ntfs"}
PC_NO_DRIVER = {"ntfs"}


@pytest.fixture(scope="module", autouse=True)
def built():
    for f in ("initrd.img", "live.iso", os.path.join("pc", "initrd.img")):
        assert os.path.exists(os.path.join(BUILD, f)), "build/%s missing: run make first" % f


def kernel_has(moddir, module_path):
    """Is kernel/fs/... a module or built in, in this module directory?"""
    for meta in ("modules.dep", "modules.builtin"):
        with open(os.path.join(moddir, meta)) as f:
            if any(line.split(":")[0].strip() == module_path for line in f):
                return True
    return False


def test_expected_missing_drivers_match_the_kernels():
    uml_dir = os.path.join(UML_MODDIR, sorted(os.listdir(UML_MODDIR))[-1])
    for moddir, missing in ((uml_dir, UML_NO_DRIVER), (PC_MODDIR, PC_NO_DRIVER)):
        have = {fs: kernel_has(moddir, path) for fs, path in
                (("exfat", "kernel/fs/exfat/exfat.ko"), ("ntfs", "kernel/fs/ntfs/ntfs.ko"),
                 ("ntfs3", "kernel/fs/ntfs3/ntfs3.ko"), ("xfs", "kernel/fs/xfs/xfs.ko"),
                 ("btrfs", "kernel/fs/btrfs/btrfs.ko"), ("vfat", "kernel/fs/fat/vfat.ko"))}
        assert {fs for fs in ("exfat", "xfs", "btrfs", "vfat") if not have[fs]} | \
            ({"ntfs"} if not (have["ntfs"] or have["ntfs3"]) else set()) == missing, (moddir, have)


def run_matrix(shell, disks, no_driver):
    results = {}
    for d in disks:
        results.update(fsmatrix.guest_matrix(shell, d, no_driver))
    return results


def check_host(disks, workdir):
    problems = []
    for d in disks:
        problems += d.host_check(workdir)
    return problems


def test_uml_matrix(guests, tmp_path):
    disk = fsmatrix.MatrixDisk(str(tmp_path / "matrix.img"), fsmatrix.ALL, str(tmp_path), tag="uml")
    g = guests(LIVE + ["ubdb=" + disk.path], mem="256M", timeout=120)
    g.expect(uml.READY)
    results = run_matrix(g.shell, [disk], UML_NO_DRIVER)
    assert g.poweroff(timeout=120) == 0
    assert results == {fs: "ok" for fs in fsmatrix.ALL}, results
    assert check_host([disk], str(tmp_path)) == []


# qemu PC: a virtio disk, an AHCI disk and a USB stick (usb-storage on xHCI), the filesystems spread over them.
PC_GROUPS = {"virtio": ["ext2", "ext3", "ext4", "xfs"], "ahci": ["btrfs", "vfat", "exfat", "ntfs"],
             "usb": ["iso9660", "squashfs", "swap"]}


def pc_devices(paths):
    # -boot d: the BIOS would try the first hard disk (GPT, no boot code) before the CD otherwise.
    return ["-boot", "d", "-drive", "file=%s,format=raw,if=virtio" % paths["virtio"],
            "-device", "ahci,id=ahci0", "-drive", "file=%s,format=raw,if=none,id=sata0" % paths["ahci"],
            "-device", "ide-hd,drive=sata0,bus=ahci0.0",
            "-device", "qemu-xhci,id=xhci0", "-drive", "file=%s,format=raw,if=none,id=usb0" % paths["usb"],
            "-device", "usb-storage,bus=xhci0.0,drive=usb0"]


def test_qemu_pc_matrix(tmp_path):
    disks = [fsmatrix.MatrixDisk(str(tmp_path / ("%s.img" % bus)), fss, str(tmp_path), tag="pc")
             for bus, fss in PC_GROUPS.items()]
    with Qemu(cdrom=ISO, extra=pc_devices({bus: d.path for bus, d in zip(PC_GROUPS, disks)}), timeout=240) as q:
        q.boot_label("serial")
        q.expect(qemu.STAGE1)
        q.expect(uml.READY)
        # The helper the kernel runs for request_module(), and what it makes of ext4's crc32c request.
        assert q.shell("cat /proc/sys/kernel/modprobe").strip() == "/sbin/modprobe"
        dry = q.shell("modprobe -n -v crypto-crc32c")
        assert re.search(r"^insmod /lib/modules/[^/]+/kernel/crypto/crc32c_generic\.ko$", dry, re.M), dry
        assert re.search(r"^insmod /lib/modules/[^/]+/kernel/arch/x86/crypto/crc32c-intel\.ko$", dry, re.M), dry
        # Which bus each disk came up on (the partition names say which disk is which).
        buses = q.shell("for p in /sys/class/block/*/uevent; do grep -q PARTNAME=lm- $p && "
                        "echo $(grep PARTNAME $p) $(readlink -f ${p%/uevent}); done")
        results = run_matrix(q.shell, disks, PC_NO_DRIVER)
        # ext4 asked the kernel's crypto API for crc32c; the kernel ran our modprobe for crypto-crc32c.
        lsmod = q.shell("lsmod")
        assert q.poweroff(timeout=180) == 0
    assert re.search(r"PARTNAME=lm-ext4 \S*/virtio", buses), buses
    assert re.search(r"PARTNAME=lm-btrfs \S*/ata\d+/", buses), buses
    assert re.search(r"PARTNAME=lm-swap \S*/usb\d+/", buses), buses
    assert results == {fs: "ok" for g in PC_GROUPS.values() for fs in g}, results
    assert re.search(r"^crc32c_(generic|intel)\s", lsmod, re.M), lsmod
    assert check_host(disks, str(tmp_path)) == []


def test_qemu_pc_ext4_root_disk():
    """Stage 1 on a PC mounting an ext4 root= disk: the PC initrd carries ext4 and, through its softdep, crc32c
    (ext4 asks the crypto API for it at mount; the initrd has no modprobe for the kernel to run)."""
    root_img = os.path.join(BUILD, "root.img")
    before = uml.sha256(root_img)
    with Qemu(kernel=os.path.join(BUILD, "pc", "vmlinuz"), initrd=os.path.join(BUILD, "pc", "initrd.img"),
              append="console=ttyS0 root=/dev/vda", timeout=240,
              extra=["-drive", "file=%s,format=raw,if=virtio,snapshot=on" % root_img]) as q:
        q.expect(qemu.STAGE1)
        q.expect(r"Mounted /dev/vda \(ext4\) on / read-write")
        q.expect(uml.READY)
        lsmod = q.shell("lsmod")
        dmesg = q.shell("dmesg | grep -i crc32c")
        assert q.poweroff(timeout=180) == 0
    assert re.search(r"^crc32c_generic\s", lsmod, re.M), lsmod
    assert re.search(r"^ext4\s", lsmod, re.M), lsmod
    assert "Cannot load crc32c" not in dmesg, dmesg
    assert uml.sha256(root_img) == before
