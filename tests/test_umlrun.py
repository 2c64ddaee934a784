"""scripts/uml-run and the UML xstate workaround (init/host/uml_xstate_*.c).

Real UML boots of a busybox initrd, and a real traced child for the preload's register round trip.
"""
import os
import re
import shutil
import signal
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UML = os.environ.get("UML_LINUX", "/usr/bin/linux.uml")
UML_RUN = os.path.join(REPO, "scripts", "uml-run")
PRELOAD = os.path.join(REPO, "build", "lib", "uml-xstate-preload.so")
CHECK = os.path.join(REPO, "build", "bin", "uml-xstate-check")
ROUNDTRIP = os.path.join(REPO, "build", "tests", "host", "uml-xstate-roundtrip")
MARKER = "LIVEINIT-UMLRUN-INIT-REACHED"
SHORT = 832  # x87/SSE legacy area + XSAVE header + AVX: shorter than any AVX-512 or AMX host's area


@pytest.fixture(scope="module", autouse=True)
def helpers():
    subprocess.run(["make", "-s", "-C", REPO, PRELOAD, CHECK, ROUNDTRIP], check=True, timeout=300)


@pytest.fixture(scope="module")
def initrd(tmp_path_factory):
    """gzip'd newc cpio: static busybox and an /init that prints MARKER and powers off."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    root = tmp_path_factory.mktemp("initrd-root")
    (root / "bin").mkdir()
    shutil.copy(busybox, root / "bin" / "busybox")
    os.symlink("busybox", root / "bin" / "sh")
    init = root / "init"
    init.write_text(f"#!/bin/sh\necho {MARKER}\n/bin/busybox poweroff -f\n")
    init.chmod(0o755)
    out = tmp_path_factory.mktemp("initrd") / "initrd.gz"
    files = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc"], cwd=root, input=files, check=True,
                          capture_output=True).stdout
    out.write_bytes(subprocess.run(["gzip", "-9"], input=cpio, check=True, capture_output=True).stdout)
    return out


def run(cmd, env=None, timeout=60, cwd=None):
    """Run cmd in its own process group, stdin from /dev/null; on timeout kill the whole group.
    Returns (exit code or None on timeout, combined output)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=full_env, cwd=cwd, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out.decode(errors="replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def boot(cmd, initrd, tmp_path, env=None):
    """Boot UML (cmd is the kernel or uml-run) with the test initrd; console on stdout."""
    tmp = tmp_path / "umltmp"
    tmp.mkdir(exist_ok=True)
    env = dict(env or {}, TMPDIR=str(tmp))
    args = ["mem=64M", f"initrd={initrd}", "con=null", "con0=fd:0,fd:1", f"umid=umlrun{os.getpid()}"]
    return run(cmd + args, env=env)


def checker(*args):
    rc, out = run([CHECK, *map(str, args)], timeout=20)
    m = re.search(r"full size (\d+)", out)
    return rc, out, int(m.group(1)) if m else None


def no_preload_env():
    return {"UML_RUN_PRELOAD": "auto", "LD_PRELOAD": ""}


# --- the checker ---------------------------------------------------------------------------------------

def test_checker_agrees_with_kernel_at_the_size_boundary():
    """The checker's verdict flips exactly where the host kernel's XSAVE size is: a write of the full size
    is accepted, one 64 bytes shorter is rejected.  Both verdicts are exercised on any host."""
    rc, out, full = checker()
    assert rc in (0, 1), out
    assert full, out
    assert len(out.strip().splitlines()) == 1, out
    rc_full, out_full, _ = checker(full)
    assert rc_full == 0 and "not needed" in out_full, out_full
    rc_short, out_short, _ = checker(full - 64)
    assert rc_short == 1 and "preload needed" in out_short, out_short
    # UML's own 2696 bytes: needed exactly when the host's area is larger.
    assert rc == (1 if full > 2696 else 0), out


def test_checker_rejects_bad_usage():
    rc, out, _ = checker("nonsense")
    assert rc == 2 and "usage" in out


# --- UML itself ----------------------------------------------------------------------------------------

def test_checker_verdict_matches_a_real_uml_boot(initrd, tmp_path):
    rc, verdict, _ = checker()
    assert rc in (0, 1), verdict
    plain_rc, plain = boot([UML], initrd, tmp_path, env={"LD_PRELOAD": ""})
    via_rc, via = boot([UML_RUN], initrd, tmp_path, env=no_preload_env())
    assert via_rc is not None and MARKER in via, via[-2000:]
    if rc == 1:
        assert "ptrace set fp regs failed" in plain, plain[-2000:]
        assert MARKER not in plain, plain[-2000:]
    else:
        assert plain_rc is not None and MARKER in plain, plain[-2000:]


def test_uml_boots_with_the_preload_forced(initrd, tmp_path):
    """The preload must never hurt: UML boots with it whether or not the host needs it."""
    rc, out = boot([UML_RUN], initrd, tmp_path, env={"UML_RUN_PRELOAD": "always"})
    assert rc is not None and MARKER in out, out[-2000:]


# --- the preload, on a real traced child ---------------------------------------------------------------

def roundtrip(size, preload):
    rc, out = run([ROUNDTRIP, str(size)], env={"LD_PRELOAD": PRELOAD if preload else ""}, timeout=30)
    m = re.search(r"full=(\d+)", out)
    return rc, out, int(m.group(1)) if m else None


def test_preload_makes_a_short_xstate_write_work():
    rc, out, full = roundtrip(SHORT, preload=False)
    assert full, out
    if full <= SHORT:
        pytest.skip(f"host XSAVE area is {full} bytes; a {SHORT}-byte write is not short here")
    assert rc == 1 and "errno=14" in out, out
    rc, out, _ = roundtrip(SHORT, preload=True)
    assert rc == 0 and "child's xmm15 holds the written value" in out, out


def test_preload_passes_full_and_longer_writes_through():
    _, _, full = roundtrip(SHORT, preload=False)
    for size in (full, 2696, 4096):
        rc, out, _ = roundtrip(size, preload=True)
        assert rc == 0, out


# --- scripts/uml-run as a launcher (a fake kernel records what it was given) ----------------------------

@pytest.fixture
def fake_kernel(tmp_path):
    path = tmp_path / "fake-linux"
    path.write_text('#!/bin/sh\nprintf "LD_PRELOAD=%s\\n" "${LD_PRELOAD:-}"\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n')
    path.chmod(0o755)
    return path


ODD_ARGS = ["ubda=cow file,root.img", "", "a\"b'c", "$HOME", "*", "--kernel", "x;y"]


def test_uml_run_passes_arguments_unchanged(fake_kernel, tmp_path):
    rc, out = run([UML_RUN, "--kernel", str(fake_kernel), *ODD_ARGS], env={"UML_RUN_PRELOAD": "never"},
                  cwd=tmp_path)
    assert rc == 0, out
    assert out.splitlines() == ["LD_PRELOAD="] + [f"[{a}]" for a in ODD_ARGS]


def test_uml_run_preload_modes(fake_kernel, tmp_path):
    needed, _, _ = checker()
    expect = {"always": PRELOAD, "never": "", "auto": PRELOAD if needed == 1 else ""}
    for mode, want in expect.items():
        rc, out = run([UML_RUN, "--kernel", str(fake_kernel)], env={"UML_RUN_PRELOAD": mode, "LD_PRELOAD": ""},
                      cwd="/")
        assert rc == 0, out
        assert out.splitlines()[0] == f"LD_PRELOAD={want}", (mode, out)
    rc, out = run([UML_RUN, "--kernel", str(fake_kernel)], env={"UML_RUN_PRELOAD": "sometimes"})
    assert rc == 1 and "UML_RUN_PRELOAD=sometimes" in out


def test_uml_run_kernel_from_env(fake_kernel):
    rc, out = run([UML_RUN, "arg"], env={"UML_LINUX": str(fake_kernel), "UML_RUN_PRELOAD": "never"})
    assert rc == 0 and out.splitlines()[1:] == ["[arg]"], out


def test_uml_run_missing_kernel_is_one_clear_line(tmp_path):
    missing = tmp_path / "no-such-linux"
    rc, out = run([UML_RUN, "--kernel", str(missing), "mem=64M"])
    assert rc == 1
    assert out.strip().splitlines() == [out.strip()] and str(missing) in out and "not found" in out, out


def test_uml_run_installed_layout(fake_kernel, tmp_path):
    """As a live root carries it: /usr/bin/uml-run with the helpers in /usr/lib/liveinit (here under tmp)."""
    usr = tmp_path / "usr"
    (usr / "bin").mkdir(parents=True)
    lib = usr / "lib" / "liveinit"
    lib.mkdir(parents=True)
    shutil.copy(UML_RUN, usr / "bin" / "uml-run")
    env = {"LIVEINIT_LIBDIR": str(lib), "UML_RUN_PRELOAD": "always", "LD_PRELOAD": ""}
    rc, out = run([str(usr / "bin" / "uml-run"), "--kernel", str(fake_kernel)], env=env, cwd="/")
    assert rc == 1 and "not found" in out, out
    shutil.copy(PRELOAD, lib)
    shutil.copy(CHECK, lib)
    rc, out = run([str(usr / "bin" / "uml-run"), "--kernel", str(fake_kernel), "x"], env=env, cwd="/")
    assert rc == 0, out
    assert out.splitlines() == [f"LD_PRELOAD={lib / 'uml-xstate-preload.so'}", "[x]"]
