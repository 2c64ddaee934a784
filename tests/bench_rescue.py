"""make bench: the rescue ISO and stage 2's services (prints tables).

  UML exec -> ready line     host seconds from starting scripts/uml-run to the ready line, build/rescue.iso
                             (Debian root) against build/live.iso (busybox root) in the same run; median of 5.
  ISO size                   build/rescue.iso with its zstd squashfs, and the same ISO with an xz squashfs of
                             the same root (packed here; also the packing time); the Debian root before and
                             after trimming docs, man pages and translations; the package count.
  PID 1 peak RSS             VmHWM of /proc/1/status after the ready line, with 10 services against none.
  shutdown                   host seconds from `poweroff` typed to the UML process' exit, with 10 services that
                             obey TERM against none; median of 3.
Needs `make all rescue-iso` (it runs make) and root (remaster).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uml  # noqa: E402

TOP, BUILD = uml.TOP, uml.BUILD
RESCUE_ISO = os.path.join(BUILD, "rescue.iso")
LIVE_ISO = os.path.join(BUILD, "live.iso")
INITRD = os.path.join(BUILD, "initrd.img")
WORK = os.path.join(BUILD, "test-rescue")
RUNS = int(os.environ.get("RESCUE_BENCH_RUNS", "5"))


def boot(iso, mem="256M"):
    return uml.UML([f"initrd={INITRD}", "root=/dev/ubda", f"ubdar={iso}", "uml"], mem=mem, timeout=300)


def to_ready(iso):
    with boot(iso) as g:
        t0 = time.monotonic()
        g.expect(uml.READY, timeout=300)
        t = time.monotonic() - t0
        g.poweroff(timeout=120)
        return t


def ten_services_iso():
    """live.iso remastered with 10 services that sleep and obey TERM (cached beside the tests' images)."""
    out = os.path.join(WORK, "bench10.iso")
    if os.path.exists(out) and os.path.getmtime(out) > os.path.getmtime(LIVE_ISO):
        return out
    os.makedirs(WORK, exist_ok=True)
    add = tempfile.mkdtemp(prefix="bench10.", dir=WORK)
    for i in range(10):
        d = os.path.join(add, "etc", "liveinit", "services", "svc%02d" % i)
        os.makedirs(d)
        with open(os.path.join(d, "run"), "w") as f:
            f.write("#!/bin/sh\nexec sleep 100000\n")
        os.chmod(os.path.join(d, "run"), 0o755)
    subprocess.run([os.path.join(TOP, "scripts", "remaster"), LIVE_ISO, out, "--add", add], check=True,
                   capture_output=True)
    shutil.rmtree(add)
    return out


def rss_and_shutdown(iso):
    with boot(iso, mem="128M") as g:
        g.expect(uml.READY, timeout=300)
        hwm = int(re.search(r"VmHWM:\s+(\d+) kB", g.shell("grep VmHWM /proc/1/status")).group(1))
        running = g.shell("liveinit-svc status | grep -c state=running").strip().splitlines()[-1]
        t0 = time.monotonic()
        g.poweroff(timeout=120)
        return hwm, time.monotonic() - t0, int(running)


def xz_alternative():
    root = os.path.join(BUILD, "rescue", "root")
    zstd = os.path.getsize(os.path.join(BUILD, "rescue", "root.squashfs"))
    with tempfile.TemporaryDirectory(prefix="rescue-xz.", dir=BUILD) as tmp:
        img = os.path.join(tmp, "root.squashfs")
        t0 = time.monotonic()
        subprocess.run(["mksquashfs", root, img, "-comp", "xz", "-noappend", "-no-xattrs", "-quiet",
                        "-no-progress"], check=True, capture_output=True)
        pack = time.monotonic() - t0
        xz = os.path.getsize(img)
    return zstd, xz, pack


def mb(n):
    return "%.1f MB" % (n / 1e6)


def main():
    subprocess.run(["make", "-s", "rescue-iso"], cwd=TOP, check=True)
    rescue = [to_ready(RESCUE_ISO) for _ in range(RUNS)]
    live = [to_ready(LIVE_ISO) for _ in range(RUNS)]
    r, lv = statistics.median(rescue), statistics.median(live)
    print("\nUML exec -> ready line (median of %d)" % RUNS)
    print("%-28s %8s  %s" % ("image", "seconds", "runs"))
    print("%-28s %8.2f  %s" % ("build/rescue.iso (Debian)", r, " ".join("%.2f" % x for x in rescue)))
    print("%-28s %8.2f  %s" % ("build/live.iso (busybox)", lv, " ".join("%.2f" % x for x in live)))
    print("%-28s %8.2f" % ("ratio rescue/live", r / lv))

    zstd, xz, pack = xz_alternative()
    iso = os.path.getsize(RESCUE_ISO)
    before, trimmed = (int(x) for x in open(os.path.join(BUILD, "rescue", "root.trim")).read().split())
    with open(os.path.join(BUILD, "rescue", "root", "var", "lib", "dpkg", "status")) as f:
        pkgs = sum(1 for line in f if re.match(r"Status: \S+ \S+ installed$", line))
    print("\nrescue ISO size (%d packages)" % pkgs)
    print("%-34s %10s %10s" % ("", "squashfs", "ISO"))
    print("%-34s %10s %10s" % ("zstd (default)", mb(zstd), mb(iso)))
    print("%-34s %10s %10s  (packed in %.0f s)" % ("xz (RESCUE_COMP=xz)", mb(xz), mb(iso - zstd + xz), pack))
    print("Debian root %d MB, %d MB of docs/man/locales trimmed" % (before, trimmed))

    ten = ten_services_iso()
    base = [rss_and_shutdown(LIVE_ISO) for _ in range(3)]
    svc = [rss_and_shutdown(ten) for _ in range(3)]
    assert all(s[2] == 10 for s in svc), svc
    print("\nPID 1 with services (busybox root, UML; median of 3)")
    print("%-22s %14s %16s" % ("", "PID 1 VmHWM", "poweroff -> exit"))
    for name, rows in (("no services", base), ("10 services", svc)):
        print("%-22s %11d kB %14.2f s" % (name, statistics.median(x[0] for x in rows),
                                          statistics.median(x[1] for x in rows)))


if __name__ == "__main__":
    main()
