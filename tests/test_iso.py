"""The live ISO (iso/build.mk), its boot in qemu (TCG), the medium check, coldplug, and scripts/remaster.

Real boots: qemu-system-x86_64 with build/live.iso as a CD (BIOS -> isolinux -> Debian's amd64 kernel -> stage 1
-> live root), driven over the serial console; UML boots through tests/uml.py; UEFI boots in test_uefi.py (and
the remastered ISO's here).  Needs `make all` first.
"""
import glob
import os
import re
import shutil
import subprocess

import pytest

import qemu
import uml
from qemu import Qemu

TOP = uml.TOP
BUILD = uml.BUILD
ISO = os.path.join(BUILD, "live.iso")
SQUASHFS = os.path.join(BUILD, "root.squashfs")
REMASTER = os.path.join(TOP, "scripts", "remaster")


def make_var(name):
    return subprocess.run(["make", "-s", "--no-print-directory", "print-" + name], cwd=TOP, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module", autouse=True)
def built():
    for p in (ISO, SQUASHFS, os.path.join(BUILD, "initrd.img")):
        assert os.path.exists(p), "%s missing: run `make all` first" % p


def iso_ls(iso, path):
    out = subprocess.run(["xorriso", "-indev", iso, "-ls", path], capture_output=True, text=True)
    return [line.strip("'") for line in out.stdout.splitlines() if line.startswith("'")]


def iso_extract(iso, path, dest):
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", path, str(dest)], check=True,
                   capture_output=True)
    return str(dest)


def boot_to_ready(q, label="serial"):
    q.boot_label(label)
    q.expect(qemu.STAGE1)
    q.expect(uml.READY)


# ---- the image ----

def test_iso_layout_and_hybrid_boot_records(tmp_path):
    assert set(iso_ls(ISO, "/isolinux/")) >= {"isolinux.bin", "ldlinux.c32", "isolinux.cfg"}
    assert set(iso_ls(ISO, "/boot/")) >= {"vmlinuz", "initrd.img", "boot.cat"}
    assert set(iso_ls(ISO, "/uml/")) == {"linux", "initrd.img"}
    assert set(iso_ls(ISO, "/live/")) == {"filesystem.squashfs", "filesystem.squashfs.sha256"}

    info = subprocess.run(["xorriso", "-indev", ISO, "-pvd_info"], capture_output=True, text=True).stdout
    assert re.search(r"Volume Id\s*:\s*LIVEINIT\s*$", info, re.M), info
    boot = subprocess.run(["xorriso", "-indev", ISO, "-report_el_torito", "as_mkisofs"], capture_output=True,
                          text=True).stdout
    assert "-b '/isolinux/isolinux.bin'" in boot and "-boot-info-table" in boot, boot
    assert "-isohybrid-mbr" in boot, boot
    # The hybrid MBR: boot signature, a bootable partition from sector 0 over the ISO 9660 tree, so dd to a USB
    # stick boots by BIOS; the EFI system partition after it (test_uefi.py checks it and the GPT).
    with open(ISO, "rb") as f:
        mbr = f.read(512)
    assert mbr[510:512] == b"\x55\xaa"
    fdisk = subprocess.run(["sfdisk", "-d", ISO], capture_output=True, text=True).stdout
    assert re.search(r"1 : start=\s*0,.*type=0, bootable", fdisk), fdisk
    assert re.search(r"2 : start=.*type=ef$", fdisk, re.M), fdisk

    # The UML pieces are the ones we build and boot with.
    assert uml.sha256(iso_extract(ISO, "/uml/linux", tmp_path / "linux")) == uml.sha256(make_var("UML_LINUX"))
    assert uml.sha256(iso_extract(ISO, "/uml/initrd.img", tmp_path / "initrd")) == \
        uml.sha256(os.path.join(BUILD, "initrd.img"))
    assert uml.sha256(iso_extract(ISO, "/boot/initrd.img", tmp_path / "pcinitrd")) == \
        uml.sha256(os.path.join(BUILD, "pc", "initrd.img"))

    cfg = open(iso_extract(ISO, "/isolinux/isolinux.cfg", tmp_path / "cfg")).read()
    assert re.search(r"^SERIAL 0 115200", cfg, re.M)
    labels = re.findall(r"^LABEL (\S+)", cfg, re.M)
    assert {"serial", "check", "check-serial"} <= set(labels), labels


def test_squashfs_checksum_and_kernel_modules(tmp_path):
    live = iso_extract(ISO, "/live", tmp_path / "live")
    r = subprocess.run(["sha256sum", "-c", "filesystem.squashfs.sha256"], cwd=live, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # The root carries both kernels' modules with their aliases (for coldplug), debug info stripped.
    for kver in (make_var("UML_KVER"), make_var("PC_KVER")):
        assert kver
        for f in ("modules.dep", "modules.alias"):
            assert qemu.squashfs_has(SQUASHFS, "lib/modules/%s/%s" % (kver, f)), (kver, f)
    assert qemu.squashfs_has(SQUASHFS, "sbin/liveinit-coldplug")
    ko = glob.glob(os.path.join(BUILD, "rootmods", "uml", "lib", "modules", "*", "kernel", "fs", "isofs",
                                "isofs.ko"))
    assert ko
    sections = subprocess.run(["readelf", "-S", ko[0]], capture_output=True, text=True, check=True).stdout
    assert ".debug_info" not in sections


def shell_scripts():
    """Every shell script we ship: scripts/* and the build helpers, recognised by their #! line."""
    paths = sorted(glob.glob(os.path.join(TOP, "scripts", "*")) + glob.glob(os.path.join(TOP, "initrd", "*")) +
                   glob.glob(os.path.join(TOP, "iso", "*")))
    out = []
    for p in paths:
        if os.path.isfile(p):
            with open(p, "rb") as f:
                first = f.readline()
            if re.match(rb"#!.*\b(bash|sh)\b", first):
                out.append(p)
    return out


def test_shellcheck():
    scripts = shell_scripts()
    names = [os.path.relpath(p, TOP) for p in scripts]
    assert "scripts/remaster" in names and "initrd/mkinitrd" in names, names
    r = subprocess.run(["shellcheck"] + scripts, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-6000:]


# ---- qemu boots ----

def test_qemu_boot_serial_coldplug_poweroff(base_hashes):
    with Qemu(cdrom=ISO) as q:
        boot_to_ready(q)
        assert "console=ttyS0" in q.shell("cat /proc/cmdline")
        out = q.output
        assert "Mounted /live/filesystem.squashfs from /dev/sr" in out
        # Coldplug loaded the NIC's driver from the root's PC modules: nobody named e1000 anywhere.
        assert re.search(r"^e1000\s", q.shell("lsmod"), re.M)
        assert "eth0" in q.shell("ls /sys/class/net").split()
        assert q.shell("cat /proc/sys/kernel/osrelease").strip() == make_var("PC_KVER")
        status = q.poweroff(timeout=120)
        assert status == 0
    assert uml.sha256(ISO) == base_hashes["live.iso"]


def test_qemu_dhcp_address():
    if not qemu.squashfs_has(SQUASHFS, "sbin/dhcpc"):
        pytest.skip("the live root has no /sbin/dhcpc yet (DHCP client, issue 4, not merged)")
    with Qemu(cdrom=ISO) as q:
        boot_to_ready(q)
        out = ""
        for _ in range(30):
            out = q.shell("ip -4 addr show eth0; sleep 2")
            if "inet 10.0.2.15/24" in out:
                break
        assert "inet 10.0.2.15/24" in out, out
        assert q.poweroff(timeout=120) == 0


def test_qemu_hybrid_disk_boot():
    """The same image as a USB stick (what dd to one gives) by BIOS: MBR -> isolinux -> stage 1 finds it."""
    with Qemu(usb=ISO) as q:
        boot_to_ready(q)
        assert re.search(r"Mounted /live/filesystem.squashfs from /dev/sd", q.output)
        assert q.poweroff(timeout=120) == 0


def test_qemu_media_check_passes():
    with Qemu(cdrom=ISO) as q:
        boot_to_ready(q, "check-serial")
        assert re.search(r"Checking /live/filesystem.squashfs\.*\s*ok", q.output)
        assert q.poweroff(timeout=120) == 0


@pytest.fixture(scope="module")
def corrupt_iso(tmp_path_factory):
    """build/live.iso with one byte flipped in the middle of its squashfs; the .sha256 is the original's."""
    d = tmp_path_factory.mktemp("corrupt")
    sq = iso_extract(ISO, "/live/filesystem.squashfs", d / "filesystem.squashfs")
    os.chmod(sq, 0o644)
    size = os.path.getsize(sq)
    with open(sq, "r+b") as f:
        f.seek(size // 2)
        b = f.read(1)
        f.seek(size // 2)
        f.write(bytes([b[0] ^ 0xFF]))
    out = str(d / "corrupt.iso")
    subprocess.run(["xorriso", "-indev", ISO, "-outdev", out, "-boot_image", "any", "replay",
                    "-update", sq, "/live/filesystem.squashfs", "-commit"], check=True, capture_output=True)
    return out


def test_qemu_media_check_detects_flipped_byte(corrupt_iso):
    with Qemu(cdrom=corrupt_iso) as q:
        q.boot_label("check-serial")
        q.expect(qemu.STAGE1)
        m = q.expect(r"medium check: (\S+) is corrupt: SHA-256 ([0-9a-f]{64}), expected ([0-9a-f]{64})")
        assert m.group(1).endswith("/live/filesystem.squashfs")
        assert m.group(2) != m.group(3)
        q.expect(qemu.RESCUE)
        # The rescue shell works, and the root was never mounted or switched to.
        assert "RESCUE-OK" in q.shell("echo RESCUE-''OK")
        assert "Switching to the live root" not in q.output
        assert not re.search(uml.READY, q.output)


# ---- remastering ----

@pytest.fixture(scope="module")
def remastered(tmp_path_factory):
    d = tmp_path_factory.mktemp("remaster")
    add = d / "add"
    (add / "etc").mkdir(parents=True)
    (add / "etc" / "remaster-added").write_text("added-by-remaster %d\n" % os.getpid())
    out = str(d / "out.iso")
    before = uml.sha256(ISO)
    r = subprocess.run([REMASTER, ISO, out, "--add", str(add),
                        "--run", "echo run-by-remaster $(uname -s) > /etc/remaster-ran",
                        "--label", "LIVEREMASTER"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert uml.sha256(ISO) == before, "the input ISO was modified"
    return {"iso": out, "dir": d, "log": r.stdout, "pid": os.getpid()}


def test_remaster_output(remastered):
    log = remastered["log"]
    for n in range(1, 7):
        assert "[%d/6]" % n in log, log
    iso = remastered["iso"]
    info = subprocess.run(["xorriso", "-indev", iso, "-pvd_info"], capture_output=True, text=True).stdout
    assert re.search(r"Volume Id\s*:\s*LIVEREMASTER\s*$", info, re.M), info
    boot = lambda i: subprocess.run(["xorriso", "-indev", i, "-report_el_torito", "as_mkisofs"],  # noqa: E731
                                    capture_output=True, text=True).stdout
    # Both El Torito entries (isolinux, the EFI system partition), the hybrid MBR, the appended ESP and the GPT
    # are replayed: the same report but for the label, the date and the file name in the intervals.
    strip = lambda t, name: [l.replace("'%s'" % name, "'ISO'") for l in t.splitlines()  # noqa: E731,E741
                             if not l.startswith(("-V", "--modification-date"))]
    assert strip(boot(iso), iso) == strip(boot(ISO), ISO)
    assert "-e '--interval:appended_partition_2" in boot(iso) and "-isohybrid-gpt-basdat" in boot(iso)
    with open(iso, "rb") as f:
        f.seek(512)
        assert f.read(8) == b"EFI PART"
    live = iso_extract(iso, "/live", remastered["dir"] / "live")
    r = subprocess.run(["sha256sum", "-c", "filesystem.squashfs.sha256"], cwd=live, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    comp = lambda p: re.search(r"^Compression (\S+)", subprocess.run(  # noqa: E731
        ["unsquashfs", "-s", p], capture_output=True, text=True).stdout, re.M).group(1)
    assert comp(os.path.join(live, "filesystem.squashfs")) == comp(SQUASHFS)
    # No bind mount left behind, no work directory left behind.
    assert ".remaster." not in open("/proc/self/mounts").read()
    assert not glob.glob(str(remastered["dir"] / ".remaster.*"))


def test_remaster_boots_in_uml(remastered, guests):
    """UML from the pieces the ISO carries: /uml/linux and /uml/initrd.img."""
    d = remastered["dir"]
    kernel = iso_extract(remastered["iso"], "/uml/linux", d / "uml-linux")
    initrd = iso_extract(remastered["iso"], "/uml/initrd.img", d / "uml-initrd.img")
    os.chmod(kernel, 0o755)
    g = guests(["initrd=" + initrd, "root=/dev/ubda", "ubdar=" + remastered["iso"], "uml"], kernel=kernel)
    g.expect(uml.READY)
    assert "added-by-remaster %d" % remastered["pid"] in g.shell("cat /etc/remaster-added")
    assert "run-by-remaster Linux" in g.shell("cat /etc/remaster-ran")
    g.poweroff()


def test_remaster_boots_in_qemu(remastered):
    with Qemu(cdrom=remastered["iso"]) as q:
        boot_to_ready(q)
        assert "added-by-remaster %d" % remastered["pid"] in q.shell("cat /etc/remaster-added")
        assert "run-by-remaster Linux" in q.shell("cat /etc/remaster-ran")
        assert q.poweroff(timeout=120) == 0


def test_remaster_boots_in_ovmf(remastered):
    """The remastered ISO's UEFI path (the replayed EFI system partition) under OVMF, as a CD."""
    with Qemu(cdrom=remastered["iso"], firmware="ovmf", timeout=300) as q:
        q.grub_choose("serial")
        q.expect(qemu.STAGE1)
        q.expect(uml.READY)
        assert "efi-yes" in q.shell("test -d /sys/firmware/efi && echo efi-yes")
        assert "added-by-remaster %d" % remastered["pid"] in q.shell("cat /etc/remaster-added")
        assert q.poweroff(timeout=180) == 0


def test_remaster_refuses_what_it_does_not_understand(tmp_path):
    out = tmp_path / "out.iso"
    junk = tmp_path / "junk.iso"
    junk.write_bytes(os.urandom(4096))
    r = subprocess.run([REMASTER, str(junk), str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and "not an ISO 9660 image" in r.stderr, r.stderr

    tree = tmp_path / "tree"
    (tree / "docs").mkdir(parents=True)
    (tree / "docs" / "readme").write_text("no live system here\n")
    plain = tmp_path / "plain.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", str(plain), str(tree)], check=True,
                   capture_output=True)
    r = subprocess.run([REMASTER, str(plain), str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and "expected one /live/*.squashfs" in r.stderr, r.stderr
    assert not out.exists()

    r = subprocess.run([REMASTER, str(plain)], capture_output=True, text=True)
    assert r.returncode == 2 and "usage:" in r.stderr
    r = subprocess.run([REMASTER, ISO, ISO], capture_output=True, text=True)
    assert r.returncode == 1 and "must differ" in r.stderr


def test_remaster_failing_command_unbinds(tmp_path):
    out = tmp_path / "out.iso"
    before = uml.sha256(ISO)
    r = subprocess.run([REMASTER, ISO, str(out), "--run", "test -d /proc/self/fd && test -c /dev/null && test -d /sys/class && exit 7"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 1, r.stdout + r.stderr
    # exit 7 only when /proc, /dev and /sys were there
    assert "command failed (exit 7) in the root" in r.stderr, r.stderr
    assert "[4/6]" in r.stdout
    assert ".remaster." not in open("/proc/self/mounts").read()
    assert not glob.glob(str(tmp_path / ".remaster.*"))
    assert not out.exists()
    assert uml.sha256(ISO) == before


# ---- liveinit-coldplug as a command (the library has cmocka tests: tests/unit/test_coldplug.c) ----

def test_coldplug_cli_dry_run(tmp_path):
    tool = os.path.join(BUILD, "bin", "liveinit-coldplug")
    moddir = os.path.join(BUILD, "rootmods", "pc", "lib", "modules", make_var("PC_KVER"))
    dev = tmp_path / "sys" / "devices" / "pci0000:00" / "0000:00:03.0"
    dev.mkdir(parents=True)
    (dev / "modalias").write_text("pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00\n")
    (tmp_path / "sys" / "module").mkdir()
    r = subprocess.run([tool, "--dry-run", "--sysroot", str(tmp_path), "--moddir", moddir], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [moddir + "/kernel/drivers/net/ethernet/intel/e1000/e1000.ko"]
    assert "1 devices, 1 with a module, 1 modules loaded" in r.stderr

    r = subprocess.run([tool, "--sysroot", str(tmp_path), "--moddir", str(tmp_path / "none")], capture_output=True,
                       text=True)
    assert r.returncode == 1 and "unable to read %s/none/modules.dep" % tmp_path in r.stderr, r.stderr
    r = subprocess.run([tool, "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage:" in r.stderr
