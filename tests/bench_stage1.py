"""make bench: stage 1 in UML.  For each mode, 5 boots: the kernel's "Run /init" to stage 1's exec of the
root's init (kernel timestamps, printk.time=1) and stage 1's own CLOCK_MONOTONIC figure; median of each.
Also the initrd and stage-1 binary sizes.  Targets (issue 2): <= 30 ms, <= 1.7 MB, <= 100 KiB."""
import os
import re
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uml  # noqa: E402

B = uml.BUILD
INITRD = "initrd=" + os.path.join(B, "initrd.img")
RUNS = 5


def modes(tmp):
    yield "iso", [INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "live.iso"), "uml"]
    yield "squashroot", [INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "root.squashfs"), "squashroot", "uml"]
    yield "cow-ext4", [INITRD, "root=/dev/ubda", "ubda=%s,%s" % (os.path.join(tmp, "cow"), os.path.join(B, "root.img")),
                       "uml"]
    yield "toram", [INITRD, "root=/dev/ubda", "ubdar=" + os.path.join(B, "live.iso"), "toram", "uml"]
    yield "label-scan", [INITRD, "ubdar=" + os.path.join(B, "live.iso")]


def one_boot(args, tmp):
    cow = os.path.join(tmp, "cow")
    if os.path.exists(cow):
        os.unlink(cow)
    g = uml.UML(args, timeout=60).start()
    try:
        g.expect(r"liveinit: stage 1 done in ([\d.]+) ms")
        own = float(g.child.match.group(1))
        run, done = uml.kernel_times(g.output)
        return (done - run) * 1000, own
    finally:
        g.kill()


def main():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in modes(tmp):
            ks, own = zip(*(one_boot(args, tmp) for _ in range(RUNS)))
            rows.append((name, statistics.median(ks), statistics.median(own)))
    print("\nstage 1 in UML (median of %d boots)" % RUNS)
    print("%-12s %22s %22s" % ("mode", "Run /init -> exec (ms)", "stage 1 own clock (ms)"))
    for name, k, o in rows:
        print("%-12s %22.1f %22.1f" % (name, k, o))
    print("%-34s %10d bytes (target <= 1.7 MB)" % ("build/initrd.img", os.path.getsize(os.path.join(B, "initrd.img"))))
    print("%-34s %10d bytes (target <= 100 KiB = 102400)" % ("build/bin/init (stage 1)",
                                                             os.path.getsize(os.path.join(B, "bin", "init"))))


if __name__ == "__main__":
    main()
