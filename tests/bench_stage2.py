"""make bench: stage 2's shutdown speed and memory floor, in real UML guests (prints a table).

  poweroff -> UML exit   host time from sending `poweroff` to the UML process' exit, median of 5 boots:
                         an idle system; with 50 idle processes that exit on TERM; with one that ignores TERM
                         (that one waits shutdown_timeout, default 5 s, then KILLs).
  smallest mem=          the smallest of 24M 32M 48M 64M whose boot reaches the ready line and runs a command.
Targets (issue 3): <= 300 ms when every process obeys TERM; shutdown_timeout + <= 300 ms with one that
ignores it; a shell at mem=24M.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uml  # noqa: E402

LIVE = ["initrd=" + os.path.join(uml.BUILD, "initrd.img"), "root=/dev/ubda",
        "ubdar=" + os.path.join(uml.BUILD, "live.iso"), "uml"]
RUNS = 5
SETUPS = {
    "idle system": None,
    "50 idle processes obeying TERM": "for i in $(seq 50); do sleep 1000 & done; sleep 0.2; ps | grep -c 'sleep 100[0]'",
    "1 process ignoring TERM": "sh -c 'trap \"\" TERM HUP; exec sleep 1000' >/dev/null 2>&1 & echo started",
}


def poweroff_time(setup):
    with uml.UML(LIVE, mem="128M", timeout=90) as g:
        g.expect(uml.READY)
        if setup:
            g.shell(setup)
        g.shell("true")  # the shell is idle at its prompt
        t0 = time.monotonic()
        status = g.poweroff(timeout=60)
        took = time.monotonic() - t0
        if status != 0:
            raise SystemExit("bench: poweroff exited %s; console in %s" % (status, g.logpath))
        return took


def reaches_shell(mem):
    with uml.UML(LIVE, mem=mem, timeout=60) as g:
        try:
            g.expect(uml.READY)
            ok = g.shell("echo alive").strip() == "alive"
        except AssertionError:
            return False
        g.poweroff(timeout=60)
        return ok


def main():
    rows = []
    for name, setup in SETUPS.items():
        times = [poweroff_time(setup) for _ in range(RUNS)]
        rows.append((name, statistics.median(times), min(times), max(times)))
    mems = {m: reaches_shell(m) for m in ["24M", "32M", "48M", "64M"]}

    print()
    print("stage 2: poweroff -> UML exit (host clock, %d boots each)" % RUNS)
    print("%-34s %10s %10s %10s" % ("case", "median ms", "min ms", "max ms"))
    for name, med, lo, hi in rows:
        print("%-34s %10.0f %10.0f %10.0f" % (name, med * 1000, lo * 1000, hi * 1000))
    print()
    print("stage 2: memory (live ISO boot to the ready line and a shell command)")
    print("%-8s %s" % ("mem=", "result"))
    for m, ok in mems.items():
        print("%-8s %s" % (m, "shell" if ok else "no shell"))
    working = [m for m, ok in mems.items() if ok]
    print("smallest mem= reaching the shell: %s" % (working[0] if working else "none of them"))


if __name__ == "__main__":
    main()
