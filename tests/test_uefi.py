"""UEFI boot of the live ISO (iso/build.mk, iso/grub.cfg): the EFI system partition, its El Torito entry and the
hybrid MBR/GPT layout, and real boots under qemu (TCG) with Debian's OVMF: the ISO as a CD with Secure Boot
enforced (shim -> Debian's signed GRUB -> Debian's signed kernel, locked down, signed modules only), as a USB
stick without Secure Boot, and refused when the kernel is not signed.  BIOS from a USB stick is in test_iso.py
(test_qemu_hybrid_disk_boot), the remastered ISO under OVMF in test_iso.py (test_remaster_boots_in_ovmf).
The USB boot has a second disk that looks like another Debian medium (/.disk/info, its own menu): our menu must
still be the one shown.  Needs `make all` first.
"""
import os
import re
import struct
import subprocess
import uuid

import pytest

import qemu
import uml
from qemu import Qemu

TOP = uml.TOP
BUILD = uml.BUILD
ISO = os.path.join(BUILD, "live.iso")
EFI_SYSTEM = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
BASIC_DATA = "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"


def make_var(name):
    return subprocess.run(["make", "-s", "--no-print-directory", "print-" + name], cwd=TOP, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module", autouse=True)
def built():
    assert os.path.exists(ISO), "%s missing: run `make all` first" % ISO


def iso_extract(iso, path, dest):
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", path, str(dest)], check=True,
                   capture_output=True)
    return str(dest)


def gpt_partitions(path):
    """[(number, type GUID, first LBA, last LBA)] from the GPT at LBA 1 (512-byte sectors)."""
    with open(path, "rb") as f:
        f.seek(512)
        header = f.read(92)
        assert header[:8] == b"EFI PART", "no GPT header at LBA 1"
        table, count, size = struct.unpack("<QII", header[72:88])
        f.seek(table * 512)
        out = []
        for n in range(1, count + 1):
            entry = f.read(size)
            if entry[:16] != bytes(16):
                first, last = struct.unpack("<QQ", entry[32:48])
                out.append((n, str(uuid.UUID(bytes_le=entry[:16])), first, last))
        return out


def mbr_partitions(path):
    """[(number, type byte, bootable, first LBA, sectors)] of the MBR's used entries."""
    with open(path, "rb") as f:
        mbr = f.read(512)
    assert mbr[510:512] == b"\x55\xaa"
    out = []
    for n in range(4):
        e = mbr[446 + 16 * n:446 + 16 * (n + 1)]
        start, sectors = struct.unpack("<II", e[8:16])
        if sectors:
            out.append((n + 1, e[4], e[0] == 0x80, start, sectors))
    return out


def strip_pe_signature(src, dst):
    """Write src (a signed PE/EFI image: Debian's vmlinuz) to dst without its Authenticode signature: the
    certificate table (data directory 4, at the end of the file) emptied and cut off.  Returns the table's size."""
    data = bytearray(open(src, "rb").read())
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe:pe + 4] == b"PE\0\0"
    opt = pe + 24
    assert struct.unpack_from("<H", data, opt)[0] == 0x20B, "not a PE32+ image"
    secdir = opt + 112 + 4 * 8
    offset, size = struct.unpack_from("<II", data, secdir)
    if size:
        assert offset + size == len(data), "the certificate table is not at the end"
        struct.pack_into("<II", data, secdir, 0, 0)
        del data[offset:]
    open(dst, "wb").write(data)
    return size


# ---- the image ----

def test_efi_boot_records_and_partitions(tmp_path):
    boot = subprocess.run(["xorriso", "-indev", ISO, "-report_el_torito", "as_mkisofs"], capture_output=True,
                          text=True).stdout
    # Two El Torito entries: isolinux (BIOS), then the EFI system partition image (UEFI, from the appended
    # partition 2).
    assert "-b '/isolinux/isolinux.bin'" in boot, boot
    assert re.search(r"-eltorito-alt-boot\n-e '--interval:appended_partition_2", boot), boot
    assert "-isohybrid-gpt-basdat" in boot, boot

    # MBR for BIOS from a USB stick (isohybrid: partition 1 the ISO, bootable) and the ESP as MBR type 0xef;
    # the GPT beside it lists both (xorriso marks them basic data there, as in Debian's images).
    mbr = mbr_partitions(ISO)
    assert mbr[0][1:4] == (0x00, True, 0), mbr
    esp_mbr = [p for p in mbr if p[1] == 0xEF]
    assert len(esp_mbr) == 1, mbr
    _, _, _, esp_start, esp_sectors = esp_mbr[0]
    gpt = gpt_partitions(ISO)
    assert [(p[0], p[1]) for p in gpt] == [(1, BASIC_DATA), (2, BASIC_DATA)], gpt
    assert gpt[1][2] == esp_start and gpt[1][3] - gpt[1][2] + 1 >= esp_sectors - 1, (gpt, mbr)

    # The ESP: a FAT file system with the removable-media path; its files are Debian's signed shim, GRUB
    # and MokManager, byte for byte.
    img = "%s@@%d" % (ISO, esp_start * 512)
    listing = subprocess.run(["mdir", "-b", "-i", img, "::/EFI/BOOT"], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    names = sorted(os.path.basename(line).lower() for line in listing.stdout.split())
    assert names == ["bootx64.efi", "grubx64.efi", "mmx64.efi"], listing.stdout
    for name, var in (("BOOTX64.EFI", "EFI_SHIM"), ("grubx64.efi", "EFI_GRUB"), ("mmx64.efi", "EFI_MM")):
        out = tmp_path / name
        subprocess.run(["mcopy", "-n", "-i", img, "::/EFI/BOOT/" + name, str(out)], check=True, capture_output=True)
        assert uml.sha256(str(out)) == uml.sha256(make_var(var)), name

    # Debian's signed GRUB reads the ESP's /boot/grub/grub.cfg first: it finds this medium by the identifier
    # file the ISO carries and reads the menu from it.  (/.disk/info is GRUB's fallback when that file is gone.)
    subprocess.run(["mcopy", "-n", "-i", img, "::/boot/grub/grub.cfg", str(tmp_path / "esp.cfg")], check=True,
                   capture_output=True)
    esp_cfg = open(tmp_path / "esp.cfg").read()
    ident = re.search(r"^search --no-floppy --set=root --file /\.disk/id/(\S+)$", esp_cfg, re.M)
    assert ident and re.search(r"^source \$prefix/grub.cfg$", esp_cfg, re.M), esp_cfg
    listing = subprocess.run(["xorriso", "-indev", ISO, "-ls", "/.disk/id/"], capture_output=True, text=True)
    assert "'%s'" % ident.group(1) in listing.stdout.split(), listing.stdout
    assert open(iso_extract(ISO, "/.disk/info", tmp_path / "info")).read().strip()
    # The kernel on the ISO is the signed one: it carries an Authenticode certificate table.
    kernel = iso_extract(ISO, "/boot/vmlinuz", tmp_path / "vmlinuz")
    assert strip_pe_signature(kernel, tmp_path / "unsigned") > 0


def isolinux_entries(text):
    """[(label, kernel parameters without initrd=)] in isolinux.cfg's order."""
    out = []
    for label, append in re.findall(r"^LABEL (\S+)\n\s*KERNEL /boot/vmlinuz\n\s*APPEND ([^\n]*)", text, re.M):
        out.append((label, " ".join(w for w in append.split() if not w.startswith("initrd="))))
    return out


def grub_entries(text):
    """[(id, kernel parameters)] in grub.cfg's order; each entry loads /boot/vmlinuz and /boot/initrd.img."""
    out = []
    for ident, body in re.findall(r'^menuentry "[^"]*" --id (\S+) \{\n(.*?)^\}', text, re.M | re.S):
        linux = re.search(r"^\s*linux /boot/vmlinuz ?(.*)$", body, re.M)
        assert linux and re.search(r"^\s*initrd /boot/initrd.img$", body, re.M), body
        out.append((ident, linux.group(1).strip()))
    return out


def test_grub_menu_matches_isolinux(tmp_path):
    grub = open(iso_extract(ISO, "/boot/grub/grub.cfg", tmp_path / "grub.cfg")).read()
    isolinux = open(iso_extract(ISO, "/isolinux/isolinux.cfg", tmp_path / "isolinux.cfg")).read()
    ours = isolinux_entries(isolinux)
    assert [e[0] for e in ours] == qemu.GRUB_ENTRIES, ours
    assert grub_entries(grub) == ours
    # The same 5 s default to live (isolinux counts tenths of a second).
    assert re.search(r"^TIMEOUT 50$", isolinux, re.M) and re.search(r"^DEFAULT live$", isolinux, re.M)
    assert re.search(r"^set timeout=5$", grub, re.M) and re.search(r"^set default=live$", grub, re.M)
    # Shown and read on the screen and the first serial port.
    assert re.search(r"^if serial --unit=0 --speed=115200; then$", grub, re.M)
    assert re.search(r"^\s+terminal_input console serial$", grub, re.M)
    assert re.search(r"^\s+terminal_output console serial$", grub, re.M)


# ---- boots ----

def efi_state(q):
    """(booted by UEFI?, Secure Boot on?, kernel lockdown mode) as the live system sees them."""
    efi = q.shell("test -d /sys/firmware/efi && echo efi-yes || echo efi-no")
    # efivarfs may not be mounted in the live root: the kernel's own log says it at boot.
    sb = "Secure boot enabled" in q.output
    lockdown = q.shell("cat /sys/kernel/security/lockdown 2>/dev/null || "
                       "{ mount -t securityfs securityfs /sys/kernel/security && "
                       "cat /sys/kernel/security/lockdown; }")
    mode = re.search(r"\[(\w+)\]", lockdown)
    return "efi-yes" in efi, sb, mode.group(1) if mode else None


def test_ovmf_secure_boot_cd_serial_dhcp_poweroff(base_hashes):
    """OVMF with Secure Boot enforced, the ISO as a CD: `serial` chosen in GRUB's menu over the serial line,
    the kernel locked down, the signed modules load (stage 1's and coldplug's e1000), DHCP, poweroff ends qemu."""
    with Qemu(cdrom=ISO, firmware="ovmf-secboot", timeout=300) as q:
        q.grub_choose("serial")
        q.expect(r"EFI stub: UEFI Secure Boot is enabled")
        q.expect(qemu.STAGE1)
        q.expect(uml.READY)
        out = q.output
        assert "Mounted /live/filesystem.squashfs from /dev/sr" in out
        assert "Key was rejected" not in out and "Loading of unsigned module" not in out
        cmdline = q.shell("cat /proc/cmdline")
        assert "console=tty0 console=ttyS0,115200" in cmdline and "initrd=" not in cmdline, cmdline
        efi, sb, lockdown = efi_state(q)
        assert efi and sb and lockdown == "integrity", (efi, sb, lockdown)
        assert re.search(r"^e1000\s", q.shell("lsmod"), re.M)
        addr = ""
        for _ in range(30):
            addr = q.shell("ip -4 addr show eth0; sleep 2")
            if "inet 10.0.2.15/24" in addr:
                break
        assert "inet 10.0.2.15/24" in addr, addr
        assert q.poweroff(timeout=180) == 0
    assert uml.sha256(ISO) == base_hashes["live.iso"]


@pytest.fixture(scope="module")
def decoy_disk(tmp_path_factory):
    """An ISO like a Debian medium: /.disk/info and a /boot/grub/grub.cfg with a menu of its own."""
    d = tmp_path_factory.mktemp("decoy")
    tree = d / "tree"
    (tree / ".disk").mkdir(parents=True)
    (tree / ".disk" / "info").write_text("Debian GNU/Linux (decoy)\n")
    (tree / "boot" / "grub").mkdir(parents=True)
    (tree / "boot" / "grub" / "grub.cfg").write_text(
        'set timeout=30\nmenuentry "decoy: another medium\'s menu" --id decoy {\n\techo decoy\n}\n')
    out = str(d / "decoy.iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "DECOY", "-R", "-o", out, str(tree)], check=True,
                   capture_output=True)
    return out


def test_ovmf_usb_stick(decoy_disk):
    """OVMF without Secure Boot, the ISO as a USB stick (xHCI usb-storage), beside a disk that looks like another
    Debian medium (/.disk/info): the stick's ESP boots, GRUB shows our menu, stage 1 finds the medium on the
    stick."""
    with Qemu(usb=ISO, disk=decoy_disk, firmware="ovmf", timeout=300) as q:
        q.grub_choose("serial")
        q.expect(qemu.STAGE1)
        q.expect(uml.READY)
        out = q.output
        assert re.search(r"Mounted /live/filesystem.squashfs from /dev/sd", out)
        assert "another medium's menu" not in out
        # The stick is the USB disk (the decoy is on the AHCI controller).
        dev = re.search(r"Mounted /live/filesystem.squashfs from /dev/(sd[a-z])", out).group(1)
        assert "usb" in q.shell("readlink -f /sys/block/%s" % dev)
        efi, sb, lockdown = efi_state(q)
        assert efi and not sb and lockdown == "none", (efi, sb, lockdown)
        assert q.poweroff(timeout=180) == 0


@pytest.fixture(scope="module")
def unsigned_kernel_iso(tmp_path_factory):
    """build/live.iso with /boot/vmlinuz's signature removed (everything else, shim and GRUB, still signed)."""
    d = tmp_path_factory.mktemp("unsigned")
    kernel = iso_extract(ISO, "/boot/vmlinuz", d / "vmlinuz")
    assert strip_pe_signature(kernel, d / "vmlinuz.unsigned") > 0
    out = str(d / "unsigned.iso")
    subprocess.run(["xorriso", "-indev", ISO, "-outdev", out, "-boot_image", "any", "replay",
                    "-update", str(d / "vmlinuz.unsigned"), "/boot/vmlinuz", "-commit"], check=True,
                   capture_output=True)
    return out


def test_ovmf_secure_boot_refuses_unsigned_kernel(unsigned_kernel_iso):
    """Secure Boot enforced: shim and GRUB start, GRUB refuses the kernel without a signature; nothing boots."""
    with Qemu(cdrom=unsigned_kernel_iso, firmware="ovmf-secboot", timeout=300) as q:
        q.grub_choose("serial")
        # Debian's GRUB asks shim to verify the kernel and stops on its answer.
        q.expect(r"bad shim signature|Secure Boot forbids loading|invalid signature")
        q.expect(r"you need to load the kernel first", 60)
        out = q.output
        assert "Linux version" not in out and not re.search(qemu.STAGE1, out)
