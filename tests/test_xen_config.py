"""scripts/xen-config: the xl configs it writes parse with Xen's own libxlutil (xlu_cfg_readfile,
xlu_disk_parse; build/tests/xlu-dump) and keep every value asked for; bad input gets one line and exit 1/2."""

import os
import shlex
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
XEN_CONFIG = os.path.join(REPO, "scripts", "xen-config")
XLU_DUMP = os.path.join(REPO, "build", "tests", "xlu-dump")


@pytest.fixture(scope="module")
def xlu_dump():
    subprocess.run(["make", "-s", "build/tests/xlu-dump"], cwd=REPO, check=True)
    return XLU_DUMP


@pytest.fixture
def files(tmp_path):
    """A kernel, an initrd, an ISO and two data disks (contents do not matter to the config)."""
    f = {}
    for name in ("vmlinuz", "initrd.img", "live.iso", "data1.img", "data2.img"):
        p = tmp_path / name
        p.write_bytes(b"\0" * 4096)
        f[name] = str(p)
    return f


def run(args, cwd=None):
    return subprocess.run([XEN_CONFIG] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def parse(xlu_dump, path):
    r = subprocess.run([xlu_dump, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0, f"libxlutil rejected {path}: {r.stderr}\n{open(path).read()}"
    return dict(line.split("=", 1) for line in r.stdout.splitlines())


def generate(tmp_path, xlu_dump, args):
    out = str(tmp_path / "guest.cfg")
    r = run(args + ["-o", out])
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    return parse(xlu_dump, out)


def test_iso_with_data_disks_and_every_option(tmp_path, xlu_dump, files):
    got = generate(tmp_path, xlu_dump, [
        "--iso", files["live.iso"], "--disk", files["data1.img"], "--disk", files["data2.img"],
        "--name", "live1", "--mem", "384", "--vcpus", "2", "--bridge", "br-test",
        "--kernel", files["vmlinuz"], "--initrd", files["initrd.img"], "--extra", "quiet hostname=x1"])
    assert got["name"] == "live1"
    assert got["type"] == "pv"
    assert got["kernel"] == files["vmlinuz"]
    assert got["ramdisk"] == files["initrd.img"]
    assert got["extra"].split() == ["xen", "root=/dev/xvda", "console=hvc0", "quiet", "hostname=x1"]
    assert got["memory"] == "384"
    assert got["vcpus"] == "2"
    expect = [("xvda", files["live.iso"], "ro"), ("xvdb", files["data1.img"], "rw"),
              ("xvdc", files["data2.img"], "rw")]
    for i, (vdev, target, access) in enumerate(expect):
        assert got[f"disk.{i}.vdev"] == vdev
        assert got[f"disk.{i}.target"] == target
        assert got[f"disk.{i}.format"] == "raw"
        assert got[f"disk.{i}.access"] == access
    assert "disk.3.vdev" not in got
    assert got["vif.0"] == "bridge=br-test"
    assert "vif.1" not in got
    assert got["on_poweroff"] == "destroy"
    assert got["on_reboot"] == "restart"


def test_defaults(tmp_path, xlu_dump, files):
    got = generate(tmp_path, xlu_dump, ["--iso", files["live.iso"], "--kernel", files["vmlinuz"],
                                        "--initrd", files["initrd.img"]])
    assert (got["name"], got["memory"], got["vcpus"], got["vif.0"]) == ("liveinit", "256", "1",
                                                                        "bridge=xenbr0")
    assert got["extra"] == "xen root=/dev/xvda console=hvc0"
    assert got["disk.0.access"] == "ro"
    assert "disk.1.vdev" not in got


def test_disk_as_medium_is_read_only_xvda(tmp_path, xlu_dump, files):
    got = generate(tmp_path, xlu_dump, ["--disk", files["data1.img"], "--disk", files["data2.img"],
                                        "--kernel", files["vmlinuz"], "--initrd", files["initrd.img"]])
    assert (got["disk.0.vdev"], got["disk.0.target"], got["disk.0.access"]) == \
        ("xvda", files["data1.img"], "ro")
    assert (got["disk.1.vdev"], got["disk.1.target"], got["disk.1.access"]) == \
        ("xvdb", files["data2.img"], "rw")


def test_block_device_target(tmp_path, xlu_dump, files):
    dev = next(("/dev/" + d for d in sorted(os.listdir("/sys/block"))
                if os.path.exists("/dev/" + d)), None)
    if dev is None:
        pytest.skip("no block device on this host")
    got = generate(tmp_path, xlu_dump, ["--disk", dev, "--kernel", files["vmlinuz"],
                                        "--initrd", files["initrd.img"]])
    assert got["disk.0.target"] == dev


def test_relative_paths_become_absolute(tmp_path, xlu_dump, files):
    out = tmp_path / "rel.cfg"
    r = run(["--iso", "live.iso", "--disk", "data1.img", "--kernel", "vmlinuz", "--initrd", "initrd.img",
             "-o", "rel.cfg"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = parse(xlu_dump, str(out))
    assert got["kernel"] == files["vmlinuz"]
    assert got["disk.0.target"] == files["live.iso"]
    assert got["disk.1.target"] == files["data1.img"]


def test_stdout_equals_file(tmp_path, files):
    args = ["--iso", files["live.iso"], "--kernel", files["vmlinuz"], "--initrd", files["initrd.img"]]
    out = tmp_path / "a.cfg"
    assert run(args + ["-o", str(out)]).returncode == 0
    r = run(args)
    assert r.returncode == 0
    assert r.stdout == out.read_text()
    assert not (tmp_path / "a.cfg.new").exists()


def make_iso(path, tree):
    """An ISO 9660 image holding TREE ({path: bytes})."""
    root = path + ".tree"
    for name, data in tree.items():
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "LIVEINIT", "-R", "-o", path, root],
                   check=True, stderr=subprocess.DEVNULL)
    return path


def test_kernel_and_initrd_come_out_of_the_iso(tmp_path, xlu_dump):
    kernel, initrd = os.urandom(5000), os.urandom(3000)
    iso = make_iso(str(tmp_path / "live.iso"), {"boot/vmlinuz": kernel, "boot/initrd.img": initrd})
    (tmp_path / "cfg").mkdir()
    got = generate(tmp_path / "cfg", xlu_dump, ["--iso", iso, "--name", "live7"])
    assert got["kernel"] == str(tmp_path / "cfg" / "live7-vmlinuz")
    assert got["ramdisk"] == str(tmp_path / "cfg" / "live7-initrd.img")
    assert (tmp_path / "cfg" / "live7-vmlinuz").read_bytes() == kernel
    assert (tmp_path / "cfg" / "live7-initrd.img").read_bytes() == initrd
    assert not list((tmp_path / "cfg").glob("*.new"))


def test_kernel_from_build_when_the_iso_has_none(tmp_path, files):
    iso = make_iso(str(tmp_path / "bare.iso"), {"live/filesystem.squashfs": b"x"})
    r = run(["--iso", iso, "-o", str(tmp_path / "g.cfg")])
    pc = os.path.join(REPO, "build", "pc")
    if os.path.exists(os.path.join(pc, "vmlinuz")) and os.path.exists(os.path.join(pc, "initrd.img")):
        assert r.returncode == 0, r.stderr
        text = (tmp_path / "g.cfg").read_text()
        assert f'kernel = "{pc}/vmlinuz"' in text and f'ramdisk = "{pc}/initrd.img"' in text
    else:
        assert r.returncode == 1
        assert "build/pc/vmlinuz: no such file" in r.stderr
    assert not list(tmp_path.glob("liveinit-*"))


@pytest.mark.parametrize("args,code,words", [
    ([], 2, "--iso PATH or --disk DEV"),
    (["--iso"], 2, "--iso needs a value"),
    (["--bogus", "x"], 2, "unknown argument: --bogus"),
    (["ISO", "--mem", "12x"], 2, "--mem"),
    (["ISO", "--mem", "0"], 2, "--mem"),
    (["ISO", "--mem", "8"], 2, "too little"),
    (["ISO", "--vcpus", "-1"], 2, "--vcpus"),
    (["ISO", "--name", "a b"], 2, "--name"),
    (["ISO", "--bridge", "br;rm"], 2, "--bridge"),
    (["ISO", "--extra", 'a"b'], 2, "--extra"),
    (["ISO", "--extra", "a'b"], 2, "--extra"),
    (["--iso", "/nonexistent/live.iso"], 1, "/nonexistent/live.iso: no such file"),
    (["--disk", "/nonexistent/disk"], 1, "/nonexistent/disk: no such file"),
    (["--disk", "/dev/null"], 1, "/dev/null: neither a regular file nor a block device"),
    (["ISO", "--kernel", "/nonexistent/vmlinuz"], 1, "/nonexistent/vmlinuz: no such file"),
])
def test_bad_input_one_line(files, args, code, words):
    base = ["--initrd", files["initrd.img"]]
    if "--kernel" not in args:
        base += ["--kernel", files["vmlinuz"]]
    args = [a for x in args for a in (["--iso", files["live.iso"]] if x == "ISO" else [x])]
    r = run(base + args)
    assert r.returncode == code, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("xen-config: ") and words in lines[0]


def test_failed_write_leaves_no_file(tmp_path, files):
    r = run(["--iso", files["live.iso"], "--kernel", files["vmlinuz"], "--initrd", files["initrd.img"],
             "-o", str(tmp_path / "missing-dir" / "g.cfg")])
    assert r.returncode != 0
    assert not (tmp_path / "missing-dir").exists()


def test_xlu_dump_rejects_broken_config(tmp_path, xlu_dump):
    """The parser check can fail: a config xl would reject is reported as such."""
    bad = tmp_path / "bad.cfg"
    bad.write_text('name = "x\n')
    r = subprocess.run([xlu_dump, str(bad)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1
    bad.write_text("disk = [ 'vdev=xvda, access=sideways, target=/x' ]\n")
    r = subprocess.run([xlu_dump, str(bad)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1


def test_shellcheck():
    scripts = [XEN_CONFIG, os.path.join(REPO, "tests", "xen", "build-harness")]
    sh = [os.path.join(REPO, "tests", "xen", "dom0-init")]
    subprocess.run(["shellcheck"] + scripts, check=True)
    subprocess.run(["shellcheck", "-s", "sh"] + sh, check=True)


def test_pc_initrd_carries_xen_frontends():
    """Debian builds blkfront/netfront as modules: without them in the PC initrd xvda never appears."""
    initrd = os.path.join(REPO, "build", "pc", "initrd.img")
    listing = subprocess.run("%s %s | cpio -it --quiet" % (os.path.join(REPO, "initrd", "initrd-cat"),
                                                           shlex.quote(initrd)), shell=True, check=True,
                             capture_output=True, text=True).stdout.split()
    for mod in ("xen-blkfront.ko", "xen-netfront.ko"):
        assert any(p.endswith("/" + mod) for p in listing), "%s missing from %s" % (mod, initrd)
