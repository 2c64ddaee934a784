"""A PXE server in a network namespace, and qemu PC clients booting from it with their iPXE ROM.

The server is the README's "Netboot" example, run as it is written there (README_DNSMASQ, BOOT_IPXE; only the
interface and the directories differ, and the test adds logging): dnsmasq for DHCP, TFTP and DNS (boot.lab.lan
-> the server, domain lab.lan), busybox httpd for the kernel, the initrd and the image.  The clients are
qemu-system-x86_64 (TCG) with `-boot n` on taps bridged to the server: the NIC's iPXE ROM (package ipxe-qemu)
asks DHCP, gets boot.ipxe by TFTP, and the script loads build/pc/vmlinuz and build/pc/initrd.img by HTTP with
`fetch=` by the short name `boot` and BOOTIF.

    with PxeLab(clients=4) as lab:         # a bridge with 4 taps, dnsmasq, httpd
        q = lab.client(0, "e1000").start() # tests.qemu.Qemu on tap 0
"""
import os
import shutil
import subprocess
import threading

import qemu
import uml
from dhcpnet import Lab, wait_for

BUILD = uml.BUILD
KERNEL = os.path.join(BUILD, "pc", "vmlinuz")
INITRD = os.path.join(BUILD, "pc", "initrd.img")
SQUASHFS = os.path.join(BUILD, "root.squashfs")
SUBNET = "192.168.50"
SERVER = f"{SUBNET}.1"
URL = "http://boot/live/filesystem.squashfs"
MEM = "320"   # MiB: the fetched image (47.5 MB) lives in a tmpfs, and fetch wants 64 MiB more free
# The emulated NICs a client can have (qemu -device), and the module stage 1 must load for each.
NIC_DRIVER = {"virtio-net-pci": ("virtio_net",), "e1000": ("e1000",), "e1000e": ("e1000e",),
              "rtl8139": ("8139cp", "8139too")}

# The README's dnsmasq command, option by option ({iface}, {tftp}: the README has eth1, /srv/netboot/tftp).
README_DNSMASQ = [
    "--interface={iface}", "--bind-interfaces", "--domain=lab.lan", "--local=/lab.lan/",
    f"--host-record=boot.lab.lan,{SERVER}", f"--dhcp-range={SUBNET}.100,{SUBNET}.200,12h",
    "--enable-tftp", "--tftp-root={tftp}", "--dhcp-userclass=set:ipxe,iPXE",
    "--dhcp-boot=tag:!ipxe,undionly.kpxe", "--dhcp-boot=tag:ipxe,boot.ipxe",
]
# The README's boot.ipxe (in the TFTP root).  ${net0/mac:hexhyp} is iPXE's: the MAC with hyphens.
BOOT_IPXE = """#!ipxe
kernel http://boot.lab.lan/vmlinuz console=ttyS0 fetch={url} BOOTIF=01-${{net0/mac:hexhyp}}
initrd http://boot.lab.lan/initrd.img
boot
"""


def _place(src, dst):
    """Hard link when on the same filesystem (the image is 47 MB), else copy; readable by dnsmasq's user."""
    src = os.path.realpath(src)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy(src, dst)
    os.chmod(dst, 0o644)


class PxeLab:
    def __init__(self, clients=1, url=URL, checksum=True):
        for f in (KERNEL, INITRD, SQUASHFS):
            assert os.path.exists(f), f"{f} missing: run make all"
        # Lab's own veth pair (client namespace) stays unused; its bridge in the server namespace is the link.
        self.n = Lab(subnet=SUBNET, bridge=True)
        try:
            self._setup(clients, url, checksum)
        except BaseException:
            self.n.close()
            raise

    def _setup(self, clients, url, checksum):
        n = self.n
        os.chmod(n.tmp, 0o755)   # dnsmasq serves TFTP as its own unprivileged user
        self.taps = [f"{n.bridge}t{i}" for i in range(clients)]
        for tap in self.taps:
            n.ip(n.srv, "tuntap", "add", "dev", tap, "mode", "tap")
            n.ip(n.srv, "link", "set", tap, "master", n.bridge)
            n.ip(n.srv, "link", "set", tap, "up")
        n.server_ip("1")
        self.tftp = os.path.join(n.tmp, "tftp")
        self.www = os.path.join(n.tmp, "www")
        os.makedirs(self.tftp)
        os.makedirs(os.path.join(self.www, "live"))
        for d in (self.tftp, self.www, os.path.join(self.www, "live")):
            os.chmod(d, 0o755)
        with open(os.path.join(self.tftp, "boot.ipxe"), "w") as f:
            f.write(BOOT_IPXE.format(url=url))
        os.chmod(os.path.join(self.tftp, "boot.ipxe"), 0o644)
        _place(KERNEL, os.path.join(self.www, "vmlinuz"))
        _place(INITRD, os.path.join(self.www, "initrd.img"))
        _place(SQUASHFS, os.path.join(self.www, "live", "filesystem.squashfs"))
        if checksum:
            with open(os.path.join(self.www, "live", "filesystem.squashfs.sha256"), "w") as f:
                f.write(f"{uml.sha256(SQUASHFS)}  filesystem.squashfs\n")
        opts = [o.format(iface=n.bridge, tftp=self.tftp) for o in README_DNSMASQ]
        # Lab.dnsmasq adds --interface, --bind-interfaces and --dhcp-range itself (the same values).
        extra = [o for o in opts if not o.startswith(("--interface=", "--bind-interfaces", "--dhcp-range="))]
        _, self.dnslog, self.leases = n.dnsmasq(dev=n.bridge, dns=True, rng=("100", "200"), lease="12h",
                                                extra=extra + ["--no-resolv", "--no-hosts", "--log-queries"])
        self.httplog = os.path.join(n.tmp, "httpd.log")
        log = open(self.httplog, "w")
        self.http = subprocess.Popen(["ip", "netns", "exec", n.srv, "busybox", "httpd", "-f", "-vv",
                                      "-p", f"{SERVER}:80", "-h", self.www],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        n.procs.append(self.http)
        probe = f"import socket; socket.create_connection(('{SERVER}', 80), 1).close()"
        wait_for(lambda: subprocess.run(["ip", "netns", "exec", n.srv, "python3", "-c", probe],
                                        capture_output=True).returncode == 0, 10, "httpd to listen", step=0.2)

    def client(self, i, nic, timeout=600, name=None):
        """A qemu PC on tap i with one NIC of model nic, booting from the network (its iPXE ROM)."""
        mac = f"52:54:00:50:00:{i + 10:02x}"
        q = qemu.Qemu(nic=None, mem=MEM, timeout=timeout, name=name, prefix=["ip", "netns", "exec", self.n.srv],
                      extra=["-boot", "n", "-netdev", f"tap,id=n0,ifname={self.taps[i]},script=no,downscript=no",
                             "-device", f"{nic},netdev=n0,mac={mac}"])
        q.mac = mac
        q.nic = nic
        return q

    def tx_bytes(self, i):
        """Bytes the server side sent into tap i (to client i)."""
        return int(open_in(self.n.srv, f"/sys/class/net/{self.taps[i]}/statistics/tx_bytes"))

    def log(self, path):
        with open(path, errors="replace") as f:
            return f.read()

    def close(self):
        self.n.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_in(ns, path):
    """A sysfs file as seen from namespace ns (a net device's attributes follow the namespace)."""
    return subprocess.run(["ip", "netns", "exec", ns, "cat", path], capture_output=True, text=True,
                          check=True).stdout.strip()


def boot_together(qs, follow):
    """Start the guests and follow each in its own thread (so every console is read as it prints: an unread
    serial line stalls its guest); re-raise the first failure."""
    errors = []

    def run(q):
        try:
            follow(q)
        except BaseException as e:  # reported after the join
            errors.append(e)

    for q in qs:
        q.start()
    threads = [threading.Thread(target=run, args=(q,)) for q in qs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
