#!/usr/bin/env python3
"""make bench: time from start to a configured address, ours (dhcpc -1) against busybox udhcpc (-q, with a
script that configures the address the way its default script does), on the same dnsmasq in a namespace.
Median of 10 runs each after one warm-up run, the ratio, binary size and peak RSS.  Needs root."""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import queue  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402

from dhcpnet import DHCPC, Lab, wait_for  # noqa: E402

RUNS = 10

UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
    ip addr add "$ip/$mask" broadcast "${broadcast:-+}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    [ -n "$dns" ] && { for s in $dns; do echo "nameserver $s"; done > "$RESOLV.new" && mv "$RESOLV.new" "$RESOLV"; }
    ;;
esac
exit 0
"""


class AddressWatch:
    """`ip monitor address` in the client namespace, read by a thread that timestamps each new address:
    the moment the kernel has the address is what "configured" means, for both clients."""

    def __init__(self, lab):
        self.p = subprocess.Popen(["ip", "-n", lab.cli, "-o", "monitor", "address"], stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.3)   # let it subscribe before the first client starts

    def _read(self):
        for line in self.p.stdout:
            if " inet " in line and not line.startswith("Deleted"):
                self.events.put(time.perf_counter())

    def next_after(self, t0, timeout=10):
        deadline = time.perf_counter() + timeout
        while True:
            t = self.events.get(timeout=max(0.01, deadline - time.perf_counter()))
            if t >= t0:
                return t

    def close(self):
        self.p.terminate()
        self.p.wait()


def timed(lab, watch, cmd, env=None):
    """Run cmd in the client namespace; returns (seconds to the address, seconds to exit)."""
    lab.ip(lab.cli, "-4", "addr", "flush", "dev", lab.cif)
    time.sleep(0.05)
    t0 = time.perf_counter()
    r = subprocess.run(["nsenter", f"--net=/run/netns/{lab.cli}"] + cmd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_exit = time.perf_counter() - t0
    if r.returncode != 0 or not lab.addresses():
        raise SystemExit(f"bench_dhcp: {cmd[0]} exited {r.returncode} without configuring {lab.cif}")
    return watch.next_after(t0) - t0, t_exit


def peak_rss(lab, cmd, env=None):
    """Start cmd as a long-running client, wait for the address, read its VmHWM (peak RSS of its own
    image: nsenter execs in place, and the high-water mark starts afresh at exec), then stop it."""
    lab.ip(lab.cli, "-4", "addr", "flush", "dev", lab.cif)
    p = subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.cli}"] + cmd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: lab.addresses(), 10, f"{cmd[0]} to configure {lab.cif}")
        time.sleep(0.2)
        with open(f"/proc/{p.pid}/status") as f:
            return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])
    finally:
        p.terminate()
        p.wait(10)


def main():
    if os.geteuid() != 0:
        print("bench_dhcp: needs root (network namespaces); skipped")
        return
    lab = Lab(subnet="10.99.0")
    # The client's files live on tmpfs, as /run and the live root's /etc do in the guest.
    state = tempfile.mkdtemp(prefix="bench_dhcp.", dir="/dev/shm")
    try:
        lab.server_ip()
        lab.dnsmasq(extra=["--dhcp-option=6,10.99.0.53"])
        script = os.path.join(state, "udhcpc.script")
        with open(script, "w") as f:
            f.write(UDHCPC_SCRIPT)
        os.chmod(script, 0o755)
        common = ["--lease-dir", os.path.join(state, "run"), "--resolv-conf", os.path.join(state, "resolv.ours")]
        ours = [DHCPC, "-1", "-q", "--timeout", "10"] + common + [lab.cif]
        theirs = ["busybox", "udhcpc", "-f", "-q", "-n", "-t", "5", "-T", "1", "-i", lab.cif, "-s", script]
        env = dict(os.environ, RESOLV=os.path.join(state, "resolv.udhcpc"))
        watch = AddressWatch(lab)
        times = {"dhcpc": [], "udhcpc": []}
        noarp = ours[:-1] + ["--arp-wait", "0", lab.cif]
        times["noarp"] = []
        timed(lab, watch, ours)          # warm-up: the server's first allocation (and its ping check)
        timed(lab, watch, theirs, env)
        for _ in range(RUNS):            # interleaved, so all see the same machine load
            times["dhcpc"].append(timed(lab, watch, ours))
            times["udhcpc"].append(timed(lab, watch, theirs, env))
            times["noarp"].append(timed(lab, watch, noarp))
        watch.close()
        rss = {"dhcpc": peak_rss(lab, [DHCPC, "-f", "-q"] + common + [lab.cif]),
               "udhcpc": peak_rss(lab, [a for a in theirs if a != "-q"], env)}
    finally:
        lab.close()
        subprocess.run(["rm", "-rf", state])

    def med(name, i):
        return statistics.median(r[i] for r in times[name])

    t_ours, t_theirs = med("dhcpc", 0), med("udhcpc", 0)
    size = os.path.getsize(DHCPC)
    bb = subprocess.run(["sh", "-c", "command -v busybox"], capture_output=True, text=True).stdout.strip()
    print()
    print(f"DHCP: time from start to a configured address (median of {RUNS}, same dnsmasq, veth in a netns)")
    print(f"{'client':<24}{'to address s':>13}{'min s':>8}{'max s':>8}{'to exit s':>11}{'peak RSS KiB':>14}"
          f"{'binary bytes':>14}")
    rss["noarp"] = rss["dhcpc"]
    for name, label, binsize in (("dhcpc", "dhcpc (ours, static)", size),
                                 ("noarp", "dhcpc --arp-wait 0", size),
                                 ("udhcpc", "busybox udhcpc + script", os.path.getsize(bb))):
        ts = [r[0] for r in times[name]]
        print(f"{label:<24}{statistics.median(ts):>13.3f}{min(ts):>8.3f}{max(ts):>8.3f}{med(name, 1):>11.3f}"
              f"{rss[name]:>14}{binsize:>14}")
    print(f"ratio ours/udhcpc: {t_ours / t_theirs:.2f}  (target <= 1.00)")
    print(f"dhcpc binary: {size} bytes = {size / 1024:.1f} KiB (target <= 64 KiB)")
    print("(dhcpc waits 50 ms for an ARP conflict by default; the --arp-wait 0 row shows that cost.  udhcpc"
          " checks nothing by default.\n busybox is the whole multi-call binary; its RSS excludes the script's"
          " shell and ip processes.)")


if __name__ == "__main__":
    main()
