"""make bench: shutdown with data still to write, on a PC (qemu, TCG), next to an idle shutdown (prints a table).

  poweroff -> qemu exit   host time from sending /sbin/poweroff to qemu's exit (-no-reboot: qemu ends at the
                          power-off), RUNS boots each:
                            idle:            nothing to write;
                            30 MB dirty:     30 MB copied (at memory speed) to an ext4 disk that qemu throttles to
                                             2 MB/s for writes, poweroff at once.
                          The shutdown must wait for the data: ~15 s at 2 MB/s is the floor for the second case.
  guest                   stage 2's own figures (`debug`): its shutdown before the exitrd (its sync is where the
                          data gets written) and the exitrd's unmounts.
The ratio column divides each median by the idle median of the same run.
"""
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import uml  # noqa: E402
import test_shutdown as ts  # noqa: E402

RUNS = 2
THROTTLE = "throttling.bps-write=%d" % (2 << 20)  # the figure (the test uses 1 MB/s)


def one(dirty):
    with tempfile.TemporaryDirectory() as d:
        extra = []
        if dirty:
            ext4 = ts.image(os.path.join(d, "ext4.img"), 64, ["mkfs.ext4", "-q", "-F", "-L", "slow"])
            src, _ = ts.source(__import__("pathlib").Path(d))
            extra = src + ["-drive", "file=%s,format=raw,if=virtio,%s" % (ext4, THROTTLE)]
        with qemu.Qemu(cdrom=ts.ISO, extra=extra, timeout=300) as q:
            q.boot_label("serial debug")
            q.expect(uml.READY, timeout=300)
            if dirty:
                ts.write_30mb(q, "$(findfs LABEL=slow)", "ext4")
            q.shell("true")
            t0 = time.monotonic()
            status = q.poweroff("/sbin/poweroff", timeout=300)
            took = time.monotonic() - t0
            if status != 0:
                raise SystemExit("bench: poweroff exited %s; console in %s" % (status, q.logpath))
            out = q.output
    # debug prints the shutdown's lines of the timing record: "timing: NAME START_MS DURATION_MS".
    total = re.search(r"timing: shutdown \d+ (\d+)", out)
    sync = re.search(r"timing: shutdown/sync \d+ (\d+)", out)
    exitrd = re.search(r"exitrd took (\d+) ms", out)
    return took, (int(total.group(1)) if total else None), (int(sync.group(1)) if sync else None), \
        (int(exitrd.group(1)) if exitrd else None)


def main():
    load = os.getloadavg()[0]
    cases = [("idle", False), ("30 MB dirty, disk at 2 MB/s", True)]
    results = {name: [one(dirty) for _ in range(RUNS)] for name, dirty in cases}
    idle = statistics.median(r[0] for r in results["idle"])
    print()
    print("shutdown on a PC (qemu TCG): /sbin/poweroff -> qemu exit, %d boots each; host load average %.1f at "
          "the start" % (RUNS, load))
    print("%-30s %10s %7s %8s %8s %18s %11s" % ("case", "median ms", "ratio", "min ms", "max ms",
                                               "guest shutdown ms", "exitrd ms"))
    for name, _ in cases:
        r = results[name]
        med = statistics.median(x[0] for x in r)
        guest = "/".join(str(x[1]) for x in r)
        sync = "/".join(str(x[2]) for x in r)
        exitrd = "/".join(str(x[3]) for x in r)
        print("%-30s %10.0f %7.2f %8.0f %8.0f %18s %11s" % (name, med * 1000, med / idle, min(x[0] for x in r) * 1000,
                                                          max(x[0] for x in r) * 1000, guest + " (sync " + sync + ")",
                                                          exitrd))


if __name__ == "__main__":
    main()
