#!/usr/bin/env python3
"""Regenerate tests/fuzz/dhcp-seeds/ from real exchanges: dhcpc against dnsmasq (many options, a NAK)
and busybox udhcpd, captured with tcpdump in a namespace.  Each seed is one IPv4 frame as the client's
packet socket sees it (the fuzzer also tries every input as a bare DHCP payload).  Needs root."""
import os
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dhcpnet import Lab, wait_for  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dhcp-seeds")


def frames(pcap):
    data = open(pcap, "rb").read()
    linktype = struct.unpack("<I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        yield pkt[14:] if linktype == 1 else pkt


def capture(lab, name):
    pcap = os.path.join(lab.tmp, name + ".pcap")
    p = subprocess.Popen(["ip", "netns", "exec", lab.srv, "tcpdump", "-n", "-U", "-w", pcap, "-i", lab.sif,
                          "udp port 67 or udp port 68"], stderr=subprocess.DEVNULL)
    time.sleep(1)
    return p, pcap


def save(pcap, prefix):
    n = 0
    for i, f in enumerate(frames(pcap)):
        if len(f) > 28 and f[28] == 2:   # BOOTREPLY only: what the client parses
            with open(os.path.join(OUT, f"{prefix}-{i:02d}"), "wb") as out:
                out.write(f)
            n += 1
    return n


def main():
    os.makedirs(OUT, exist_ok=True)
    lab = Lab(subnet="10.90.0")
    try:
        lab.server_ip()
        cap, pcap = capture(lab, "dnsmasq")
        first, _, _ = lab.dnsmasq(name="a", rng=("100", "110"), extra=[
            "--dhcp-option=26,1400", "--dhcp-option=6,10.90.0.53,10.90.0.54", "--domain=corp.test",
            "--dhcp-option=option:domain-search,a.test,b.example.test", "--dhcp-option=42,10.90.0.9"])
        p, _ = lab.client()
        lab.wait_state("bound")
        first.terminate()
        first.wait()
        lab.dnsmasq(name="b", rng=("200", "210"), extra=["--dhcp-authoritative"])
        p.send_signal(signal.SIGUSR1)
        wait_for(lambda: lab.lease().get("address", "").startswith("10.90.0.2"), 15, "the lease after the NAK")
        time.sleep(0.5)
        cap.terminate()
        cap.wait()
        print("dnsmasq:", save(pcap, "dnsmasq"))
    finally:
        lab.close()
    lab = Lab(subnet="10.91.0")
    try:
        lab.server_ip()
        cap, pcap = capture(lab, "udhcpd")
        lab.udhcpd(lease_s=4)
        p, log = lab.client()
        wait_for(lambda: "renewed" in open(log).read(), 10, "a renewal")
        time.sleep(0.5)
        cap.terminate()
        cap.wait()
        print("udhcpd:", save(pcap, "udhcpd"))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
