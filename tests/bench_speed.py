"""make bench: issue 16's table -- stage 1 on PC and Xen loading only the drivers of the hardware present,
against the old way (`allmodules`: every module of the initrd at start) measured in the same run, same images.

  qemu TCG, live ISO on the CD (kernel and initrd given to qemu): the kernel's "Run /init" -> stage 1's exec of
  the root's init (printk times)
  Xen PV domU (Xen-in-qemu harness, tests/xenvm.py): the domU's "Run /init" -> exec (domU printk times)
  UML, Debian's kernel, ISO mode: stage 1's own figure (UML's printk clock has 10 ms steps here)
  PC initrd size

Median of BENCH_RUNS boots each (default 5; XEN_BENCH_RUNS for the Xen rows, default the same).  The host load
average is printed before and after: the machine is shared, so compare the ratio column, not absolute times."""
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import uml  # noqa: E402
import xenvm  # noqa: E402

B = uml.BUILD
ISO = os.path.join(B, "live.iso")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
XEN_RUNS = int(os.environ.get("XEN_BENCH_RUNS", str(RUNS)))
READY = r"\[\*\] liveinit [^\r\n]*ready"


def stage1_ms(text):
    run, done = uml.kernel_times(text)
    if run is None or done is None:
        raise RuntimeError("no 'Run /init' or 'stage 1 done' line on the console")
    return (done - run) * 1000


def qemu_boot(extra):
    # The ISO's kernel and initrd started by qemu itself (isolinux drops characters of a long line typed on a
    # loaded host); the medium is still the CD.
    with qemu.Qemu(cdrom=ISO, kernel=os.path.join(B, "pc", "vmlinuz"), initrd=os.path.join(B, "pc", "initrd.img"),
                   append=("console=ttyS0 printk.time=1 " + extra).strip(), timeout=300) as q:
        q.expect(r"liveinit: stage 1 done", timeout=300)
        q.expect(READY, timeout=300)
        return stage1_ms(q.output)


def xen_boot(extra):
    m = xenvm.live_guest(ISO, extra=("printk.time=1 " + extra).strip(), log_name="bench_speed_xen")
    with m:
        m.expect("dom0: xl create", timeout=300)
        m.expect(READY, timeout=300)
        text = m.output()
    return stage1_ms(text[text.find("dom0: xl create"):])


def uml_boot(extra):
    args = ["initrd=" + os.path.join(B, "initrd.img"), "root=/dev/ubda", "ubdar=" + ISO, "uml"] + extra.split()
    g = uml.UML(args, timeout=120).start()
    try:
        # UML's printk clock ticks in 10 ms steps here: stage 1's own figure (CLOCK_BOOTTIME, the same span
        # from its first instruction to the exec) is the finer measure.
        g.expect(r"liveinit: stage 1 done in ([\d.]+) ms")
        return float(g.child.match.group(1))
    finally:
        g.kill()


def measure(boot, runs):
    """(median with `allmodules`, median as shipped, the runs), boots alternating so load drifts hit both."""
    old, new = [], []
    for _ in range(runs):
        old.append(boot("allmodules"))
        new.append(boot(""))
    return statistics.median(old), statistics.median(new), old, new


def load():
    return "%.1f %.1f %.1f" % os.getloadavg()


def main():
    if not os.path.exists(ISO):
        sys.exit("bench_speed: %s missing: run make" % ISO)
    print("\nissue 16: stage 1 loads only what the machine has (host load before: %s, %d CPUs)" %
          (load(), os.cpu_count()))
    rows = []
    for name, boot, runs, target in (
            ("qemu TCG, Run /init -> exec (live ISO), ms", qemu_boot, RUNS, "<= 350"),
            ("Xen domU stage 1 (Xen-in-qemu), ms", xen_boot, XEN_RUNS, "<= 300"),
            ("UML, Debian's kernel, ISO mode (own clock), ms", uml_boot, RUNS, "<= 80")):
        old, new, olds, news = measure(boot, runs)
        rows.append((name, old, new, target, olds, news))
    size = os.path.getsize(os.path.join(B, "pc", "initrd.img"))
    print("host load after: %s\n" % load())
    print("| figure | allmodules (reference) | now | now/reference | target |")
    print("|---|---|---|---|---|")
    for name, old, new, target, _, _ in rows:
        print("| %s | %.0f | %.0f | %.2f | %s |" % (name, old, new, new / old, target))
    print("| PC initrd size, bytes | 2,521,234 (before issue 16) | {:,} | {:.3f} | no larger |".format(
        size, size / 2521234))
    print("\nruns (ms): " + "; ".join("%s: all %s / now %s" % (n.split(",")[0], ["%.0f" % v for v in o],
                                                              ["%.0f" % v for v in w])
                                     for n, _, _, _, o, w in rows))


if __name__ == "__main__":
    main()
