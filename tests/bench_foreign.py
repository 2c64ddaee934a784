"""make bench: somebody else's live ISO (tests/foreign/build-iso: Debian bookworm, systemd, openssh-server) with
our initrd in UML, one boot each: host exec of `linux` -> the login prompt (systemd root, adapted by stage 1)
and -> our ready line (liveinit.stage2 on the same ISO).  Also the kernel's "Run /init" -> stage 1's exec of
the root's init (kernel timestamps).  The ratio of the two is printed beside the absolute times."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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


if __name__ == "__main__":
    main()
