"""initrd/mkinitrd against the real UML module tree: a missing required module fails the build, a missing
optional one is warned about once, at build time, and left out of the list stage 1 loads at every boot."""
import gzip
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
    d = tmp_path / "unpacked"
    d.mkdir()
    subprocess.run(["cpio", "--quiet", "-id", "--no-absolute-filenames"], cwd=d, check=True,
                   input=gzip.open(path).read())
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
