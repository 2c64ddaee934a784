"""make bench: somebody else's live ISO (tests/foreign/build-iso: Debian bookworm, systemd, openssh-server), one
boot each.
UML with our initrd: host exec of `linux` -> the login prompt (systemd root, adapted by stage 1) and -> our
ready line (liveinit.stage2 on the same ISO); the kernel's "Run /init" -> stage 1's exec of the root's init.
qemu (TCG, the PC kernel, the ISO as a CD, console=ttyS0): our PC initrd against live-boot's own initrd
(tests/foreign/build-liveboot-initrd: initramfs-tools + live-boot, as a live-build ISO has it): the kernel's
"Run /init" -> systemd's first line (the root's init starting), and -> the login prompt (kernel clock).
Ratios are printed beside the absolute times."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import uml  # noqa: E402

B = uml.BUILD


def boot(iso, extra, pattern, timeout):
    g = uml.UML(["initrd=" + os.path.join(B, "initrd.img"), "root=/dev/ubda", "ubdar=" + iso, "uml"] + extra,
                mem="512M", timeout=timeout)
    t0 = time.monotonic()
    g.start()
    try:
        g.expect(pattern)
        total = time.monotonic() - t0
        run, done = uml.kernel_times(g.output)
        return total, (done - run) * 1000 if run is not None and done is not None else float("nan")
    finally:
        g.kill()


SYSTEMD_START = r"\[\s*([\d.]+)\] systemd\[1\]: systemd \d+"


def qemu_boot(iso, initrd, append):
    """(kernel clock: Run /init -> systemd's first line, s; host clock: qemu start -> login prompt, s)."""
    kernel = os.path.join(B, "pc", "vmlinuz")
    q = qemu.Qemu(cdrom=iso, kernel=kernel, initrd=initrd, mem=1024, timeout=1500,
                  append="console=ttyS0 printk.time=1 " + append)
    q.start()
    try:
        q.expect(SYSTEMD_START)
        init_at = float(q.child.match.group(1))
        q.expect(r"login: ")
        login = time.monotonic() - q.started
        run = re.search(r"\[\s*([\d.]+)\] Run /init as init process", q.output)
        return init_at - float(run.group(1)), login
    finally:
        q.kill()


def main():
    iso = subprocess.run([os.path.join(uml.TOP, "tests", "foreign", "build-iso")], cwd=uml.TOP, check=True,
                         stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    iso = os.path.join(uml.TOP, iso)
    load = os.getloadavg()[0]
    login, s1a = boot(iso, ["hostname=bench"], r"bench login: ", 900)
    ready, s1b = boot(iso, ["liveinit.stage2"], uml.READY, 300)
    print("\nforeign live-build ISO (Debian 12, systemd) in UML, one boot each; host load %.1f" % load)
    print("%-40s %12s %26s" % ("boot", "exec -> (s)", "Run /init -> exec init (ms)"))
    print("%-40s %12.2f %26.1f" % ("systemd root, adapted: login prompt", login, s1a))
    print("%-40s %12.2f %26.1f" % ("liveinit.stage2: ready line", ready, s1b))
    print("ratio systemd / liveinit.stage2: %.1fx" % (login / ready))

    liveboot = subprocess.run([os.path.join(uml.TOP, "tests", "foreign", "build-liveboot-initrd")], cwd=uml.TOP,
                              check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    load = os.getloadavg()[0]
    ours = qemu_boot(iso, os.path.join(B, "pc", "initrd.img"), "hostname=bench")
    theirs = qemu_boot(iso, os.path.join(uml.TOP, liveboot), "boot=live")
    print("\nthe same ISO in qemu (TCG), one boot each; host load %.1f" % load)
    print("%-28s %30s %26s" % ("initrd", "Run /init -> systemd starts (s)", "qemu start -> login (s)"))
    print("%-28s %30.2f %26.1f" % ("liveinit (build/pc)", ours[0], ours[1]))
    print("%-28s %30.2f %26.1f" % ("live-boot (initramfs-tools)", theirs[0], theirs[1]))
    print("ratio live-boot / liveinit: %.1fx to systemd, %.1fx to the login prompt"
          % (theirs[0] / ours[0], theirs[1] / ours[1]))


if __name__ == "__main__":
    main()
