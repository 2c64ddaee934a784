"""The live ISO as a Xen PV domU on a real Xen 4.17 hypervisor (inside qemu TCG; tests/xenvm.py).

One boot serves every case (a round costs about a minute of emulation): the ISO is the domU's xvda
(read-only), a partitioned data disk its xvdb: the filesystem matrix's disk (tests/fsmatrix.py: every filesystem
the scan lists, as GPT partitions), ext4 first and swap second, so xvdb1 is ext4 and xvdb2 swap (one data disk:
each more costs dom0 a block-script run, which under load can hit libxl's hotplug timeout); dom0 writes the guest config with
scripts/xen-config and runs `xl create -c`, with dnsmasq on the backend bridge. The test types on qemu's serial
line, which reaches the guest's console through Xen and dom0's `xl create -c`.
"""

import os
import re
import time

import pytest

import fsmatrix
import steptimes
import xenvm

REPO = xenvm.REPO
BUILD = os.path.join(REPO, "build")
READY = r"\[\*\] liveinit [^\r\n]*ready"


# The domU runs Debian's amd64 kernel, which has neither NTFS driver (tests/test_filesystems.py checks this).
XEN_NO_DRIVER = {"ntfs"}


class Shell:
    """Commands typed into the guest's shell; output is cut out between two markers that the shell computes
    (so the echo of the typed line never matches)."""

    def __init__(self, machine):
        self.m = machine
        self.n = 0

    def run(self, cmd, timeout=40):
        self.n += 1
        tag = 7100 + self.n
        self.m.sendline(f"echo B$(({tag}+0)); {cmd}; echo E$(({tag}+0))")
        self.m.expect(rf"(?s)B{tag}\r*\n(.*?)E{tag}", timeout=timeout)
        return self.m.child.match.group(1).replace("\r", "")


class Boot:
    """What a boot saw; each test checks its part.  error is set when the boot broke off early."""

    def __init__(self):
        self.error = None
        self.ready = False
        self.out = {}
        self.status = None
        self.console = ""
        self.shutdown = ""


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture(scope="module")
def harness():
    return xenvm.build()


@pytest.fixture(scope="module")
def pc(harness):
    return xenvm.pc_kernel_initrd(harness)


@pytest.fixture(scope="module")
def boot(harness, pc, tmp_path_factory):
    iso = os.path.join(BUILD, "live.iso")
    assert os.path.exists(iso), "build/live.iso missing: run make"
    work = tmp_path_factory.mktemp("xen")
    order = ["ext4", "swap"] + [fs for fs in fsmatrix.ALL if fs not in ("ext4", "swap")]
    matrix = fsmatrix.MatrixDisk(str(work / "data.img"), order, str(work), tag="xen")
    b = Boot()
    b.iso_before = sha256(iso)
    # The matrix's mounts add about a minute to this boot on a loaded machine: dom0's watchdog gets more time.
    m = xenvm.live_guest(iso, [matrix.path], log_name="test_xen", timeout=480)
    try:
        m.start()
        m.expect("dom0: xl create", timeout=120)
        m.expect(READY, timeout=150)
        b.ready = True
        m.expect("# ", timeout=30)
        time.sleep(1)
        sh = Shell(m)
        b.out["hypervisor"] = sh.run("cat /sys/hypervisor/type")
        b.out["timing"] = sh.run(steptimes.CAT)
        b.out["cmdline"] = sh.run("cat /proc/cmdline")
        b.out["mounts"] = sh.run("cat /proc/mounts")
        b.out["tty"] = sh.run("tty")
        b.out["netdev"] = sh.run("ls /sys/class/net; basename $(readlink /sys/class/net/eth0/device/driver)")
        b.out["fstab"] = sh.run("cat /etc/fstab")
        b.out["swaps"] = sh.run("cat /proc/swaps")
        # The lease may still be on its way: wait up to 30 s for an address from dom0's dnsmasq.
        wait = 60
        b.out["addr"] = sh.run(f"i=0; while [ $i -lt {wait} ] && ! ip -4 -o addr | grep -q ' 10[.]77[.]0[.]'; "
                               "do sleep 0.5; i=$((i+1)); done; ip -4 -o addr; ip -o link", timeout=60)
        b.out["modprobe"] = sh.run("cat /proc/sys/kernel/modprobe; modprobe -n -v crypto-crc32c")
        b.out["matrix"] = fsmatrix.guest_matrix(lambda c: sh.run(c, timeout=120), matrix, XEN_NO_DRIVER)
        b.out["lsmod"] = sh.run("lsmod")
        mark = len(m.output())
        m.sendline("poweroff")
        m.expect("dom0: domain gone", timeout=90)
        b.shutdown = m.output()[mark:]
        m.expect(r"dom0: leases: ([^\r\n]*) \(end\)", timeout=30)
        b.out["leases"] = m.child.match.group(1)
        m.expect("dom0: dhcp-log end", timeout=30)
        b.out["dhcp-log"] = "\n".join(re.findall(r"dom0: dhcp-log: ([^\r\n]*)", m.output()))
        b.status = m.expect_exit(timeout=60)
    except AssertionError as e:
        b.error = str(e)
    finally:
        b.console = m.output()
        m.close()
    b.iso_after = sha256(iso)
    if b.status is not None and "matrix" in b.out:
        b.out["matrix-host"] = matrix.host_check(str(work))
    yield b


def need(boot, key):
    if key not in boot.out:
        pytest.fail(f"the boot broke off before {key!r}: {boot.error}")
    return boot.out[key]


def domu_console(boot):
    """The part of the console after dom0 started the guest."""
    i = boot.console.find("dom0: xl create")
    return boot.console[i:] if i >= 0 else ""


def test_pc_initrd_carries_xen_blkfront(pc):
    """Debian builds xen-blkfront as a module: without it in the PC initrd, xvda never appears."""
    names = xenvm.initrd_files(pc[1])
    assert any(n.endswith("/xen-blkfront.ko") for n in names), f"{pc[1]} lacks xen-blkfront.ko"


def test_netfront_interface(boot):
    """xen-netfront got loaded (from the initrd, or by stage 2's coldplug from the root): eth0 is a vif."""
    out = need(boot, "netdev").split()
    assert "eth0" in out and out[-1] == "vif", out


def test_ready_line_on_xen(boot):
    assert boot.ready, boot.error
    console = domu_console(boot)
    assert re.search(r"stage 1 on xen", console), "stage 1 did not report the xen platform"
    assert re.search(r"Mounted /live/filesystem.squashfs from /dev/xvda", console)


def test_stage1_loads_only_xen_drivers(boot):
    """In a domU stage 1 loads the vbd's driver and nothing for PC hardware, and the live medium's filesystems
    in the background; its steps add up."""
    rows = steptimes.check_stage1(need(boot, "timing"), domu_console(boot))
    mods = steptimes.modules(rows)
    assert [m for m in mods if m not in steptimes.FS_PRELOAD] == ["xen_blkfront"], rows
    assert {"isofs", "loop", "squashfs", "overlay"} <= set(mods), rows


def test_hypervisor_is_xen(boot):
    assert need(boot, "hypervisor").strip() == "xen"
    assert need(boot, "cmdline").split()[:2] == ["xen", "root=/dev/xvda"]


def test_medium_read_only_under_overlay(boot):
    mounts = [line.split() for line in need(boot, "mounts").splitlines() if line.strip()]
    medium = [x for x in mounts if x[0] == "/dev/xvda"]
    assert medium and medium[0][2] == "iso9660" and "ro" in medium[0][3].split(","), mounts
    root = [x for x in mounts if x[1] == "/"]
    assert root and root[-1][2] == "overlay", mounts


def test_console_is_hvc0(boot):
    # The console is shared: dhcpc's state lines may land between the command's output lines.
    ttys = [line.strip() for line in need(boot, "tty").splitlines() if line.strip().startswith("/dev/")]
    assert ttys == ["/dev/hvc0"], need(boot, "tty")


def test_fstab_lists_xvdb1(boot):
    lines = [line.split() for line in need(boot, "fstab").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    data = [x for x in lines if x[0] in ("/dev/xvdb1", "LABEL=xendata") or x[0].endswith("xvdb1")]
    assert data and data[0][2] == "ext4", lines
    swap = [x for x in lines if x[2] == "swap"]
    assert any(x[0].endswith("xvdb2") for x in swap), lines


def test_filesystem_matrix_on_xen(boot):
    """Issue 18: every filesystem on xvdb mounts as fstab says, is written and read back; after poweroff the
    host's fsck -n is clean and the file is there."""
    results = need(boot, "matrix")
    assert results == {fs: "ok" for fs in fsmatrix.ALL}, results
    assert need(boot, "matrix-host") == []
    assert re.search(r"^crc32c_(generic|intel)\s", need(boot, "lsmod"), re.M)


def test_modprobe_resolves_crypto_aliases_on_xen(boot):
    out = need(boot, "modprobe")
    assert out.splitlines()[0].strip() == "/sbin/modprobe", out
    assert re.search(r"^insmod /lib/modules/[^/]+/kernel/crypto/crc32c_generic\.ko$", out, re.M), out


def test_swap_on_xvdb2_active(boot):
    swaps = need(boot, "swaps").splitlines()
    assert any(line.split()[0] == "/dev/xvdb2" for line in swaps[1:] if line.strip()), swaps
    assert "Using swap partition /dev/xvdb2" in domu_console(boot)


def test_dhcp_on_netfront(boot):
    addr = need(boot, "addr")
    m = re.search(r"^\d+: (\S+)\s+inet (10\.77\.0\.\d+)/24", addr, re.M)
    assert m, f"no address from dom0's dnsmasq on the netfront interface:\n{addr}"
    iface, ip = m.groups()
    assert iface == "eth0", addr
    log = need(boot, "dhcp-log")
    assert re.search(rf"DHCPACK\(xenbr0\) {re.escape(ip)} ", log), f"dnsmasq in dom0 did not hand out {ip}:\n{log}"
    # Stage 2 releases the lease when it brings the network down at poweroff.
    assert re.search(rf"DHCPRELEASE\(xenbr0\) {re.escape(ip)} ", log), f"no DHCPRELEASE of {ip}:\n{log}"


def test_poweroff_is_ordered(boot):
    assert boot.shutdown, boot.error
    steps = ["Sent all processes the TERM signal", "Sent all processes the KILL signal",
             "Shutting down network device... eth0", "Turning off swap... done",
             "Unmounting remaining file systems", "Shutting down..."]
    pos = [boot.shutdown.find(s) for s in steps]
    assert all(p >= 0 for p in pos), f"missing shutdown lines: {dict(zip(steps, pos))}\n{boot.shutdown}"
    assert pos == sorted(pos), f"shutdown lines out of order: {dict(zip(steps, pos))}"


def test_poweroff_ends_domain_and_machine(boot):
    assert boot.shutdown, boot.error
    assert "dom0: domain gone" in boot.shutdown
    assert boot.status == 0


def test_iso_unchanged(boot):
    assert boot.iso_before == boot.iso_after



@pytest.fixture(scope="module")
def boot_detect():
    """A second round with neither `xen` nor `root=` on the guest's command line, and the ISO handed to
    the guest as a file in dom0 (loop-attached by Xen's block script) rather than a block device."""
    iso = os.path.join(BUILD, "live.iso")
    m = xenvm.live_guest(iso, raw_extra="console=hvc0 printk.time=1", log_name="test_xen_detect")
    yield short_round(m)


def short_round(m, at_shell=None, after=None):
    """Boot to the ready line, run at_shell(Shell) (its dict goes to Boot.out), poweroff, wait for the domain to
    go, for dom0's line after (if given), and for qemu's exit."""
    b = Boot()
    try:
        m.start()
        m.expect("dom0: xl create", timeout=150)
        m.expect(READY, timeout=240)
        b.ready = True
        m.expect("# ", timeout=30)
        time.sleep(1)
        if at_shell:
            b.out.update(at_shell(Shell(m)))
        m.sendline("poweroff")
        m.expect("dom0: domain gone", timeout=90)
        if after:
            m.expect(after, timeout=30)
        b.status = m.expect_exit(timeout=60)
    except AssertionError as e:
        b.error = str(e)
    finally:
        b.console = m.output()
        m.close()
    return b


def test_detects_xen_and_finds_file_backed_medium_by_label(boot_detect):
    console = domu_console(boot_detect)
    assert "stage 1 on xen (detected)" in console, boot_detect.error or console[-3000:]
    assert re.search(r"Mounted /live/filesystem.squashfs from /dev/xvda", console), console[-3000:]
    assert boot_detect.ready, boot_detect.error
    assert boot_detect.status == 0, boot_detect.error


FETCH_URL = "http://boot/live/filesystem.squashfs"


@pytest.fixture(scope="module")
def boot_fetch(pc, tmp_path_factory):
    """A third round: no disk at all; the domU fetches the live root from dom0's web server (fetch= by the name
    `boot`, through the lease's domain xen.test), stage 1 having loaded xen-netfront for the vif by its
    modalias; checksum from URL.sha256; stage 2 keeps stage 1's lease."""
    kernel, initrd = pc
    squashfs = os.path.join(BUILD, "root.squashfs")
    sums = tmp_path_factory.mktemp("fetch") / "filesystem.squashfs.sha256"
    sums.write_text(f"{sha256(squashfs)}  filesystem.squashfs\n")
    name = f"fetch{os.getpid()}"
    cfg = (f'name = "{name}"\ntype = "pv"\nkernel = "/guest/vmlinuz"\nramdisk = "/guest/initrd.img"\n'
           f'extra = "xen console=hvc0 printk.time=1 fetch={FETCH_URL}"\nmemory = 320\nvcpus = 1\n'
           f"vif = [ 'bridge=xenbr0' ]\non_poweroff = \"destroy\"\non_reboot = \"restart\"\n")
    files = {"/guest/vmlinuz": kernel, "/guest/initrd.img": initrd, "/cfg/busybox": "/bin/busybox",
             "/www/live/filesystem.squashfs": squashfs, "/www/live/filesystem.squashfs.sha256": str(sums)}
    m = xenvm.XenMachine(files=files, guest_cfg=cfg, timeout=420, log_name="test_xen_fetch")
    yield short_round(m, lambda sh: {"timing": sh.run("cat /run/liveinit/timing")}, after="dom0: http-log end")


def test_fetch_on_xen_loads_netfront_and_boots(boot_fetch):
    console = domu_console(boot_fetch).replace("\r", "")
    assert "stage 1 on xen (given)" in console, boot_fetch.error or console[-3000:]
    m = re.search(r"Fetched " + re.escape(FETCH_URL) + r": (\d+) bytes", console)
    assert m and int(m.group(1)) == os.path.getsize(os.path.join(BUILD, "root.squashfs")), console[-3000:]
    assert "Checking " + FETCH_URL + "... ok" in console, console[-3000:]
    assert boot_fetch.ready, boot_fetch.error
    modules = re.findall(r"^module/(\S+) ", boot_fetch.out.get("timing", ""), re.M)
    assert "xen_netfront" in modules or "xen-netfront" in modules, boot_fetch.out
    # stage 2 took stage 1's lease over: the address stays, dnsmasq acked once (stage 1) and saw it released
    addr = re.search(r"dhcpc: eth0: resumed (10\.77\.0\.\d+)/24", console)
    assert addr, console[-3000:]
    dhcp = re.findall(r"dom0: dhcp-log: ([^\r\n]*)", boot_fetch.console)
    assert re.findall(r"DHCPACK\(xenbr0\) (\S+)", "\n".join(dhcp)) == [addr.group(1)], dhcp
    assert any(f"DHCPRELEASE(xenbr0) {addr.group(1)} " in line for line in dhcp), dhcp
    assert boot_fetch.status == 0, boot_fetch.error
    http = re.findall(r"dom0: http-log: ([^\r\n]*)", boot_fetch.console)
    assert sum(1 for line in http if line.endswith("url:/live/filesystem.squashfs")) == 1, http

