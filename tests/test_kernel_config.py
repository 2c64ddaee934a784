"""Guest kernel config (kernel-config/) and the UML guest kernel built from it.

- `make kernel-config` for ARCH=um and ARCH=x86 merges the fragments onto the defconfig and
  every requested option survives; the verifier names each option that cannot survive;
  the kernel source tree is not written to.
- `make kernel` builds build/kernel/um/linux (cached on its inputs).  That kernel, started
  through scripts/uml-run WITHOUT the ptrace preload, boots a busybox initrd to /init and powers
  off, also on a host whose XSAVE area is larger than UML's FP state (an AMX CPU; emulated here
  by tests/xsave_strict_host.c, which makes Debian's linux.uml fail the known way), and boots
  the live ISO with the module-less initrd (build/initrd-nomod.img) up to the live root's shell.
"""
import os
import re
import subprocess
from pathlib import Path

import pytest

import uml

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


@pytest.fixture(scope='module')
def merged(ksrc, tmp_path_factory):
    """`make kernel-config` for both arches, with KSRC=our source copy, and the tree before/after."""
    before = tree_snapshot(ksrc)
    runs = {}
    for arch in FRAGMENTS:
        out = tmp_path_factory.mktemp('kconfig-' + arch)
        runs[arch] = (make('kernel-config', f'ARCH={arch}', f'KSRC={ksrc}', f'KOUT={out}'), out)
    return runs, before, tree_snapshot(ksrc)


@pytest.mark.parametrize('arch', ['um', 'x86'])
def test_merge_and_verify(merged, arch):
    r, out = merged[0][arch]
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'requested options present' in r.stdout
    # Independently of kernel-config/verify: every requested value is in the final .config.
    final = config_lines(out / '.config')
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


def test_kernel_source_is_never_written(merged, ksrc):
    runs, before, after = merged
    assert all(r.returncode == 0 for r, _ in runs.values())
    assert not (ksrc / '.config').exists()
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


def test_kernel_has_the_fragments_built_in(kernel):
    final = config_lines(kernel.parent / '.config')
    for frag in FRAGMENTS['um']:
        for opt, want in config_lines(ROOT / 'kernel-config' / frag).items():
            assert final.get(opt, 'n') == want, opt


def test_kernel_build_is_cached(kernel):
    r = make('-q', 'kernel')
    assert r.returncode == 0, 'make kernel would rebuild with unchanged inputs'


@pytest.fixture
def no_preload(monkeypatch):
    """scripts/uml-run without its ptrace workaround: the kernel must cope by itself."""
    monkeypatch.setenv('UML_RUN_PRELOAD', 'never')
    monkeypatch.delenv('LD_PRELOAD', raising=False)


@pytest.fixture
def strict_xsave_host(no_preload, monkeypatch, strict_xsave_preload):
    monkeypatch.setenv('LD_PRELOAD', str(strict_xsave_preload))


def boot_busybox(guests, kernel, initrd):
    g = guests(['initrd=%s' % initrd], mem='64M', kernel=str(kernel))
    g.expect(r'Run /init as init process')
    return g


def test_kernel_boots_without_preload(kernel, busybox_initrd, guests, no_preload):
    g = boot_busybox(guests, kernel, busybox_initrd)
    g.expect(MARKER)
    assert g.wait_exit() == 0


def test_strict_xsave_host_breaks_debian_uml(busybox_initrd, guests, strict_xsave_host):
    """The emulated host reproduces the failure the patch fixes (so the next test can fail)."""
    g = boot_busybox(guests, DEBIAN_UML, busybox_initrd)
    g.expect(r'ptrace set fp regs failed, errno = 14')
    assert MARKER not in g.output


def test_kernel_boots_on_strict_xsave_host(kernel, busybox_initrd, guests, strict_xsave_host):
    g = boot_busybox(guests, kernel, busybox_initrd)
    g.expect(MARKER)
    assert g.wait_exit() == 0
    assert 'fp regs failed' not in g.output


@pytest.fixture(scope='module')
def live_images():
    r = make('build/initrd-nomod.img', 'build/live.iso')
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    return ROOT / 'build/initrd-nomod.img', ROOT / 'build/live.iso'


def test_live_iso_boots_with_our_kernel_and_no_modules(kernel, live_images, guests, no_preload):
    """Everything the live boot needs is built in: an initrd without modules brings up the root."""
    initrd, iso = live_images
    g = guests(['initrd=%s' % initrd, 'root=/dev/ubda', 'ubdar=%s' % iso, 'uml'],
               kernel=str(kernel))
    g.expect(r'Linux version (\S+)')
    version = g.child.match.group(1)
    g.expect(uml.READY)
    assert version in g.shell('uname -r')
    assert version.startswith('6.12.')
    mounts = g.shell('cat /proc/mounts')
    assert 'overlay / overlay' in mounts
    assert '/run/live/medium iso9660 ro' in mounts
    assert '/run/live/rootfs squashfs ro' in mounts
    assert g.shell('cat /proc/modules').strip() == ''
    assert g.last_status == 0
    assert g.poweroff() == 0
