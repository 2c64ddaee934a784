"""The superblock prober (init/common/probe.c) against real images made by mkfs.*, mkswap, mksquashfs and
xorriso, with util-linux `blkid -p` on the same file as the independent oracle; then truncated, empty,
garbage and magic-corrupted files; then the ASan-built unit test mutating the real images.

Images are sparse files in a per-run temporary directory, removed afterwards."""
import os
import random
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "build" / "bin" / "liveinit-probe"
UNIT = ROOT / "build" / "tests" / "test_probe"
ISOHDPFX = Path("/usr/lib/ISOLINUX/isohdpfx.bin")
ISOLINUX_BIN = Path("/usr/lib/ISOLINUX/isolinux.bin")

# Where each format's superblock ends (what the prober must be able to read): a file cut shorter than this
# is unknown, a longer cut is still recognised with the same label and UUID.
ISO_NEED = 16 * 2048 + 2048  # xorriso writes the primary descriptor first, at sector 16
NEED = {"ext2": 1024 + 136, "ext3": 1024 + 136, "ext4": 1024 + 136, "xfs": 128, "squashfs": 96,
        "iso9660": ISO_NEED, "btrfs": 65536 + 0x12B + 256, "vfat": 512,
        "exfat": 512, "ntfs": 512}
CUTS = [0, 1, 95, 96, 127, 128, 511, 512, 1024, 1081, 1159, 1160, 2048, 4095, 4096, 8192, 32768,
        34815, 34816, 65536, 65600, 65834, 65835, 65536 + 1, 100000]

# Each format's magic: (offset, length); for swap the offset depends on the page size.
MAGIC = {"ext2": (1080, 2), "ext3": (1080, 2), "ext4": (1080, 2), "xfs": (0, 4), "squashfs": (0, 4),
         "iso9660": (32769, 5), "btrfs": (65536 + 0x40, 8), "vfat": (510, 2),
         "exfat": (3, 8), "ntfs": (3, 8)}


def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


def sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


def uuid_for(n):
    return f"{n:08x}-1234-4abc-8def-{n:012x}"


def make_tree(path, isolinux=False):
    (path / "live").mkdir(parents=True)
    (path / "live" / "hello.txt").write_text("liveinit probe test\n")
    if isolinux:
        (path / "isolinux").mkdir()
        shutil.copy(ISOLINUX_BIN, path / "isolinux" / "isolinux.bin")


# name -> (expected type, expected label, expected uuid or None when the tool picks one, builder)
def ext(kind, label, n, *extra):
    return (kind, label, uuid_for(n),
            lambda p: (sparse(p, 16 << 20), run(f"mkfs.{kind}", "-q", "-F", "-L", label, "-U", uuid_for(n),
                                                 *extra, p)))


def swap(label, n, page):
    return ("swap", label, uuid_for(n),
            lambda p: (sparse(p, 4 << 20), run("mkswap", "-p", page, "-L", label, "-U", uuid_for(n), p)))


def vfat(label, serial, size_mb, *extra):
    uuid = f"{serial[:4]}-{serial[4:]}".upper()
    args = ["-n", label] if label else []
    return ("vfat", label, uuid,
            lambda p: (sparse(p, size_mb << 20), run("mkfs.vfat", *args, "-i", serial, *extra, p)))


def squashfs(p):
    tree = p.parent / (p.name + ".tree")
    make_tree(tree)
    run("mksquashfs", tree, p, "-quiet", "-noappend", "-comp", "gzip")


def iso(label, *extra, isolinux=False):
    def build(p):
        tree = p.parent / (p.name + ".tree")
        make_tree(tree, isolinux=isolinux)
        run("xorriso", "-as", "mkisofs", "-quiet", "-V", label, *extra, "-o", p, tree)
    return ("iso9660", label, None, build)


HYBRID = ["-isohybrid-mbr", ISOHDPFX, "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
          "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table"]

IMAGES = {
    "ext2": ext("ext2", "ext2label", 2),
    "ext3": ext("ext3", "ext3 label", 3),
    "ext4": ext("ext4", "rootfs", 4),
    "ext4-4k-nojournal": ext("ext4", "sixteen_chars_ok", 5, "-b", "4096", "-O", "^has_journal"),
    "swap": swap("swaplabel", 6, "4096"),
    "swap-64k": swap("bigpages", 7, "65536"),
    "xfs": ("xfs", "xfslabel", uuid_for(8),
            lambda p: (sparse(p, 300 << 20), run("mkfs.xfs", "-q", "-L", "xfslabel", "-m", f"uuid={uuid_for(8)}", p))),
    "btrfs": ("btrfs", "btrfs label", uuid_for(9),
              lambda p: (sparse(p, 128 << 20), run("mkfs.btrfs", "-q", "-L", "btrfs label", "-U", uuid_for(9), p))),
    "vfat12": vfat("MY DISK", "1234abcd", 8),
    "vfat16": vfat("DATA16", "0badcafe", 64, "-F", "16"),
    "vfat32": vfat("EFI", "deadbeef", 64, "-F", "32", "-s", "1"),
    "vfat-nolabel": vfat("", "00c0ffee", 8),
    "squashfs": ("squashfs", "", "", squashfs),
    # labels of these two live outside the boot sector (not read): made without one; blkid's UUID is the oracle
    "exfat": ("exfat", "", None, lambda p: (sparse(p, 16 << 20), run("mkfs.exfat", p))),
    "ntfs": ("ntfs", "", None, lambda p: (sparse(p, 16 << 20), run("mkntfs", "-q", "-F", "-f", p))),
    "iso": iso("LIVEINIT"),
    "iso-joliet-rr": iso("Live Disk 2", "-J", "-R"),
    "iso-hybrid": iso("LIVE HYBRID", *HYBRID, isolinux=True),
}


@pytest.fixture(scope="module")
def tools():
    run("make", "-s", "-C", ROOT, "build/bin/liveinit-probe", "build/tests/test_probe")
    return PROBE


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix=f"liveinit-probe-{os.getpid()}-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def images(workdir):
    paths = {}
    for name, (_, _, _, build) in IMAGES.items():
        p = workdir / f"{name}.img"
        build(p)
        paths[name] = p
    return paths


def probe(*paths, expect_rc=0):
    """Run liveinit-probe; one (type, label, uuid) per path."""
    r = subprocess.run([str(PROBE), *map(str, paths)], capture_output=True, text=True)
    assert r.returncode == expect_rc, r.stderr
    rows = [tuple(line.split("\t")) for line in r.stdout.splitlines()]
    assert all(len(row) == 3 for row in rows), r.stdout
    return rows


def blkid(path):
    """blkid's low-level probe of one file as a dict; {} when it finds nothing (exit status 2)."""
    r = subprocess.run(["blkid", "-p", "-o", "export", str(path)], capture_output=True, text=True)
    assert r.returncode in (0, 2), r.stderr
    out = {}
    for line in r.stdout.splitlines():
        key, _, value = shlex.split(line)[0].partition("=")
        out[key] = value
    return out


def swap_page(name):
    return 65536 if name == "swap-64k" else 4096


@pytest.mark.parametrize("name", list(IMAGES))
def test_matches_blkid(tools, images, name):
    want_type, want_label, want_uuid, _ = IMAGES[name]
    oracle = blkid(images[name])
    (got,) = probe(images[name])
    assert got == (oracle.get("TYPE", ""), oracle.get("LABEL", ""), oracle.get("UUID", "")), oracle
    # and both agree with what the image was made with
    assert got[0] == want_type
    assert got[1] == want_label
    if want_uuid is not None:
        assert got[2] == want_uuid
    elif want_type == "iso9660":
        assert len(got[2]) == 22  # an ISO's UUID is its modification date, YYYY-MM-DD-HH-MM-SS-cc
    else:
        assert len(got[2]) in (9, 16)  # exFAT XXXX-XXXX, NTFS 16 hex digits


def test_hybrid_iso_really_has_an_mbr(images):
    """The hybrid image must start with an MBR ending in 0x55AA, or the test above proves nothing."""
    head = images["iso-hybrid"].read_bytes()[:512]
    assert head[510:512] == b"\x55\xaa"
    assert head[:432] == ISOHDPFX.read_bytes()[:432]  # isohdpfx.bin is the 432 bytes of boot code
    assert blkid(images["iso-hybrid"]).get("PTTYPE") == "dos"


def test_truncated_images(tools, images, workdir):
    cutdir = workdir / "cuts"
    cutdir.mkdir()
    cases = []
    for name, path in images.items():
        full = probe(path)[0]
        need = swap_page(name) if full[0] == "swap" else NEED[full[0]]
        with open(path, "rb") as f:
            head = f.read(max(CUTS))
        for cut in CUTS:
            p = cutdir / f"{name}.{cut}"
            p.write_bytes(head[:cut])
            cases.append((p, full if cut >= need else ("unknown", "", "")))
    got = probe(*(p for p, _ in cases))
    assert len(got) == len(cases)
    wrong = [(p.name, g, want) for (p, want), g in zip(cases, got) if g != want]
    assert wrong == []


def test_junk_files(tools, workdir):
    rnd = random.Random(20240601)
    files = {"empty": b"", "one-byte": b"\x00", "ff": b"\xff" * (1 << 20), "zeros": b"\x00" * (1 << 20),
             "garbage": rnd.randbytes(1 << 20), "garbage-small": rnd.randbytes(3000)}
    paths = []
    for name, data in files.items():
        p = workdir / f"junk-{name}"
        p.write_bytes(data)
        paths.append(p)
        assert "TYPE" not in blkid(p)  # the oracle agrees there is nothing there
    assert probe(*paths) == [("unknown", "", "")] * len(paths)


@pytest.mark.parametrize("name", list(IMAGES))
def test_corrupted_magic(tools, images, workdir, name):
    """The first MiB of each image is still recognised; with its magic overwritten it is unknown."""
    with open(images[name], "rb") as f:
        head = bytearray(f.read(1 << 20))
    full = probe(images[name])[0]
    p = workdir / f"{name}.corrupt"
    p.write_bytes(head)
    assert probe(p) == [full]
    off, length = (swap_page(name) - 10, 10) if full[0] == "swap" else MAGIC[full[0]]
    head[off:off + length] = bytes(b ^ 0x5A for b in head[off:off + length])
    p.write_bytes(head)
    assert probe(p) == [("unknown", "", "")]


def test_cli_errors(tools, images, workdir):
    r = subprocess.run([str(PROBE)], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr
    missing = workdir / "does-not-exist"
    r = subprocess.run([str(PROBE), str(images["ext4"]), str(missing), str(workdir)], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stdout.split("\t")[0] == "ext4" and r.stdout.count("\n") == 1
    assert f"unable to probe {missing}: No such file or directory" in r.stderr
    assert f"unable to probe {workdir}: Is a directory" in r.stderr


def test_cli_is_static(tools):
    assert "statically linked" in run("file", "-L", PROBE).stdout


def test_mutations_under_asan(tools, images):
    """The ASan/UBSan unit test mutates the first 128 KiB of every real image 2000 times."""
    env = dict(os.environ, PROBE_IMAGES=":".join(str(p) for p in images.values()))
    r = subprocess.run([str(UNIT)], env=env, capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "SKIPPED" not in out
    assert out.count("mutating 2000 times") == len(images), out[-4000:]
