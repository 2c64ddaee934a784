"""PXE on a qemu PC: real servers in a namespace the test makes (tests/pxelab.py: dnsmasq for DHCP, TFTP and DNS,
busybox httpd), qemu (TCG) booting with `-boot n` through its NIC's iPXE ROM: boot.ipxe by TFTP, Debian's
kernel and our PC initrd by HTTP, then stage 1 loads the NIC's driver by modalias, gets its own lease and
fetches the image by the short name `boot` (the lease's search domain); stage 2 takes the lease over.

Needs root (namespaces), qemu-system-x86 and ipxe-qemu.  Every namespace, process and guest is removed on
failure too.  About 3 minutes on 2 shared cores (four TCG guests at once are most of it).
"""
import os
import re

import pytest

import qemu
import uml
from pxelab import BOOT_IPXE, INITRD, NIC_DRIVER, README_DNSMASQ, SQUASHFS, URL, PxeLab, boot_together

# ipxe-qemu (scripts/deps) is not skipped for: without the ROM, qemu refuses to start and the tests fail.
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")

NIC_MODULES = {m for mods in NIC_DRIVER.values() for m in mods} | {"igb", "r8169", "tg3", "bnx2", "vmxnet3",
                                                                   "xen-netfront", "xen_netfront"}
FETCHED = r"Fetched " + re.escape(URL) + r": (\d+) bytes in ([\d.]+) s \(([\d.]+) MB/s\)"


def stage1_modules(q):
    """The modules stage 1 loaded (its timing record's module/NAME lines)."""
    return re.findall(r"^module/(\S+) ", q.shell("cat /run/liveinit/timing"), re.M)


def netboot_to_ready(q):
    """From power-on to the ready line; returns (stage 1's interface, its address)."""
    q.expect(r"iPXE")                                     # the NIC's ROM
    q.expect(qemu.STAGE1)
    m = q.expect(r"dhcpc: (\w+): bound (192\.168\.50\.\d+)/24")
    iface, addr = m.group(1), m.group(2)
    q.expect(FETCHED)
    assert int(q.child.match.group(1)) == os.path.getsize(SQUASHFS)
    q.expect(r"Checking " + re.escape(URL) + r"\.\.\. ok")
    q.expect(uml.READY)
    return iface, addr


def check_nic_driver(q):
    """Stage 1 loaded the driver of this NIC, and no other NIC driver."""
    mods = set(stage1_modules(q))
    want = set(NIC_DRIVER[q.nic])
    assert mods & want, f"{q.nic}: stage 1 loaded none of {want}: {sorted(mods)}"
    assert not (mods & NIC_MODULES) - want, f"{q.nic}: other NIC drivers loaded: {sorted(mods & NIC_MODULES)}"


def dhcp_lines(log, mac, kind):
    return re.findall(rf"{kind}\(\S+\) (?:(\S+) )?{re.escape(mac)}", log)


def test_pxe_boot_fetch_by_name_and_stage2_keeps_the_lease():
    """One PC with an e1000 (qemu's default NIC): iPXE -> boot.ipxe (TFTP) -> kernel + initrd (HTTP) ->
    stage 1's e1000 by modalias, DHCP, fetch by name with the checksum from URL.sha256 -> ready; stage 2's dhcpc
    resumes stage 1's lease (same address, no new DISCOVER or ACK at the server), releases it at poweroff."""
    with PxeLab(clients=1) as lab:
        q = lab.client(0, "e1000").start()
        try:
            iface, addr = netboot_to_ready(q)
            resumed = rf"dhcpc: {iface}: resumed {re.escape(addr)}/24 lease \d+s left"
            for _ in range(30):   # stage 2's dhcpc prints in the background: before or after the ready line
                if re.search(resumed, q.output):
                    break
                q.shell("sleep 1")
            assert re.search(resumed, q.output), q.output[-3000:]
            check_nic_driver(q)
            assert f"inet {addr}/24" in q.shell(f"ip -4 addr show dev {iface}")
            assert "state=bound" in q.shell(f"cat /run/dhcpc/{iface}.lease")
            assert "nameserver 192.168.50.1" in q.shell("cat /etc/resolv.conf")
            assert q.poweroff(timeout=180) == 0
            out = q.output.replace("\r", "")
        finally:
            q.kill()
        assert f"dhcpc: {iface}: released {addr}" in out, out[-3000:]
        dns = lab.log(lab.dnslog)
        # iPXE's exchange, then stage 1's: two ACKs, the last one for the address stage 2 kept; none after it.
        acks = dhcp_lines(dns, q.mac, "DHCPACK")
        assert len(acks) == 2 and acks[-1] == addr, dns
        last_ack = dns.rfind("DHCPACK(")
        assert "DHCPDISCOVER" not in dns[last_ack:], dns
        assert dhcp_lines(dns, q.mac, "DHCPRELEASE"), dns
        assert re.search(r"sent \S+/boot\.ipxe to 192\.168\.50\.\d+", dns), dns          # TFTP
        assert "query[A] boot.lab.lan" in dns
        http = lab.log(lab.httplog)
        for path in ("/vmlinuz", "/initrd.img", "/live/filesystem.squashfs.sha256"):
            assert re.search(rf"url:{re.escape(path)}$", http, re.M), http
        assert len(re.findall(r"url:/live/filesystem\.squashfs$", http, re.M)) == 1, http


def test_four_pxe_clients_with_different_nics():
    """Four PCs boot at once from one server, each with another emulated NIC (virtio-net-pci, e1000, e1000e,
    rtl8139): each gets its own address, stage 1 loads each one's own driver by modalias, each reaches ready,
    and the server's log shows one fetch of the image per client."""
    nics = ["virtio-net-pci", "e1000", "e1000e", "rtl8139"]
    with PxeLab(clients=len(nics)) as lab:
        qs = [lab.client(i, nic) for i, nic in enumerate(nics)]
        addrs = {}

        def follow(q):
            addrs[q.nic] = netboot_to_ready(q)[1]
            check_nic_driver(q)
            assert q.poweroff(timeout=300) == 0

        try:
            boot_together(qs, follow)
        finally:
            for q in qs:
                q.kill()
        assert len(set(addrs.values())) == 4, addrs
        http = lab.log(lab.httplog)
        getters = re.findall(r"^(192\.168\.50\.\d+):\d+: url:/live/filesystem\.squashfs$", http, re.M)
        assert sorted(getters) == sorted(addrs.values()), http


def test_pxe_404_one_line_then_rescue():
    """The image is not on the server: one line per attempt naming the URL and the step, then the rescue
    shell (on a virtio NIC: virtio_pci first, then virtio_net for the device that appears behind it)."""
    url = "http://boot/live/missing.squashfs"
    with PxeLab(clients=1, url=url, checksum=False) as lab:
        q = lab.client(0, "virtio-net-pci").start()
        try:
            q.expect(qemu.STAGE1)
            q.expect(r"liveinit: fetch: " + re.escape(url) + r": GET: HTTP 404 Not Found; retrying in 1 s")
            q.expect(r"liveinit: fetch: " + re.escape(url) + r": GET: HTTP 404 Not Found \(giving up\)", timeout=120)
            q.expect(qemu.RESCUE)
            q.expect(r"#")
            assert "virtio_net" in q.shell("cat /proc/modules")
            out = q.output.replace("\r", "")
        finally:
            q.kill()
        assert "no checksum" not in out and not re.search(uml.READY, out)
        http = lab.log(lab.httplog)
        assert http.count("url:/live/missing.squashfs\n") == 5 and "response:404" in http, http


def test_pc_initrd_packs_nic_drivers_not_loaded_at_start():
    """Every NIC driver of PC_NIC_MODULES is in the PC initrd with its modalias lines, and none is in
    liveinit.load (what `allmodules` loads at start): stage 1 loads them only by modalias, for fetch=."""
    import subprocess
    names = subprocess.run(["make", "-s", "--no-print-directory", "print-PC_NIC_MODULES"], cwd=uml.TOP,
                           capture_output=True, text=True, check=True).stdout.split()
    cat = os.path.join(uml.TOP, "initrd", "initrd-cat")   # gzip, xz or zstd, as mkinitrd made it
    listing = subprocess.run(f"'{cat}' '{INITRD}' | cpio -t --quiet", shell=True, capture_output=True,
                             text=True, check=True).stdout.split()
    moddir = [p for p in listing if p.endswith("/modules.alias")][0].rsplit("/", 1)[0]
    files = subprocess.run(f"'{cat}' '{INITRD}' | cpio -i --quiet --to-stdout '{moddir}/modules.alias' "
                           f"'{moddir}/liveinit.load'", shell=True, capture_output=True, text=True,
                           check=True).stdout
    assert len(names) >= 10 and all(n.startswith("+") for n in names), names
    for n in (n[1:] for n in names):
        assert any(p.endswith(f"/{n}.ko") for p in listing), f"{n}.ko not in {INITRD}"
        assert re.search(rf"^alias \S+ {n.replace('-', '_')}$", files, re.M), f"no modalias lines for {n}"
        assert not re.search(rf"^{re.escape(n)}$", files, re.M), f"{n} is loaded at start (liveinit.load)"


def readme_netboot():
    with open(os.path.join(uml.TOP, "README.md")) as f:
        text = f.read()
    return text[text.index("## Netboot"):text.index("## Network: the DHCP client")]


def test_readme_netboot_example_is_what_the_tests_run():
    """The README's server example is the configuration these tests run (interface and directories aside)."""
    text = readme_netboot()
    cmd = re.search(r"^dnsmasq (.*?)\n(?!  )", text, re.M | re.S).group(1)
    opts = [o for o in cmd.replace("\\\n", " ").split() if o != "--no-daemon"]
    want = [o.format(iface="eth1", tftp="/srv/netboot/tftp") for o in README_DNSMASQ]
    assert opts == want
    assert BOOT_IPXE.format(url=URL) in text
    assert "busybox httpd -f -p 192.168.50.1:80 -h /srv/netboot/www" in text
