"""build/bin/liveinit-moddep against kmod's `modprobe --show-depends` on the real UML modules directory.

modprobe wants DIR/lib/modules/VERSION, so the test builds that layout from symlinks in a temporary
directory (-C /dev/null drops the host's /etc/modprobe.d).  Both follow modules.softdep (through
modules.alias: nfsd pre: crypto-md5), so kmod is the oracle for softdeps too; the live root's PC module tree
(iso/modtree) is checked the same way for the filesystems' crypto (ext4, btrfs, xfs -> crc32c ...).
"""
import os
import re
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODDEP = os.path.join(TOP, "build", "bin", "liveinit-moddep")


def make_var(name):
    return subprocess.run(["make", "-s", "--no-print-directory", "print-" + name], cwd=TOP,
                          capture_output=True, text=True, check=True).stdout.strip()


KVER = make_var("KVER")
KMODDIR = make_var("KMODDIR")


def dep_lines():
    """{path: [dependency paths]} straight from modules.dep."""
    deps = {}
    with open(os.path.join(KMODDIR, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
    return deps


def name_of(path):
    return os.path.basename(path).split(".")[0].replace("-", "_")


@pytest.fixture(scope="module")
def modtree(tmp_path_factory):
    """DIR with DIR/lib/modules/KVER holding symlinks to everything in KMODDIR."""
    base = tmp_path_factory.mktemp("modprobe-%d" % os.getpid())
    ver = base / "lib" / "modules" / KVER
    ver.mkdir(parents=True)
    for entry in os.listdir(KMODDIR):
        os.symlink(os.path.join(KMODDIR, entry), ver / entry)
    return str(base)


def modprobe(tree, name, kver=KVER):
    """(exit code, [module paths relative to the modules dir], [builtin names])."""
    r = subprocess.run(["modprobe", "-C", "/dev/null", "--show-depends", "-d", tree, "-S", kver, name],
                       capture_output=True, text=True)
    prefix = os.path.join(tree, "lib", "modules", kver) + "/"
    paths, builtin = [], []
    for line in r.stdout.splitlines():
        m = re.match(r"insmod (\S+)", line)
        if m:
            assert m.group(1).startswith(prefix), line
            paths.append(m.group(1)[len(prefix):])
        elif line.startswith("builtin "):
            builtin.append(line.split()[1])
    return r.returncode, paths, builtin


def ours(*names):
    r = subprocess.run([MODDEP, KMODDIR, *names], capture_output=True, text=True)
    return r.returncode, r.stdout.split(), r.stderr


def test_tools_present():
    assert os.path.exists(MODDEP), "build/bin/liveinit-moddep not built (make all)"
    assert subprocess.run(["modprobe", "--version"], capture_output=True).returncode == 0


def test_every_module_matches_modprobe(modtree):
    deps = dep_lines()
    assert len(deps) > 100
    for path in deps:
        name = name_of(path)
        rc, theirs, _ = modprobe(modtree, name)
        assert rc == 0, "modprobe %s failed" % name
        rc, mine, err = ours(name)
        assert rc == 0, err
        assert len(mine) == len(set(mine)), "%s: duplicates in %s" % (name, mine)
        assert set(mine) == set(theirs), "%s: liveinit-moddep %s, modprobe %s" % (name, mine, theirs)
        assert path in mine  # last, unless it has post: softdeps (act_mpls post: mpls_gso)
        # Dependencies first: every listed module's own modules.dep line comes before it.
        for i, p in enumerate(mine):
            for d in deps[p]:
                assert d in mine[:i], "%s: %s listed before its dependency %s" % (name, p, d)


def test_stage1_set_matches_modprobe(modtree):
    """The modules the initrd packs (several names in one call): the union of modprobe's answers, each once."""
    names = ["isofs", "squashfs", "overlay", "loop", "ext4", "udf", "sr_mod"]
    rc, mine, err = ours(*names)
    assert rc == 0, err
    want = []
    for n in names:
        r, paths, _ = modprobe(modtree, n)
        assert r == 0
        want += [p for p in paths if p not in want]
    assert len(mine) == len(set(mine))
    assert set(mine) == set(want)
    assert mine.index("kernel/drivers/cdrom/cdrom.ko") < mine.index("kernel/fs/isofs/isofs.ko")


def test_builtin_and_missing_like_modprobe(modtree):
    rc, paths, builtin = modprobe(modtree, "ext4")
    assert rc == 0 and paths == [] and builtin == ["ext4"]
    rc, mine, err = ours("ext4")
    assert rc == 0 and mine == [] and err == ""

    rc, _, _ = modprobe(modtree, "no_such_module_%d" % os.getpid())
    assert rc != 0
    rc, mine, err = ours("no_such_module")
    assert rc == 1
    assert "no_such_module" in err and KMODDIR in err
    # Optional names ('?') are not an error, and the others are still printed.
    rc, mine, err = ours("?no_such_module", "isofs")
    assert rc == 0 and mine == ["kernel/drivers/cdrom/cdrom.ko", "kernel/fs/isofs/isofs.ko"]


def test_cli_errors(tmp_path):
    r = subprocess.run([MODDEP, str(tmp_path), "isofs"], capture_output=True, text=True)
    assert r.returncode == 1
    assert str(tmp_path / "modules.dep") in r.stderr and "No such file or directory" in r.stderr
    r = subprocess.run([MODDEP, KMODDIR], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


# ---- the live root's PC module tree (iso/modtree): closed under dependencies and softdeps ----

PC_KVER = make_var("PC_KVER")
PC_FULL = os.path.join(TOP, make_var("PC_KMODDIR"))
PC_ROOT = os.path.join(TOP, "build", "rootmods", "pc")


def test_pc_root_tree_carries_what_filesystems_ask_for():
    """For every filesystem module the root carries, and the aliases the kernel requests at mount time: the
    root's tree resolves to exactly what the whole kernel's tree does (nothing needed was left out), and kmod's
    modprobe agrees on the root's tree."""
    root_dir = os.path.join(PC_ROOT, "lib", "modules", PC_KVER)
    assert os.path.exists(os.path.join(root_dir, "modules.softdep")), "make build/rootmods/pc.stamp first"
    with open(os.path.join(root_dir, "modules.dep")) as f:
        names = [name_of(line.split(":")[0]) for line in f if line.startswith("kernel/fs/")]
    names += ["fs-ext2", "fs-ext3", "fs-ext4", "fs-xfs", "fs-btrfs", "fs-vfat", "fs-exfat", "fs-iso9660",
              "fs-squashfs", "crypto-crc32c", "crypto-xxhash64", "crypto-blake2b-256", "crypto-sha256"]
    assert len(names) > 100
    with open(os.path.join(root_dir, "modules.softdep")) as f:
        lines = [line.split()[1] for line in f if line.startswith("softdep ")]
    several = {n for n in lines if lines.count(n) > 1}
    assert "btrfs" in several  # pre: blake2b-256, sha256, xxhash64, crypto-crc32c: one line each
    for name in names:
        full = subprocess.run([MODDEP, PC_FULL, name], capture_output=True, text=True)
        root = subprocess.run([MODDEP, root_dir, name], capture_output=True, text=True)
        assert full.returncode == 0 and root.returncode == 0, (name, full.stderr, root.stderr)
        assert root.stdout.split() == full.stdout.split(), name
        _, theirs, _ = modprobe(PC_ROOT, name, kver=PC_KVER)
        if several & {name_of(p) for p in root.stdout.split()}:
            # Debian 12's kmod (30) applies only the first softdep line of a module; we apply them all.
            assert set(theirs) <= set(root.stdout.split()), (name, root.stdout.split(), theirs)
        else:
            assert set(root.stdout.split()) == set(theirs), (name, root.stdout.split(), theirs)
    # The ones issue 18 was about, by name.
    ext4 = subprocess.run([MODDEP, root_dir, "ext4"], capture_output=True, text=True).stdout.split()
    assert "kernel/crypto/crc32c_generic.ko" in ext4 and "kernel/arch/x86/crypto/crc32c-intel.ko" in ext4
    btrfs = subprocess.run([MODDEP, root_dir, "btrfs"], capture_output=True, text=True).stdout.split()
    for m in ("crypto/xxhash_generic.ko", "crypto/blake2b_generic.ko", "crypto/crc32c_generic.ko"):
        assert "kernel/" + m in btrfs, btrfs
