"""initrd/mkinitrd against the real UML module tree: a missing required module fails the build, a missing
optional one is warned about once, at build time, and left out of the list stage 1 loads at every boot."""
import os
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(TOP, "build", "bin")
MKINITRD = os.path.join(TOP, "initrd", "mkinitrd")


def make_var(name):
    return subprocess.run(["make", "-s", "--no-print-directory", "print-" + name], cwd=TOP,
                          capture_output=True, text=True, check=True).stdout.strip()


KMODDIR = make_var("KMODDIR")


def mkinitrd(out, *mods):
    return subprocess.run([MKINITRD, "--out", str(out), "--init", os.path.join(BIN, "init"),
                           "--busybox", "/bin/busybox", "--moddep", os.path.join(BIN, "liveinit-moddep"),
                           "--kmoddir", KMODDIR] + list(mods), capture_output=True, text=True, timeout=300)


def cpio_members(path, tmp_path):
    """{name: bytes} of the initrd (cpio -i into a directory, then read it back)."""
    d = tmp_path / ("unpacked-" + os.path.basename(str(path)))
    d.mkdir()
    plain = subprocess.run([os.path.join(TOP, "initrd", "initrd-cat"), str(path)], capture_output=True,
                           check=True).stdout
    subprocess.run(["cpio", "--quiet", "-id", "--no-absolute-filenames"], cwd=d, check=True, input=plain)
    files = {}
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files[os.path.relpath(p, d)] = open(p, "rb").read()
    return files


def test_misspelled_required_module_fails_the_build(tmp_path):
    out = tmp_path / "initrd.img"
    r = mkinitrd(out, "loop", "squashfz")
    assert r.returncode != 0, r.stdout + r.stderr
    assert "module squashfz: not in" in r.stderr, r.stderr
    assert not out.exists(), "an initrd was written without a required module"


def test_missing_optional_module_warned_at_build_not_loaded(tmp_path):
    out = tmp_path / "initrd.img"
    r = mkinitrd(out, "loop", "?no_such_module_here")
    assert r.returncode == 0, r.stderr
    assert "warning: optional module no_such_module_here is not in" in r.stderr, r.stderr
    files = cpio_members(out, tmp_path)
    (load,) = [v for k, v in files.items() if k.endswith("/liveinit.load")]
    assert load.decode().split() == ["loop"]
    assert any(k.endswith("/loop.ko") for k in files), sorted(files)


@pytest.mark.parametrize("comp", ["xz", "zstd"])
def test_compressions_hold_the_same_archive(tmp_path, comp):
    """--compress xz/zstd packs the same files as gzip (initrd/initrd-cat reads each back), and the xz
    one is what the kernel's decoder accepts: CRC32 checks (xz's default CRC64 makes the kernel refuse it) and a
    dictionary no larger than 8 MiB (the kernel allocates all of it while unpacking)."""
    ref, out = tmp_path / "gzip.img", tmp_path / ("%s.img" % comp)
    assert mkinitrd(ref, "loop", "squashfs").returncode == 0
    r = mkinitrd(out, "--compress", comp, "loop", "squashfs")
    assert r.returncode == 0, r.stderr
    assert "(%s)" % comp in r.stdout, r.stdout
    files = cpio_members(out, tmp_path)
    assert files == cpio_members(ref, tmp_path)
    assert any(k.endswith("/squashfs.ko") for k in files), sorted(files)
    magic = {"xz": b"\xfd7zXZ\x00", "zstd": b"\x28\xb5\x2f\xfd"}[comp]
    assert out.read_bytes().startswith(magic)
    if comp == "xz":
        info = subprocess.run(["xz", "--robot", "--list", "-vv", str(out)], capture_output=True, text=True,
                              check=True).stdout
        streams = [line.split("\t") for line in info.splitlines() if line.startswith("stream\t")]
        assert streams and all(s[8] == "CRC32" for s in streams), info
        dicts = [line for line in info.splitlines() if line.startswith("block\t")]
        assert dicts and all(line.endswith(("dict=8MiB", "dict=4MiB", "dict=2MiB", "dict=1MiB")) for line in dicts), info


def test_unknown_compression_refused(tmp_path):
    r = mkinitrd(tmp_path / "x.img", "--compress", "lzma", "loop")
    assert r.returncode != 0 and "--compress lzma: not gzip, xz or zstd" in r.stderr, r.stderr
