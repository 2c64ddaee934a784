"""make bench: N `create` guests started at once on this host; for each, the time from its `create` call to
stage 1's "Switching to the live root" (its overlay root is mounted) and to the ready line.  Target: every
guest's overlay root within 10 s of its start.

usage: bench_create.py [--guests 10] [--mem 64M]
"""
import argparse
import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from createlib import READY, SWITCH, PANIC, RunDir  # noqa: E402

TARGET = 10.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--guests", type=int, default=10)
    ap.add_argument("--mem", default="64M")
    ap.add_argument("--timeout", type=float, default=120)
    opts = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-create-%d-" % os.getpid())
    rd = RunDir(os.path.join(tmp, "run"))
    names = ["b%d" % (i + 1) for i in range(opts.guests)]
    t0, returned, errors = {}, {}, {}

    def start(name):
        t0[name] = time.monotonic()
        p = rd.run("--mem", opts.mem, "--name", name)
        returned[name] = time.monotonic()
        if p.returncode != 0:
            errors[name] = p.stderr.strip()

    load = os.getloadavg()[0]
    try:
        threads = [threading.Thread(target=start, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        switch, ready = {}, {}
        deadline = time.monotonic() + opts.timeout
        while time.monotonic() < deadline and len(ready) + len(errors) < len(names):
            now = time.monotonic()
            for n in names:
                if n in ready or n in errors:
                    continue
                text = rd.log(n)
                if n not in switch and re.search(SWITCH, text):
                    switch[n] = now - t0[n]
                if re.search(READY, text):
                    ready[n] = now - t0[n]
                    switch.setdefault(n, ready[n])
                elif re.search(PANIC, text):
                    errors[n] = "kernel panic"
            time.sleep(0.05)

        stop_t = time.monotonic()
        p = rd.run("stop", "--all", timeout=300)
        stop_s = time.monotonic() - stop_t

        print("\ncreate bench: %d guests at once, mem=%s each, %d CPUs, host load %.2f at the start "
              "(target: overlay root within %.0f s)" % (opts.guests, opts.mem, os.cpu_count(), load, TARGET))
        print("%-6s %10s %12s %10s  %s" % ("guest", "create s", "overlay s", "ready s", "result"))
        worst = 0.0
        ok = 0
        for n in names:
            sw, rdy = switch.get(n), ready.get(n)
            if n in errors:
                res = "FAIL: " + errors[n].splitlines()[-1] if errors[n] else "FAIL"
            elif sw is None:
                res = "FAIL: no overlay root within %.0f s" % opts.timeout
            else:
                res = "ok" if sw <= TARGET else "SLOW"
                ok += sw <= TARGET
                worst = max(worst, sw)
            fmt = lambda v: "%.2f" % v if v is not None else "-"  # noqa: E731
            print("%-6s %10s %12s %10s  %s" % (n, fmt(returned.get(n, t0[n]) - t0[n]), fmt(sw), fmt(rdy), res))
        print("worst overlay root: %.2f s; %d/%d within %.0f s; stop --all: %.1f s (exit %d)"
              % (worst, ok, len(names), TARGET, stop_s, p.returncode))
        return 0 if ok == len(names) else 1
    finally:
        rd.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
