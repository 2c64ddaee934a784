"""make bench: issue 16's table -- stage 1 on PC and Xen, against references measured in the same run, same
images:

  before = `allmodules` (every module of the initrd at start, the old way) with the same initrd, and, when
  SPEED_OLD_INITRD names one (e.g. main's build/pc/initrd.img before this work), that initrd as shipped.

  qemu TCG, live ISO on the CD (kernel and initrd given to qemu): the kernel's "Run /init" -> stage 1's exec of
  the root's init (printk times)
  Xen PV domU (Xen-in-qemu harness, tests/xenvm.py): the domU's "Run /init" -> exec (domU printk times)
  UML, Debian's kernel, ISO mode: stage 1's own figure (UML's printk clock has 10 ms steps here)
  PC initrd: size, and the kernel's unpack time ("Trying to unpack rootfs" -> "Freeing initrd memory") with gzip,
  xz and zstd (the same archive; sizes also with the NIC drivers a PXE client needs)

Where stage 1's time goes (tests/steptimes.py breakdown, from the timing record of each boot): "before" (our
start: mounts, command line, reading the module tables, the first walk of /sys), "loads" (the kernel loading the
modules we asked for), "probe" (the kernel probing the hardware until the medium's disk appears: no initrd can
remove that), "after" (our probe of the medium, the mounts, the switch).

Median of BENCH_RUNS boots each (default 5; XEN_BENCH_RUNS for the Xen rows, default the same), boots alternating
so load drifts hit every variant.  The host load average is printed before and after: the machine is shared, so
compare the ratio column, not absolute times."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import steptimes  # noqa: E402
import uml  # noqa: E402
import xenvm  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = uml.BUILD
ISO = os.path.join(B, "live.iso")
PC_INITRD = os.path.join(B, "pc", "initrd.img")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
XEN_RUNS = int(os.environ.get("XEN_BENCH_RUNS", str(RUNS)))
OLD_INITRD = os.environ.get("SPEED_OLD_INITRD")
READY = r"\[\*\] liveinit [^\r\n]*ready"
# The NICs issue 14 packs for PXE clients (initrd/build.mk's PC_NIC_MODULES once it is there).
NIC_MODULES = ["+virtio_net", "+e1000", "+e1000e", "+igb", "+r8169", "+8139too", "+8139cp", "+tg3", "+bnx2",
               "+vmxnet3", "+xen-netfront"]
BEFORE_ISSUE16 = 2521234  # bytes, the PC initrd before issue 16 (gzip)


def printk(text, pattern):
    m = re.search(r"\[\s*([\d.]+)\] " + pattern, text)
    return float(m.group(1)) if m else None


def stage1_ms(text):
    run, done = uml.kernel_times(text)
    if run is None or done is None:
        raise RuntimeError("no 'Run /init' or 'stage 1 done' line on the console")
    return (done - run) * 1000


def unpack_ms(text):
    a, b = printk(text, "Trying to unpack rootfs"), printk(text, "Freeing initrd memory")
    return (b - a) * 1000 if a is not None and b is not None else None


def qemu_boot(extra, initrd=PC_INITRD):
    # The ISO's kernel and initrd started by qemu itself (isolinux drops characters of a long line typed on a
    # loaded host); the medium is still the CD.
    with qemu.Qemu(cdrom=ISO, kernel=os.path.join(B, "pc", "vmlinuz"), initrd=initrd,
                   append=("console=ttyS0 printk.time=1 " + extra).strip(), timeout=300) as q:
        q.expect(r"liveinit: stage 1 done", timeout=300)
        q.expect(READY, timeout=300)
        rows = steptimes.parse(q.shell(steptimes.CAT))
        return {"ms": stage1_ms(q.output), "unpack": unpack_ms(q.output), "rows": rows}


def xen_boot(extra):
    m = xenvm.live_guest(ISO, extra=("printk.time=1 " + extra).strip(), log_name="bench_speed_xen")
    with m:
        m.expect("dom0: xl create", timeout=300)
        m.expect(READY, timeout=300)
        text = m.output()
        m.sendline("echo B$((7000+1)); " + steptimes.CAT + "; echo E$((7000+1))")
        m.expect(r"(?s)B7001\r*\n(.*?)E7001", timeout=120)
        record = m.child.match.group(1).replace("\r", "")
    text = text[text.find("dom0: xl create"):]
    return {"ms": stage1_ms(text), "unpack": None, "rows": steptimes.parse(record)}


def uml_boot(extra):
    args = ["initrd=" + os.path.join(B, "initrd.img"), "root=/dev/ubda", "ubdar=" + ISO, "uml"] + extra.split()
    g = uml.UML(args, timeout=120).start()
    try:
        # UML's printk clock ticks in 10 ms steps here: stage 1's own figure (CLOCK_BOOTTIME, the same span
        # from its first instruction to the exec) is the finer measure.
        g.expect(r"liveinit: stage 1 done in ([\d.]+) ms")
        return {"ms": float(g.child.match.group(1)), "unpack": None, "rows": []}
    finally:
        g.kill()


def measure(variants, runs):
    """{name: [result, ...]} with the variants' boots alternating."""
    out = {name: [] for name, _ in variants}
    for _ in range(runs):
        for name, boot in variants:
            out[name].append(boot())
    return out


def med(results, key="ms"):
    vals = [r[key] for r in results if r[key] is not None]
    return statistics.median(vals) if vals else None


def med_breakdown(results):
    parts = [b for b in (steptimes.breakdown(r["rows"]) for r in results) if b]
    if not parts:
        return None
    return {k: statistics.median(p[k] for p in parts) for k in parts[0]}, len(parts)


def load():
    return "%.1f %.1f %.1f" % os.getloadavg()


def make_var(name):
    return subprocess.run(["make", "-s", "--no-print-directory", "print-" + name], cwd=TOP, capture_output=True,
                          text=True, check=True).stdout.strip()


def build_initrds(tmp):
    """{(comp, nics): path}: the PC initrd as the build makes it, with each compression, without and with the NIC
    drivers."""
    kver, kmoddir = make_var("PC_KVER"), os.path.join(TOP, make_var("PC_KMODDIR"))
    mods = make_var("PC_INITRD_MODULES").split()
    carry = [a for c in make_var("INITRD_CARRY").split() for a in ("--carry", os.path.join(TOP, c))]
    out = {}
    for comp in ("gzip", "xz", "zstd"):
        for nics in (False, True):
            path = os.path.join(tmp, "initrd-%s%s.img" % (comp, "-nic" if nics else ""))
            extra = [m for m in NIC_MODULES if m not in mods and "+" + m.lstrip("+?") not in mods] if nics else []
            subprocess.run([os.path.join(TOP, "initrd", "mkinitrd"), "--out", path, "--init",
                            os.path.join(B, "bin", "init"), "--busybox", make_var("BUSYBOX"), "--moddep",
                            os.path.join(B, "bin", "liveinit-moddep")] + carry +
                           ["--kmoddir", kmoddir, "--kver", kver, "--compress", comp] + mods + extra,
                           cwd=TOP, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out[(comp, nics)] = path
    return out


def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v


def main():
    if not os.path.exists(ISO):
        sys.exit("bench_speed: %s missing: run make" % ISO)
    print("\nissue 16: stage 1 loads only what the machine has (host load before: %s, %d CPUs)" %
          (load(), os.cpu_count()))
    qv = [("allmodules", lambda: qemu_boot("allmodules")), ("now", lambda: qemu_boot(""))]
    if OLD_INITRD:
        qv.append(("old initrd", lambda: qemu_boot("", OLD_INITRD)))
    q = measure(qv, RUNS)
    x = measure([("allmodules", lambda: xen_boot("allmodules")), ("now", lambda: xen_boot(""))], XEN_RUNS)
    u = measure([("allmodules", lambda: uml_boot("allmodules")), ("now", lambda: uml_boot(""))], RUNS)
    tmp = tempfile.mkdtemp(prefix="bench_speed.")
    try:
        irds = build_initrds(tmp)
        comp = measure([(c, (lambda p: lambda: qemu_boot("", p))(irds[(c, False)])) for c in ("gzip", "xz", "zstd")],
                       RUNS)
        sizes = {k: os.path.getsize(p) for k, p in irds.items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("host load after: %s\n" % load())

    print("| figure (median of %d; Xen %d) | before (same run) | now | now/before | target | met |" % (RUNS, XEN_RUNS))
    print("|---|---|---|---|---|---|")
    for name, res, target in (("qemu TCG, Run /init -> exec (live ISO), ms", q, 350),
                              ("Xen domU stage 1 (Xen-in-qemu), ms", x, 300),
                              ("UML, Debian's kernel, ISO mode (own clock), ms", u, 80)):
        old, new = med(res["allmodules"]), med(res["now"])
        print("| %s | %.0f (allmodules) | %.0f | %.2f | <= %d | %s |" % (name, old, new, new / old, target,
                                                                       "yes" if new <= target else "no"))
        if name.startswith("qemu") and OLD_INITRD:
            o = med(res["old initrd"])
            print("| qemu, against the old initrd, ms | %.0f (%s) | %.0f | %.2f | <= 350 | %s |" % (
                o, OLD_INITRD, new, new / o, "yes" if new <= 350 else "no"))
    size = os.path.getsize(PC_INITRD)
    print("| PC initrd size, bytes | {:,} (before issue 16) | {:,} | {:.3f} | <= 2,500,000 | {} |".format(
        BEFORE_ISSUE16, size, size / BEFORE_ISSUE16, "yes" if size <= 2500000 else "no"))
    print("| PC initrd unpack (kernel), ms | %s (gzip) | %s | %s | - | - |" % (
        fmt(med(comp["gzip"], "unpack")), fmt(med(q["now"], "unpack")),
        fmt(med(q["now"], "unpack") / med(comp["gzip"], "unpack"), "%.2f")))

    print("\nWhere stage 1's time goes now (ms, medians of the record's breakdown; kernel = the kernel's own work):")
    print("| platform | before the first load (ours) | module loads (kernel) | hardware probe until the disk "
          "appears (kernel) | disk -> exec (ours: probe, mounts, switch) | boots with a device/ line |")
    print("|---|---|---|---|---|---|")
    for name, res in (("qemu CD", q["now"]), ("Xen domU", x["now"])):
        b = med_breakdown(res)
        if b:
            d, n = b
            print("| %s | %.0f | %.0f | %.0f | %.0f | %d of %d |" % (name, d["before"], d["loads"], d["probe"],
                                                                   d["after"], n, len(res)))
        else:
            print("| %s | - | - | - | - | 0 of %d |" % (name, len(res)))

    print("\nPC initrd compression (same archive; unpack = the kernel's, qemu TCG, median of %d):" % RUNS)
    print("| compression | size, bytes | with NIC drivers, bytes | unpack, ms |")
    print("|---|---|---|---|")
    for c in ("gzip", "xz", "zstd"):
        print("| %s | {:,} | {:,} | %s |".format(sizes[(c, False)], sizes[(c, True)]) % (
            c, fmt(med(comp[c], "unpack"))))
    print("\nruns (ms): " + "; ".join("%s %s: %s" % (plat, v, ["%.0f" % r["ms"] for r in res[v]])
                                     for plat, res in (("qemu", q), ("xen", x), ("uml", u)) for v in res))
    print("unpack runs (ms): " + "; ".join("%s: %s" % (c, [fmt(r["unpack"]) for r in comp[c]]) for c in comp))
    print("breakdowns (qemu now): %s" % [steptimes.breakdown(r["rows"]) for r in q["now"]])
    print("breakdowns (xen now): %s" % [steptimes.breakdown(r["rows"]) for r in x["now"]])


if __name__ == "__main__":
    main()
