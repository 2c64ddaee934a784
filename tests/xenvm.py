"""Xen inside qemu (TCG) for the tests: a real Xen 4.17 hypervisor, a PV dom0 running from an initramfs,
and the guest under test as a PV domU started by `xl create -c` in dom0.

The whole emulated machine talks on qemu's serial line (stdio): Xen's and dom0's console, and, once dom0 runs
`xl create -c`, the domU's console too, so keys sent here reach the guest's shell.

    m = XenMachine(files={"/guest/vmlinuz": kernel, ...}, xen_config_args=[...], disks=[(img, True)])
    with m:
        m.expect("ready")
        m.sendline("poweroff")
        m.expect_exit()

Pieces under tests/xen/: build-harness (cached packages and dom0 root), dom0-init (dom0's /init).
"""

import os
import shutil
import subprocess
import tempfile
import time

import pexpect

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
XEN_DIR = os.path.join(REPO, "tests", "xen")

XEN_ARGS = ("console=com1 com1=115200,8n1 dom0_mem=768M,max:768M dom0_max_vcpus=1 noreboot "
            # Without smap=0 smep=0 dom0 faults at once under TCG (#PF in create_bounce_frame).
            "smap=0 smep=0 bootscrub=0")
DOM0_ARGS = "console=hvc0 rdinit=/init panic=-1 quiet"


def build():
    """Build (or find cached) the harness pieces; returns their directory."""
    out = subprocess.run([os.path.join(XEN_DIR, "build-harness")], cwd=REPO, check=True,
                         stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    return os.path.join(REPO, out)


def pack_cpio(tree, dest, compress=True):
    """Pack directory TREE as a newc cpio at DEST, gzip'd unless not COMPRESS (root-owned)."""
    names = subprocess.run("find . | sort", shell=True, cwd=tree, check=True,
                           stdout=subprocess.PIPE).stdout
    with open(dest, "wb") as f:
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=tree,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1"] if compress else ["cat"], stdin=cpio.stdout, stdout=f)
        cpio.stdout.close()
        cpio.communicate(names)
        if gz.wait() != 0 or cpio.returncode != 0:
            raise RuntimeError(f"packing {tree} into {dest} failed")


class ConsoleLog:
    """pexpect's logfile: the console as it came (PATH) and a copy with the seconds since qemu started in
    front of every line (PATH.times), to see where a round's time goes."""

    def __init__(self, path, started):
        self.raw = open(path, "w")
        self.times = open(path + ".times", "w")
        self.started = started
        self.at_line_start = True

    def write(self, s):
        self.raw.write(s)
        for piece in s.replace("\r", "").splitlines(keepends=True):
            if self.at_line_start:
                self.times.write("%8.2f " % (time.monotonic() - self.started))
            self.times.write(piece)
            self.at_line_start = piece.endswith("\n")

    def flush(self):
        self.raw.flush()
        self.times.flush()

    def close(self):
        self.raw.close()
        self.times.close()

    @property
    def closed(self):
        return self.raw.closed


class XenMachine:
    """qemu running Xen + dom0; dom0 starts one PV domU.

    files: {path in dom0: host path} copied into dom0's initramfs (guest kernel, initrd, small images).
    xen_config_args: arguments for scripts/xen-config, which dom0 runs to write the guest's config
        (so paths are dom0's); or guest_cfg: the config text itself.
    disks: [(host image, read_only)] attached as virtio disks, /dev/vda, /dev/vdb, ... in dom0.
    timeout: dom0's watchdog (s); the host kills qemu a little later.
    """

    def __init__(self, files=None, xen_config_args=None, guest_cfg=None, disks=(), timeout=240,
                 log_name="xen"):
        self.dir = build()
        self.files = dict(files or {})
        self.xen_config_args = xen_config_args
        self.guest_cfg = guest_cfg
        self.disks = list(disks)
        self.timeout = timeout
        self.work = tempfile.mkdtemp(prefix=f"xenvm-{os.getpid()}-")
        self.logpath = os.path.join(REPO, "build", "xen", "logs", f"{log_name}-{os.getpid()}.log")
        self.child = None
        self.started = None

    # dom0's initramfs: an uncompressed cpio with the guest's files, the cached base and a small gzip'd
    # cpio with /init and the config (kernels, images: decompressing them under TCG would cost more than
    # copying); the kernel unpacks concatenated archives in order.
    def _dom0_initrd(self):
        tree = os.path.join(self.work, "overlay")
        bulk = os.path.join(self.work, "bulk")
        os.makedirs(bulk)
        os.makedirs(os.path.join(tree, "cfg"))
        os.makedirs(os.path.join(tree, "usr", "local", "bin"))
        shutil.copy(os.path.join(XEN_DIR, "dom0-init"), os.path.join(tree, "init"))
        shutil.copy(os.path.join(REPO, "scripts", "xen-config"),
                    os.path.join(tree, "usr", "local", "bin", "xen-config"))
        with open(os.path.join(tree, "cfg", "timeout"), "w") as f:
            f.write(f"{self.timeout}\n")
        if self.xen_config_args is not None:
            with open(os.path.join(tree, "cfg", "xen-config.args"), "w") as f:
                f.write("".join(a + "\n" for a in self.xen_config_args))
        if self.guest_cfg is not None:
            with open(os.path.join(tree, "cfg", "guest.cfg"), "w") as f:
                f.write(self.guest_cfg)
        for dest, src in self.files.items():
            path = os.path.join(bulk, dest.lstrip("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copy(src, path)
        overlay = os.path.join(self.work, "overlay.cpio.gz")
        pack_cpio(tree, overlay)
        files = os.path.join(self.work, "files.cpio")
        pack_cpio(bulk, files, compress=False)
        image = os.path.join(self.work, "dom0.img")
        with open(image, "wb") as out:
            # The uncompressed archive goes first: after a gzip'd one the kernel does not find it.
            for part in (files, os.path.join(self.dir, "dom0-base.cpio.gz"), overlay):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
        return image

    def command(self):
        image = self._dom0_initrd()
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "1536", "-smp", "1",
               "-nographic", "-no-reboot", "-nic", "none",
               "-kernel", os.path.join(self.dir, "xen"), "-append", XEN_ARGS,
               "-initrd", f"{os.path.join(self.dir, 'vmlinuz')} {DOM0_ARGS},{image}"]
        for path, read_only in self.disks:
            if "," in path:
                raise ValueError(f"qemu cannot take a disk path with a comma: {path}")
            drive = f"file={path},if=virtio,format=raw"
            cmd += ["-drive", drive + (",readonly=on" if read_only else "")]
        return cmd

    def start(self):
        os.makedirs(os.path.dirname(self.logpath), exist_ok=True)
        cmd = self.command()
        self.started = time.monotonic()
        self.log = ConsoleLog(self.logpath, self.started)
        self.child = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8", codec_errors="replace",
                                   timeout=60, logfile=self.log, dimensions=(50, 200))
        return self

    def elapsed(self):
        return time.monotonic() - self.started

    def expect(self, pattern, timeout=60):
        """Wait for PATTERN (regex or list); on timeout or EOF, fail with the console's tail."""
        try:
            return self.child.expect(pattern, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            kind = "timeout" if isinstance(e, pexpect.TIMEOUT) else "qemu exited"
            raise AssertionError(f"{kind} after {self.elapsed():.0f}s waiting for {pattern!r}; "
                                 f"console tail:\n{self.tail()}\n(full log: {self.logpath})") from None

    def tail(self, n=3000):
        self.log.flush()
        with open(self.logpath, errors="replace") as f:
            return f.read()[-n:]

    def sendline(self, line):
        # The serial line is slow under TCG and Xen's console ring drops bursts: type in small pieces.
        for i in range(0, len(line), 16):
            self.child.send(line[i:i + 16])
            time.sleep(0.05)
        self.child.send("\r")

    def expect_exit(self, timeout=60):
        """Wait until qemu exits by itself (dom0 powered the machine off); returns its exit status."""
        self.expect(pexpect.EOF, timeout=timeout)
        self.child.close()
        return self.child.exitstatus

    def output(self):
        self.log.flush()
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def close(self):
        if self.child is not None and self.child.isalive():
            self.child.terminate(force=True)
        if self.child is not None:
            self.child.close()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# The PC kernel and initrd the guest boots: the build's (build/pc/, made with the ISO) when they are there,
# else Debian's amd64 kernel from the harness with an initrd made by the project's own `initrd/mkinitrd`.
PC_INITRD_MODULES = ["loop", "squashfs", "isofs", "overlay", "xen-blkfront", "xen-netfront"]


def pc_kernel_initrd(harness_dir):
    pc = os.path.join(REPO, "build", "pc")
    kernel, initrd = os.path.join(pc, "vmlinuz"), os.path.join(pc, "initrd.img")
    if os.path.exists(kernel) and os.path.exists(initrd):
        return kernel, initrd
    kver = open(os.path.join(harness_dir, "kver")).read().strip()
    initrd = os.path.join(REPO, "build", "xen", "pc-initrd.img")
    subprocess.run(["make", "-s", "build/bin/init", "build/bin/liveinit-moddep"], cwd=REPO, check=True)
    subprocess.run([os.path.join(REPO, "initrd", "mkinitrd"), "--out", initrd,
                    "--init", os.path.join(REPO, "build", "bin", "init"), "--busybox", "/bin/busybox",
                    "--moddep", os.path.join(REPO, "build", "bin", "liveinit-moddep"),
                    "--kmoddir", os.path.join(harness_dir, "kernel", "lib", "modules", kver), "--kver", kver]
                   + PC_INITRD_MODULES, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return os.path.join(harness_dir, "vmlinuz"), initrd


def initrd_files(initrd):
    """Names in a cpio initrd (gzip, xz or zstd: initrd/initrd-cat)."""
    out = subprocess.run(f"'{REPO}/initrd/initrd-cat' '{initrd}' | cpio -t --quiet", shell=True, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return out.split()


def data_disk(path, ext4_mib=24, swap_mib=16):
    """A partitioned data disk like a user's: msdos table, partition 1 ext4 (label xendata), 2 swap.
    Built from separate partition images, so no loop device is needed."""
    start = 1  # MiB
    total = start + ext4_mib + swap_mib + 1
    with open(path, "wb") as f:
        f.truncate(total << 20)
    layout = (f"label: dos\nstart={start}MiB, size={ext4_mib}MiB, type=83\n"
              f"start={start + ext4_mib}MiB, size={swap_mib}MiB, type=82\n")
    subprocess.run(["sfdisk", "-q", path], input=layout, text=True, check=True, stdout=subprocess.DEVNULL)
    part = path + ".part"
    try:
        with open(part, "wb") as f:
            f.truncate(ext4_mib << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "xendata", part], check=True)
        subprocess.run(["dd", f"if={part}", f"of={path}", "bs=1M", f"seek={start}", "conv=notrunc",
                        "status=none"], check=True)
        with open(part, "wb") as f:
            f.truncate(0)
            f.truncate(swap_mib << 20)
        subprocess.run(["mkswap", "-L", "xenswap", part], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["dd", f"if={part}", f"of={path}", "bs=1M", f"seek={start + ext4_mib}", "conv=notrunc",
                        "status=none"], check=True)
    finally:
        os.unlink(part)
    return path


def live_guest(iso, disks=(), extra="printk.time=1", timeout=270, log_name="xen-live", raw_extra=None):
    """A XenMachine whose domU boots the live ISO with the PC kernel and initrd, plus data DISKS (xvdb, ...
    read-write, virtio disks in dom0).  Normally the ISO is a read-only virtio disk in dom0 and the guest
    config is written in dom0 by scripts/xen-config.  With RAW_EXTRA the ISO rides in dom0's initramfs as a
    file (so dom0's block script loop-attaches it, as for `xen-config --iso FILE`) and the config is written
    here with exactly that kernel command line (e.g. without `xen` and `root=`, to see what the guest finds
    by itself)."""
    harness = build()
    kernel, initrd = pc_kernel_initrd(harness)
    files = {"/guest/vmlinuz": kernel, "/guest/initrd.img": initrd}
    name = f"live{os.getpid()}"
    if raw_extra is not None:
        files["/guest/live.iso"] = iso
        targets = ["/guest/live.iso"] + [f"/dev/vd{'abcdefgh'[i]}" for i in range(len(disks))]
        specs = ", ".join(f"'format=raw, vdev=xvd{'abcdefgh'[i]}, access={'ro' if i == 0 else 'rw'}, "
                          f"target={t}'" for i, t in enumerate(targets))
        cfg = (f'name = "{name}"\ntype = "pv"\nkernel = "/guest/vmlinuz"\nramdisk = "/guest/initrd.img"\n'
               f'extra = "{raw_extra}"\nmemory = 256\nvcpus = 1\ndisk = [ {specs} ]\n'
               f"vif = [ 'bridge=xenbr0' ]\non_poweroff = \"destroy\"\non_reboot = \"restart\"\n")
        return XenMachine(files=files, guest_cfg=cfg, disks=[(d, False) for d in disks], timeout=timeout,
                          log_name=log_name)
    args = []
    for dev in [f"/dev/vd{'abcdefgh'[i]}" for i in range(1 + len(disks))]:
        args += ["--disk", dev]
    args += ["--name", name, "--mem", "256", "--kernel", "/guest/vmlinuz", "--initrd", "/guest/initrd.img",
             "--extra", extra]
    return XenMachine(files=files, xen_config_args=args, disks=[(iso, True)] + [(d, False) for d in disks],
                      timeout=timeout, log_name=log_name)
