#!/usr/bin/env python3
"""make bench: netboot (fetch=) in UML over a tap, against a local boot of the same root from live.iso in the
same run: fetch throughput (MB/s, stage 1's own figure), time from the kernel's "Run /init" to the ready line
(guest clock: the kernel's timestamp, then /proc/uptime at the first shell command after ready), and the bytes
the server sent per client (tap tx counters), for 1 client and for 4 clients booting at once from one server.
Then the same on qemu PCs (TCG) booting by PXE (tests/pxelab.py: iPXE ROM, dnsmasq DHCP/TFTP/DNS, busybox
httpd): 1 client (e1000) and 4 at once (virtio-net-pci, e1000, e1000e, rtl8139), against the same kernel and
initrd booting the live CD in qemu in the same run.  Server bytes per PC client include iPXE's HTTP loads of
the kernel and the initrd.  Needs root, user-mode-linux, qemu-system-x86 and ipxe-qemu."""
import os
import re
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import uml  # noqa: E402
from dhcpnet import Lab  # noqa: E402
from pxelab import KERNEL, PxeLab, boot_together  # noqa: E402
from pxelab import INITRD as PC_INITRD  # noqa: E402
from test_netboot import INITRD, ISO, MEM, SQUASHFS, NetbootLab, sha256  # noqa: E402

URL = "http://boot:8000/live/filesystem.squashfs"


def tx_bytes(nb, tap):
    out = subprocess.run(["ip", "netns", "exec", nb.n.srv, "cat", f"/sys/class/net/{tap}/statistics/tx_bytes"],
                         capture_output=True, text=True, check=True).stdout
    return int(out)


def run_guests(args_list, prefix):
    """Start the guests together, one reader thread each (so every console is read as it prints); per guest:
    seconds from "Run /init" (kernel timestamp) to the first shell command after the ready line (/proc/uptime), and stage 1's own MB/s figure."""
    gs = [uml.UML(a, mem=MEM, timeout=600, prefix=prefix).start() for a in args_list]
    res = [None] * len(gs)
    errors = []

    def follow(i, g):
        try:
            t0 = float(g.expect(r"\[\s*([\d.]+)\] Run /init as init process").group(1))
            rate = None
            if any(a.startswith("fetch=") for a in args_list[i]):
                rate = float(g.expect(r"Fetched \S+: \d+ bytes in [\d.]+ s \(([\d.]+) MB/s\)").group(1))
            g.expect(uml.READY)
            # the guest's clock: the console reaches the host late and in bursts, so host timestamps of its
            # lines are not when they were printed.  /proc/uptime read at the first shell command after ready.
            up = float(g.shell("cat /proc/uptime").split()[0])
            res[i] = (up - t0, rate)
        except Exception as e:  # reported after the join
            errors.append(e)

    try:
        threads = [threading.Thread(target=follow, args=(i, g)) for i, g in enumerate(gs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        for g in gs:
            g.poweroff(timeout=120)
        return res
    finally:
        for g in gs:
            g.kill()


def pc_follow(q, res):
    """Run /init -> the first shell command after ready (guest clock), and stage 1's MB/s if it fetched."""
    t0 = float(q.expect(r"\[\s*([\d.]+)\] Run /init as init process").group(1))
    rate = None
    if q.fetches:
        rate = float(q.expect(r"Fetched \S+: \d+ bytes in [\d.]+ s \(([\d.]+) MB/s\)").group(1))
    q.expect(uml.READY)
    # kernel messages may land between the shell's lines on a serial console
    up = float(re.search(r"^([\d.]+) [\d.]+$", q.shell("cat /proc/uptime"), re.M).group(1))
    res[q] = (up - t0, rate)
    assert q.poweroff(timeout=300) == 0


def pc_rows():
    """The PC figures: a local CD boot (reference), then PXE with 1 and 4 clients."""
    res = {}
    q = qemu.Qemu(kernel=KERNEL, initrd=PC_INITRD, append="console=ttyS0", cdrom=ISO, nic=None, mem="320",
                  timeout=600)
    q.fetches = False
    try:
        boot_together([q], lambda q: pc_follow(q, res))
    finally:
        q.kill()
    ref = res[q][0]
    rows = [("qemu PC, live.iso as CD (reference)", 1, ref, None, None)]
    for nics in (["e1000"], ["virtio-net-pci", "e1000", "e1000e", "rtl8139"]):
        with PxeLab(clients=len(nics)) as lab:
            qs = [lab.client(i, nic, timeout=900) for i, nic in enumerate(nics)]
            for q in qs:
                q.fetches = True
            before = [lab.tx_bytes(i) for i in range(len(qs))]
            res = {}
            try:
                boot_together(qs, lambda q: pc_follow(q, res))
            finally:
                for q in qs:
                    q.kill()
            sent = [lab.tx_bytes(i) - b for i, b in enumerate(before)]
        n = len(nics)
        rows.append((f"qemu PXE, {n} client{'s' if n > 1 else ''} at once", n,
                     statistics.median(r[0] for r in res.values()), statistics.median(r[1] for r in res.values()),
                     statistics.median(sent)))
    return ref, rows


def print_table(title, ref, rows):
    print("\n" + title)
    print("%-36s %18s %8s %14s %20s" % ("boot", "Run /init->shell s", "ratio", "fetch MB/s", "server bytes/client"))
    for name, n, t, rate, sent in rows:
        print("%-36s %18.1f %8.2f %14s %20s" % (name, t, t / ref, "%.1f" % rate if rate else "-",
                                               "%d" % sent if sent else "-"))
    print("(the host is shared: absolute times vary with its load; the ratio is to the local boot of this run)")


def load():
    return "%.1f %.1f %.1f" % os.getloadavg()


def main():
    made = []

    def lab(**kw):
        x = Lab(**kw)
        made.append(x)
        return x

    rows = []
    uml_load = load()
    try:
        local = run_guests([[f"initrd={INITRD}", "root=/dev/ubda", f"ubdar={ISO}", "uml"]], prefix=())
        ref = local[0][0]
        rows.append(("local live.iso (reference)", 1, ref, None, None))
        for n in (1, 4):
            nb = NetbootLab(lab, f"10.9{n}.0", clients=n)
            with open(os.path.join(nb.www, "live", "filesystem.squashfs.sha256"), "w") as f:
                f.write(f"{sha256(SQUASHFS)}  filesystem.squashfs\n")
            before = [tx_bytes(nb, t) for t in nb.taps]
            res = run_guests([[f"initrd={INITRD}", "uml", f"fetch={URL}", f"vec0:transport=tap,ifname={t},gro=1"]
                              for t in nb.taps], prefix=["ip", "netns", "exec", nb.n.srv])
            sent = [tx_bytes(nb, t) - b for t, b in zip(nb.taps, before)]
            rows.append((f"fetch=, {n} client{'s' if n > 1 else ''} at once", n,
                         statistics.median(r[0] for r in res), statistics.median(r[1] for r in res),
                         statistics.median(sent)))
            nb.close()
    finally:
        for x in made:
            x.close()
    print_table("netboot in UML (fetch= of build/root.squashfs, %d bytes; medians over the clients; host load "
                "before %s, after %s)" % (os.path.getsize(SQUASHFS), uml_load, load()), ref, rows)
    before = load()
    pc_ref, pc = pc_rows()
    print_table("netboot on qemu PCs (TCG) by PXE: iPXE, kernel + initrd by HTTP, then fetch= (medians over "
                "the clients; host load before %s, after %s)" % (before, load()), pc_ref, pc)


if __name__ == "__main__":
    main()
