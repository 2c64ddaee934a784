"""Stage 2 (PID 1 of the live root) in real UML guests: fstab and swap from ubd partitions, mounting, the
ordered shutdown (poweroff/halt/reboot/shutdown/Ctrl-Alt-Del), a process that ignores TERM, COW mode with no
initrd.  Images are made by mkswap/sfdisk/mkfs.*; each case is its own boot."""
import os
import re
import subprocess
import time

import pytest

import uml
from stage2_images import extract_part, make_data, make_swap

BUILD = uml.BUILD
LIVE = ["initrd=" + os.path.join(BUILD, "initrd.img"), "root=/dev/ubda",
        "ubdar=" + os.path.join(BUILD, "live.iso"), "uml"]
SHUTDOWN_LINES = [
    r"\[\*\] Sent all processes the TERM signal\.\.\.",
    r"\[\*\] Sent all processes the KILL signal\.\.\.",
    r"\[\*\] Turning off swap\.\.\. done",
    r"\[\*\] Unmounting remaining file systems\.\.\. done",
    r"\[\*\] Shutting down\.\.\.",
]


@pytest.fixture(scope="module", autouse=True)
def built():
    for f in ["initrd.img", "live.iso", "root.img", "bin/liveinit"]:
        assert os.path.exists(os.path.join(BUILD, f)), "build/%s missing: run make first" % f


@pytest.fixture
def disks(tmp_path):
    swap = make_swap(str(tmp_path / "swap.img"))
    data = make_data(str(tmp_path / "data.img"), str(tmp_path))
    return swap, data


def assert_in_order(text, patterns):
    pos = 0
    for p in patterns:
        m = re.compile(p).search(text, pos)
        assert m, "%r not found (in order) in console output:\n%s" % (p, text[-3000:])
        pos = m.end()


def shutdown_part(g):
    text = g.output
    return text[text.rfind("liveinit 0"):]


def test_fstab_swap_and_mount(guests, disks, tmp_path):
    swap, data = disks
    g = guests(LIVE + ["ubdb=" + swap, "ubdc=" + data])
    g.expect(r"Scanning for partitions and creating /etc/fstab\.\.\. done")
    g.expect(r"Using swap partition /dev/ubdb")
    g.expect(uml.READY)

    fstab = g.shell("cat /etc/fstab")
    lines = [l.split() for l in fstab.splitlines() if l and not l.startswith("#")]
    by_dev = {l[0]: l for l in lines}
    assert by_dev["/dev/ubdb"][1:4] == ["none", "swap", "sw"], fstab
    assert by_dev["/dev/ubdc1"][1:3] == ["/mnt/ubdc1", "ext4"], fstab
    assert by_dev["/dev/ubdc2"][1:3] == ["/mnt/ubdc2", "vfat"], fstab
    assert by_dev["/dev/ubdc3"][1:3] == ["/mnt/ubdc3", "xfs"], fstab
    assert "noauto" in by_dev["/dev/ubdc1"][3].split(","), fstab
    # The medium: read-only.
    assert by_dev["/dev/ubda"][2] == "iso9660" and "ro" in by_dev["/dev/ubda"][3].split(","), fstab
    assert "/dev/ubdc" not in by_dev, "the partitioned disk itself is listed:\n" + fstab
    assert "# BEGIN liveinit" in fstab and "# END liveinit" in fstab
    # The image's own line survives.
    assert "# /etc/fstab: the live system's own entries" in fstab

    host_copy = tmp_path / "fstab"
    host_copy.write_text(fstab)
    v = subprocess.run(["findmnt", "--verify", "--tab-file", str(host_copy)], capture_output=True, text=True)
    assert v.returncode == 0 and "0 parse errors, 0 errors" in v.stdout + v.stderr, v.stdout + v.stderr

    assert "/dev/ubdb" in g.shell("cat /proc/swaps")
    for d in ["ubdc1", "ubdc3"]:
        out = g.shell("mount /mnt/%s && grep ' /mnt/%s ' /proc/mounts" % (d, d))
        assert g.last_status == 0 and "/dev/%s /mnt/%s" % (d, d) in out, out
    assert g.poweroff() == 0


def test_poweroff_writes_reach_disk(guests, disks, tmp_path):
    swap, data = disks
    g = guests(LIVE + ["ubdb=" + swap, "ubdc=" + data])
    g.expect(uml.READY)
    g.shell("mount /mnt/ubdc1 && echo liveinit-was-here > /mnt/ubdc1/hello.txt")
    assert g.last_status == 0
    assert g.poweroff() == 0
    assert_in_order(shutdown_part(g), SHUTDOWN_LINES)
    assert "unable to unmount" not in g.output

    part = extract_part(data, 1, str(tmp_path / "p1.img"))
    fsck = subprocess.run(["e2fsck", "-fn", part], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    cat = subprocess.run(["debugfs", "-R", "cat /hello.txt", part], capture_output=True, text=True)
    assert cat.stdout.strip() == "liveinit-was-here", cat.stdout + cat.stderr


def test_noswap_and_quiet(guests, disks):
    swap, data = disks
    g = guests(LIVE + ["ubdb=" + swap, "noswap", "quiet"])
    g.expect(uml.READY)
    assert "Scanning for partitions" not in g.output and "Using swap" not in g.output
    assert "/dev/ubdb" not in g.shell("cat /proc/swaps")
    assert re.search(r"^/dev/ubdb\s+none\s+swap", g.shell("cat /etc/fstab"), re.M)
    assert g.poweroff() == 0
    assert "Sent all processes" not in shutdown_part(g)


def test_term_ignoring_process_is_killed(guests):
    timeout = 2
    g = guests(LIVE + ["shutdown_timeout=%d" % timeout])
    g.expect(uml.READY)
    # Ignored signals stay ignored across exec: a sleep that shrugs off TERM and HUP.
    g.shell("sh -c 'trap \"\" TERM HUP; exec sleep 1000' >/dev/null 2>&1 & echo started")
    assert "sleep 1000" in g.shell("ps")
    t0 = time.monotonic()
    assert g.poweroff(timeout=timeout + 30) == 0
    took = time.monotonic() - t0
    # It was waited for (so TERM really was ignored), then KILL ended it; the upper bound only guards a hang.
    assert took >= timeout, took
    assert_in_order(shutdown_part(g), SHUTDOWN_LINES)


# devtmpfs.mount=0: the kernel mounts nothing on /dev either, and the root image has no /dev/console, so PID 1
# starts without fds 0-2 and must mount /dev and open the console itself.
@pytest.mark.parametrize("extra", [[], ["devtmpfs.mount=0"]], ids=["kernel-devtmpfs", "no-devtmpfs"])
def test_cow_mode_without_initrd(guests, tmp_path, extra):
    base = os.path.join(BUILD, "root.img")
    cow = str(tmp_path / "root.cow")
    before = uml.sha256(base)
    g = guests(["root=/dev/ubda", "ubda=%s,%s" % (cow, base), "uml"] + extra)
    g.expect(r"Running Linux kernel")
    g.expect(uml.READY)
    assert "rw" in g.shell("grep ' / ' /proc/mounts").split()[3].split(",")
    g.shell("echo cow-$$ > /root/persist.txt; cat /root/persist.txt")
    written = g.shell("cat /root/persist.txt").strip()
    assert written.startswith("cow-")
    assert g.poweroff() == 0
    assert_in_order(shutdown_part(g), SHUTDOWN_LINES)
    assert uml.sha256(base) == before, "the base image was written"
    assert os.path.getsize(cow) > 0

    # The change lives in the COW file: a second boot from it sees the file, the base still unchanged.
    g2 = guests(["root=/dev/ubda", "ubda=%s,%s" % (cow, base), "uml"] + extra)
    g2.expect(uml.READY)
    assert g2.shell("cat /root/persist.txt").strip() == written
    assert g2.poweroff() == 0
    assert uml.sha256(base) == before


def test_reboot_then_poweroff(guests):
    g = guests(LIVE)
    g.expect(uml.READY)
    g.sendline("reboot")
    g.expect(r"Shutting down\.\.\.")
    g.expect(r"Running Linux kernel")
    g.expect(uml.READY)
    assert g.poweroff() == 0
    assert len(re.findall(uml.READY, g.output)) == 2


@pytest.mark.parametrize("command", ["halt", "shutdown -h now"])
def test_halt_and_shutdown_commands(guests, command):
    g = guests(LIVE + ["debug"])
    g.expect(uml.READY)
    # A stopped process cannot act on TERM until it is continued: it must not hold the shutdown up.  In its own
    # session, so the kernel's HUP+CONT to orphaned stopped process groups (when the shell exits) does not wake it.
    out = g.shell("setsid sh -c 'echo $$ > /tmp/stopped.pid; exec sleep 1000' & sleep 0.2; "
                  "p=$(cat /tmp/stopped.pid); kill -STOP $p; sleep 0.1; grep State /proc/$p/status")
    assert "T (stopped)" in out, out
    assert g.poweroff(command) == 0
    assert_in_order(shutdown_part(g), SHUTDOWN_LINES)
    took = re.search(r"timing: shutdown/processes \d+ (\d+)", g.output)  # debug prints the timing record
    assert took and int(took.group(1)) < 5000, "waited for the stopped process: " + (took.group(0) if took else "")


def test_ctrl_alt_del_reboots(guests):
    g = guests(LIVE)
    g.expect(uml.READY)
    out = subprocess.run(["uml_mconsole", g.umid, "cad"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    g.expect(r"Shutting down\.\.\.")
    g.expect(r"Running Linux kernel")
    g.expect(uml.READY)
    assert g.poweroff() == 0


def test_shell_respawns(guests):
    g = guests(LIVE + ["hostname=probe-host"])
    g.expect(uml.READY)
    assert g.shell("hostname").strip() == "probe-host"
    pid1 = g.shell("echo $$").strip()
    g.sendline("exit")
    time.sleep(0.5)
    pid2 = g.shell("echo $$").strip()
    assert pid1.isdigit() and pid2.isdigit() and pid1 != pid2
    assert g.poweroff() == 0


def test_mkfstab_standalone(tmp_path):
    """mkfstab on the host against a fake root: exit codes and output (the scanner itself is unit-tested)."""
    liveinit = os.path.join(BUILD, "bin", "liveinit")
    root = tmp_path / "root"
    (root / "sys" / "class" / "block").mkdir(parents=True)
    (root / "etc").mkdir()
    out = subprocess.run([liveinit, "mkfstab", "--root", str(root), "--platform", "uml", "--output", "-"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# BEGIN liveinit") and out.stdout.rstrip().endswith("# END liveinit")
    bad = subprocess.run([liveinit, "mkfstab", "--platform", "vax"], capture_output=True, text=True)
    assert bad.returncode == 2
    missing = subprocess.run([liveinit, "mkfstab", "--root", str(tmp_path / "nope"), "--platform", "uml"],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "sys/class/block" in missing.stderr


@pytest.fixture
def netns(tmp_path):
    """A network namespace with a tap device for UML's vector transport (guest interface vec0) and a dnsmasq
    DHCP server on it, logging to tmp_path/dnsmasq.log."""
    pid = os.getpid()
    ns, tap = "liveinit-s2-%d" % pid, "s2tap%d" % (pid % 100000)
    subnet = "10.%d.%d" % (100 + pid % 100, pid // 100 % 250)
    log = tmp_path / "dnsmasq.log"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    server = None
    try:
        subprocess.run(["ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", subnet + ".1/24", "dev", tap], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", tap, "up"], check=True)
        server = subprocess.Popen(["ip", "netns", "exec", ns, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                                   "--port=0", "--interface=" + tap, "--bind-interfaces", "--log-dhcp",
                                   "--dhcp-range=%s.10,%s.50,12h" % (subnet, subnet), "--log-facility=" + str(log),
                                   "--pid-file=", "--dhcp-leasefile=" + str(tmp_path / "leases")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        yield ns, tap, log
    finally:
        if server:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "del", ns], check=False)


def network_shutdown_lines():
    return SHUTDOWN_LINES[:2] + [r"\[\*\] Shutting down network device\.\.\. vec0"] + SHUTDOWN_LINES[2:]


def test_network_down_at_shutdown(guests, netns):
    """Stage 2's half of the DHCP contract: /sbin/dhcpc (in every root we build) is started at boot, gets a
    lease from dnsmasq, and releases it (DHCPRELEASE) at shutdown step 3."""
    ns, tap, log = netns
    assert os.path.exists(os.path.join(BUILD, "rootfs", "sbin", "dhcpc")), "the live root lacks /sbin/dhcpc"
    g = guests(LIVE + ["vec0:transport=tap,ifname=" + tap], prefix=["ip", "netns", "exec", ns])
    g.expect(uml.READY)
    assert "Starting background DHCP request... vec0" in g.output, g.output[-2000:]
    out = g.shell("for i in $(seq 100); do ip -4 addr show vec0 | grep -q inet && break; sleep 0.1; done; "
                  "ip -4 addr show vec0; ls /run/dhcpc")
    assert "inet " in out and "vec0.pid" in out, out
    assert g.poweroff() == 0
    assert_in_order(shutdown_part(g), network_shutdown_lines())
    assert "Shutting down network device... lo" not in g.output
    assert "DHCPRELEASE" in log.read_text(), log.read_text()[-2000:]


def test_network_down_at_shutdown_without_dhcp(guests, netns):
    """ip=off: no DHCP client is started, and an interface brought up by hand is still taken down at step 3
    (what a root without /sbin/dhcpc gets too: stage 2 then skips DHCP the same way)."""
    ns, tap, log = netns
    g = guests(LIVE + ["ip=off", "vec0:transport=tap,ifname=" + tap], prefix=["ip", "netns", "exec", ns])
    g.expect(uml.READY)
    assert "Starting background DHCP request" not in g.output, g.output[-2000:]
    g.shell("ip link set vec0 up && ip link show vec0")
    assert g.last_status == 0
    assert ".pid" not in g.shell("ls /run/dhcpc 2>/dev/null")
    assert g.poweroff() == 0
    assert_in_order(shutdown_part(g), network_shutdown_lines())
    assert "Shutting down network device... lo" not in g.output
    assert not log.exists() or "DHCPDISCOVER" not in log.read_text(), log.read_text()[-2000:]
