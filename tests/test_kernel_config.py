"""Guest kernel config (kernel-config/) and the UML guest kernel built from it.

- `make kernel-config` for ARCH=um and ARCH=x86 merges the fragments onto the defconfig and
  every requested option survives; the verifier names each option that cannot survive;
  the kernel source tree is not written to.
- `make kernel` builds build/kernel/um/linux (cached on its inputs), and that kernel boots a
  module-less busybox initrd to /init and powers off, with no ptrace preload, also on a host
  whose XSAVE area is larger than UML's FP state (emulated by tests/xsave_strict_host.c).
"""
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KSRC = ROOT / 'build/src/linux-source-6.12'
KERNEL = ROOT / 'build/kernel/um/linux'
DEBIAN_UML = Path('/usr/bin/linux.uml')
MARKER = 'LIVEINIT-KCONFIG-BOOT-OK'
FRAGMENTS = {'um': ['common.config', 'um.config'], 'x86': ['common.config', 'x86-xen.config']}
REQUEST = re.compile(r'^(CONFIG_\w+)=(.*)$|^# (CONFIG_\w+) is not set$')


def make(*args, timeout=3600):
    return subprocess.run(['make', '--no-print-directory', *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def config_lines(path):
    """option -> value ('n' for `is not set`), later lines winning."""
    values = {}
    for line in Path(path).read_text().splitlines():
        m = REQUEST.match(line)
        if m:
            values[m.group(1) or m.group(3)] = 'n' if m.group(3) else m.group(2)
    return values


def tree_snapshot(top):
    """Every path under top with its size and mtime: any write into the tree changes it."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            snap[p] = (st.st_size, st.st_mtime_ns)
    st = os.stat(top)
    snap[str(top)] = (st.st_size, st.st_mtime_ns)
    return snap


@pytest.fixture(scope='module')
def ksrc():
    r = make('kernel-source')
    assert r.returncode == 0, r.stdout + r.stderr
    return KSRC


@pytest.mark.parametrize('arch', ['um', 'x86'])
def test_merge_and_verify(ksrc, tmp_path, arch):
    r = make('kernel-config', f'ARCH={arch}', f'KSRC={ksrc}', f'KOUT={tmp_path}')
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'requested options present' in r.stdout
    # Independently of kernel-config/verify: every requested value is in the final .config.
    final = config_lines(tmp_path / '.config')
    requested = {}
    for frag in FRAGMENTS[arch]:
        requested.update(config_lines(ROOT / 'kernel-config' / frag))
    assert len(requested) > 20
    wrong = {k: (v, final.get(k, 'n')) for k, v in requested.items() if final.get(k, 'n') != v}
    assert not wrong
    # Built in, not modules: the boot path must not depend on the initrd carrying modules.
    for opt in ('CONFIG_SQUASHFS', 'CONFIG_OVERLAY_FS', 'CONFIG_ISO9660_FS', 'CONFIG_BLK_DEV_LOOP'):
        assert final[opt] == 'y'


def test_verifier_names_every_option_that_did_not_survive(ksrc, tmp_path):
    extra = tmp_path / 'extra.config'
    extra.write_text('# requests that cannot survive olddefconfig on ARCH=um\n'
                     'CONFIG_LIVEINIT_NO_SUCH_SYMBOL=y\n'      # no such symbol
                     'CONFIG_XEN_BLKDEV_FRONTEND=y\n'          # depends on XEN: not on um
                     'CONFIG_LOG_BUF_SHIFT=99\n'               # out of range 12..25
                     'CONFIG_TMPFS=y\n')                       # this one survives
    out = tmp_path / 'out'
    r = make('kernel-config', 'ARCH=um', f'KSRC={ksrc}', f'KOUT={out}', f'KCONFIG_EXTRA={extra}')
    assert r.returncode != 0
    failures = [l for l in r.stdout.splitlines() if re.match(r'verify: CONFIG_\w+: requested', l)]
    named = sorted(l.split(':')[1].strip() for l in failures)
    assert named == ['CONFIG_LIVEINIT_NO_SUCH_SYMBOL', 'CONFIG_LOG_BUF_SHIFT',
                     'CONFIG_XEN_BLKDEV_FRONTEND'], r.stdout
    assert any('CONFIG_LOG_BUF_SHIFT: requested 99' in l for l in failures)
    assert '3 of ' in r.stdout


def test_verifier_rejects_a_malformed_fragment(tmp_path):
    cfg = tmp_path / '.config'
    cfg.write_text('CONFIG_TMPFS=y\n')
    frag = tmp_path / 'bad.config'
    frag.write_text('CONFIG_TMPFS=y\nTMPFS y\n')
    r = subprocess.run([ROOT / 'kernel-config/verify', cfg, frag], capture_output=True, text=True)
    assert r.returncode == 2
    assert f'{frag}:2' in r.stderr


def test_kernel_source_is_never_written(ksrc, tmp_path):
    before = tree_snapshot(ksrc)
    for arch in ('um', 'x86'):
        r = make('kernel-config', f'ARCH={arch}', f'KSRC={ksrc}', f'KOUT={tmp_path / arch}')
        assert r.returncode == 0, r.stdout + r.stderr
    assert not (ksrc / '.config').exists()
    after = tree_snapshot(ksrc)
    assert sorted(set(after) ^ set(before)) == []
    assert [p for p in before if before[p] != after[p]] == []


def test_missing_kernel_source_is_named(tmp_path):
    missing = tmp_path / 'no-such-linux'
    r = make('kernel-config', 'ARCH=um', f'KSRC={missing}', f'KOUT={tmp_path / "out"}')
    assert r.returncode != 0
    assert str(missing) in r.stderr


# ---- the built UML kernel ----

@pytest.fixture(scope='module')
def kernel():
    r = make('kernel')
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    assert KERNEL.exists()
    return KERNEL


@pytest.fixture(scope='module')
def busybox_initrd(tmp_path_factory):
    """A module-less initrd: /init prints the marker and powers off."""
    d = tmp_path_factory.mktemp('initrd')
    root = d / 'root'
    (root / 'bin').mkdir(parents=True)
    busybox = Path('/bin/busybox')
    (root / 'bin/busybox').write_bytes(busybox.read_bytes())
    (root / 'bin/busybox').chmod(0o755)
    init = root / 'init'
    init.write_text(f'#!/bin/busybox sh\n/bin/busybox echo {MARKER}\n/bin/busybox poweroff -f\n')
    init.chmod(0o755)
    img = d / 'initrd.img'
    files = subprocess.run(['find', '.'], cwd=root, capture_output=True, check=True).stdout
    cpio = subprocess.run(['cpio', '-o', '-H', 'newc', '--quiet'], cwd=root, input=files,
                          capture_output=True, check=True).stdout
    img.write_bytes(subprocess.run(['gzip', '-9'], input=cpio, capture_output=True,
                                   check=True).stdout)
    return img


@pytest.fixture(scope='module')
def strict_xsave_preload(tmp_path_factory):
    so = tmp_path_factory.mktemp('preload') / 'xsave_strict_host.so'
    subprocess.run(['gcc', '-std=c11', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-o',
                    so, ROOT / 'tests/xsave_strict_host.c', '-ldl'], check=True)
    return so


def run_uml(kernel, initrd, tmp_path, preload=None, timeout=60):
    """Boot a UML kernel on initrd; return (exit status, console output). Kills it on timeout."""
    uml_dir = tmp_path / 'uml'
    uml_dir.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.pop('LD_PRELOAD', None)
    if preload:
        env['LD_PRELOAD'] = str(preload)
    args = [str(kernel), 'mem=64M', f'initrd={initrd}', f'umid=lik{os.getpid()}',
            f'uml_dir={uml_dir}', 'con=null', 'con0=fd:0,fd:1']
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f'{kernel} did not exit within {timeout}s:\n'
                    + out.decode(errors='replace')[-3000:])
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # UML helper processes, if any remain
        except ProcessLookupError:
            pass
    return proc.returncode, out.decode(errors='replace')


def test_kernel_has_the_fragments_built_in(kernel):
    final = config_lines(kernel.parent / '.config')
    for frag in FRAGMENTS['um']:
        for opt, want in config_lines(ROOT / 'kernel-config' / frag).items():
            assert final.get(opt, 'n') == want, opt


def test_kernel_build_is_cached(kernel):
    r = make('-q', 'kernel')
    assert r.returncode == 0, 'make kernel would rebuild with unchanged inputs'


def test_kernel_boots_without_preload(kernel, busybox_initrd, tmp_path):
    rc, out = run_uml(kernel, busybox_initrd, tmp_path)
    assert MARKER in out, out[-3000:]
    assert 'Kernel panic' not in out
    assert rc == 0, out[-3000:]


def test_strict_xsave_host_breaks_debian_uml(busybox_initrd, strict_xsave_preload, tmp_path):
    """The emulated host reproduces the failure our patch fixes (so the next test can fail)."""
    rc, out = run_uml(DEBIAN_UML, busybox_initrd, tmp_path, preload=strict_xsave_preload)
    assert 'ptrace set fp regs failed, errno = 14' in out, out[-3000:]
    assert MARKER not in out


def test_kernel_boots_on_strict_xsave_host(kernel, busybox_initrd, strict_xsave_preload, tmp_path):
    rc, out = run_uml(kernel, busybox_initrd, tmp_path, preload=strict_xsave_preload)
    assert MARKER in out, out[-3000:]
    assert 'fp regs failed' not in out
    assert rc == 0, out[-3000:]
