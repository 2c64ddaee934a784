"""make bench: the live ISO as a Xen PV domU, on Xen 4.17 inside qemu TCG (tests/xenvm.py).  Per round:
qemu start -> dom0's /init, dom0's `xl create` -> the guest's ready line (host clock, as seen on the serial
line), the domU kernel's "Run /init" -> stage 1's exec of the root's init (domU printk timestamps: stage 1
under Xen), `poweroff` typed -> domain gone, and the whole round.  Median of RUNS rounds.
Everything runs under software emulation: absolute figures are many times a real machine's."""
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xenvm  # noqa: E402

RUNS = int(os.environ.get("XEN_BENCH_RUNS", "3"))
ISO = os.path.join(xenvm.REPO, "build", "live.iso")
READY = r"\[\*\] liveinit [^\r\n]*ready"


def domu_kernel_times(text):
    """(Run /init, stage 1 done) in the domU's printk seconds, from the console after `xl create`."""
    text = text[text.find("dom0: xl create"):]
    run = re.search(r"\[\s*([\d.]+)\] Run /init as init process", text)
    done = re.search(r"\[\s*([\d.]+)\] liveinit: stage 1 done", text)
    return (float(run.group(1)) if run else None, float(done.group(1)) if done else None)


def one_round():
    m = xenvm.live_guest(ISO, log_name="bench_xen")
    with m:
        m.expect("dom0: up", timeout=120)
        dom0 = m.elapsed()
        m.expect("dom0: xl create", timeout=60)
        t0 = m.elapsed()
        m.expect(READY, timeout=150)
        ready = m.elapsed() - t0
        m.expect("# ", timeout=30)
        time.sleep(1)
        t1 = m.elapsed()
        m.sendline("poweroff")
        m.expect("dom0: domain gone", timeout=90)
        off = m.elapsed() - t1
        m.expect_exit(timeout=60)
        total = m.elapsed()
        run, done = domu_kernel_times(m.output())
    stage1 = (done - run) * 1000 if run is not None and done is not None else float("nan")
    return dom0, ready, stage1, off, total


def main():
    if not os.path.exists(ISO):
        sys.exit(f"bench_xen: {ISO} missing: run make")
    rows = [one_round() for _ in range(RUNS)]
    names = ["qemu start -> dom0 /init (s)", "xl create -> ready line (s)",
             "domU Run /init -> root init (ms)", "poweroff -> domain gone (s)", "whole round (s)"]
    print(f"\nXen PV domU under Xen 4.17 in qemu TCG (median of {RUNS} rounds)")
    for i, name in enumerate(names):
        vals = [r[i] for r in rows]
        print("%-34s %10.1f   (runs: %s)" % (name, statistics.median(vals),
                                             ", ".join("%.1f" % v for v in vals)))


if __name__ == "__main__":
    main()
