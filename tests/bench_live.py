"""make bench: issue 13's features in UML, each against a reference measured in the same run (median of 3 boots).

  persistence   stage 1's own time and the host time from start to the ready line, ISO boot with a persistence
                image ("/ union") vs the same boot without
  findiso       the same two figures for findiso= (ISO file on an ext4 image, no root=) vs the ISO as ubda
  toram         the copy's throughput as stage 1 reports it (44 MiB squashfs, mem=192M)"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uml  # noqa: E402

B = uml.BUILD
ISO = os.path.join(B, "live.iso")
INITRD = "initrd=" + os.path.join(B, "initrd.img")
RUNS = 3


def boot(args, mem="128M"):
    """(stage 1 ms by its own clock, seconds from start to the ready line, console text)."""
    t0 = time.monotonic()
    g = uml.UML(args, mem=mem, timeout=120).start()
    try:
        g.expect(r"liveinit: stage 1 done in ([\d.]+) ms")
        own = float(g.child.match.group(1))
        g.expect(uml.READY)
        ready = time.monotonic() - t0
        return own, ready, g.output
    finally:
        g.kill()


def median_boots(args, mem="128M"):
    runs = [boot(args, mem) for _ in range(RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), [r[2] for r in runs]


def mkfs(path, size_mb, label=None, tree=None):
    subprocess.run(["truncate", "-s", "%dM" % size_mb, path], check=True)
    cmd = ["mkfs.ext4", "-q", "-F"] + (["-L", label] if label else []) + (["-d", tree] if tree else []) + [path]
    subprocess.run(cmd, check=True)


def main():
    with tempfile.TemporaryDirectory(dir=B) as tmp:
        conf = os.path.join(tmp, "pconf")
        os.makedirs(conf)
        with open(os.path.join(conf, "persistence.conf"), "w") as f:
            f.write("/ union\n")
        persist = os.path.join(tmp, "persist.img")
        mkfs(persist, 64, "persistence", conf)
        tree = os.path.join(tmp, "isotree", "isos")
        os.makedirs(tree)
        os.link(ISO, os.path.join(tree, "live.iso"))
        disk = os.path.join(tmp, "disk.img")
        mkfs(disk, 100, None, os.path.dirname(tree))

        base = [INITRD, "root=/dev/ubda", "ubdar=" + ISO, "uml"]
        ref = median_boots(base)
        pers = median_boots(base + ["ubdb=" + persist, "persistence"])
        fiso = median_boots([INITRD, "ubdbr=" + disk, "findiso=/isos/live.iso", "uml"])
        toram = median_boots(base + ["toram"], mem="192M")
        rates = [float(re.search(r"Copied \S+ to RAM: \d+ MiB in [\d.]+ s, (\d+) MB/s", out).group(1))
                 for out in toram[2]]

    print("\nissue 13 in UML (median of %d boots; host load %.2f at the end)" % (RUNS, os.getloadavg()[0]))
    print("%-34s %16s %8s %18s %8s" % ("boot", "stage 1 (ms)", "ratio", "start->ready (s)", "ratio"))
    for name, (own, ready, _) in [("ISO, tmpfs upper (reference)", ref), ("ISO + persistence (/ union)", pers),
                                  ("findiso= on ext4 (no root=)", fiso), ("ISO + toram (mem=192M)", toram)]:
        print("%-34s %16.1f %8.2f %18.2f %8.2f" % (name, own, own / ref[0], ready, ready / ref[1]))
    print("toram copy of the 44 MiB squashfs: %s MB/s (median %.0f)" % (" ".join("%.0f" % r for r in rates),
                                                                       statistics.median(rates)))


if __name__ == "__main__":
    main()
