"""A dying disk must not take the console away (issue 12): the live CD boots in qemu beside a virtio disk
whose reads never return, the way a failing disk's reads take minutes.

The disk is served by nbdkit's eval plugin: every read waits while a flag file exists.  The flag is set once
the BIOS is done (its own reads of the disk must pass, or there is no boot prompt at all) and stays for the
whole boot, so a boot that waited for the disk anywhere would never reach the shell: reaching it at all is the
proof, no clock needed.  Removing the flag "heals" the disk, so the test can also see the work left in the
background finish and the system power off.
"""
import os
import re
import subprocess
import time

import pytest

import qemu
import uml
from qemu import Qemu

ISO = os.path.join(uml.BUILD, "live.iso")
# What stage 1 (media scan), coldplug and the stage-2 fstab scan say about the disk.
STAGE1_SLOW = r"liveinit: warning: /dev/vda does not answer \(nothing read in \d+ s; a failing disk\?\): " \
              r"not looking at /dev/vda again"
COLDPLUG_SLOW = r"liveinit: warning: loading drivers \(coldplug\): no module loaded for \d+ s"
STAGE2_SLOW = r"liveinit: warning: /dev/vda does not answer \(nothing read in \d+ s; a failing disk\?\): " \
              r"/dev/vda left out of fstab"
SWITCH = r"\[\s*(\d+\.\d+)\] liveinit: stage 1 done"


@pytest.fixture
def blocking_disk(tmp_path):
    """(qemu arguments for the disk, flag path): a 64 MiB virtio disk whose reads block while flag exists."""
    sock, flag = str(tmp_path / "nbd.sock"), str(tmp_path / "blocked")
    nbd = subprocess.Popen(["nbdkit", "-f", "-U", sock, "eval", "get_size=echo 67108864",
                            "pread=while [ -e %s ]; do sleep 1; done; head -c $3 /dev/zero" % flag],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        assert os.path.exists(sock), "nbdkit did not start"
        # -boot d: the CD boots; the disk's MBR holds no boot signature anyway.
        yield ["-boot", "d", "-drive", "file=nbd:unix:%s,format=raw,if=virtio,readonly=on" % sock], flag
    finally:
        if os.path.exists(flag):
            os.unlink(flag)
        nbd.kill()
        nbd.wait()


def boot_with_blocked_disk(q, flag):
    q.expect(qemu.PROMPT, 120)
    open(flag, "w").close()
    # edd=off: the kernel's real-mode setup would otherwise ask the BIOS about the disk, and wait with it.
    q.type_line("serial edd=off")
    q.expect(qemu.STAGE1)


def monitor(q, command):
    """A command to qemu's monitor, which shares stdio with the serial line (-nographic): Ctrl-A c toggles."""
    q.child.send("\x01c")
    time.sleep(0.5)
    q.child.send(command + "\r")
    time.sleep(0.5)
    q.child.send("\x01c")


def test_console_comes_while_the_disk_blocks(blocking_disk):
    """Stage 1 scans without root= and meets the disk before the CD (its drive is empty until the scan has
    named the disk), then stage 2 meets it again; the shell works while the disk is still blocked."""
    args, flag = blocking_disk
    # A direct kernel boot, the CD drive empty at first.
    drive = ["-drive", "if=ide,index=2,media=cdrom,id=cd"]
    with Qemu(kernel=os.path.join(uml.BUILD, "pc", "vmlinuz"), initrd=os.path.join(uml.BUILD, "pc", "initrd.img"),
              append="console=ttyS0 edd=off rootdelay=300", extra=args + drive, timeout=300) as q:
        q.expect(r"Linux version")   # the BIOS is done with the disk; the kernel has not touched it yet
        open(flag, "w").close()
        q.expect(qemu.STAGE1)
        q.expect(STAGE1_SLOW)     # stage 1 named it once and goes on looking
        monitor(q, "change cd " + ISO)
        q.expect(r"Mounted /live/filesystem.squashfs from /dev/sr0")
        q.expect(SWITCH)
        switched = float(q.child.match.group(1))
        q.expect(STAGE2_SLOW)     # stage 2 named it too
        q.expect(uml.READY)
        assert "42" in q.shell("echo $((40+2))")
        up = float(q.shell("cut -d' ' -f1 /proc/uptime").split()[0])
        assert os.path.exists(flag), "the disk was unblocked during the boot"
        print("switch to working shell: %.1f s (guest clock) with the disk blocked" % (up - switched))
        out = q.output
        assert len(re.findall(STAGE1_SLOW, out)) == 1, "stage 1 names the disk once"
        assert len(re.findall(STAGE2_SLOW, out)) == 1, "stage 2 names the disk once"
        assert "/dev/vda" not in q.shell("cat /etc/fstab")
        # The disk heals: what was left in the background (coldplug, if it was late) finishes, and the
        # system powers off cleanly.
        os.unlink(flag)
        if re.search(COLDPLUG_SLOW, out):
            q.expect(r"Loaded \d+ driver modules for the devices found \(coldplug\)", timeout=300)
        assert q.poweroff(timeout=300) == 0


def test_ctrl_alt_del_during_device_probing_is_an_orderly_reboot(blocking_disk):
    """Ctrl-Alt-Del (the PC keyboard's; `create stop` sends UML's) while stage 2 waits for the disk: a
    SIGINT to PID 1 that ends in the ordered shutdown, not the kernel's immediate reset."""
    args, flag = blocking_disk
    with Qemu(cdrom=ISO, extra=args, timeout=300) as q:
        boot_with_blocked_disk(q, flag)
        q.expect(SWITCH)
        # qemu's monitor shares stdio with the serial line (-nographic): Ctrl-A c switches between them.
        monitor(q, "sendkey ctrl-alt-delete")
        q.expect(r"Sent all processes the TERM signal")
        # The ordered shutdown gets to its end with the disk still blocked (the stuck probes survive KILL and
        # are left behind, the final sync is bounded) ...
        q.expect(r"Shutting down\.\.\.")
        assert os.path.exists(flag)
        # ... but the kernel's own device shutdown waits for the request in flight: heal the disk to let it end.
        os.unlink(flag)
        assert q.wait_exit(300) is not None
        assert "reboot: Restarting system" in q.output


def test_persistence_scan_skips_the_disk_that_does_not_answer(blocking_disk):
    """`persistence` makes stage 1 look at every disk again after the medium is found (a labelled filesystem,
    then a file on each partition): the disk whose reads never return is named once and skipped by all of
    stage 1's scans (medium, persistence), and the boot reaches a working shell without persistence."""
    args, flag = blocking_disk
    with Qemu(cdrom=ISO, extra=args, timeout=300) as q:
        q.expect(qemu.PROMPT, 120)
        open(flag, "w").close()
        q.type_line("serial edd=off persistence")
        q.expect(qemu.STAGE1)
        q.expect(r"persistence: no filesystem labelled persistence and no file persistence")
        q.expect(SWITCH)
        q.expect(uml.READY)
        assert "42" in q.shell("echo $((40+2))")
        assert os.path.exists(flag), "the disk was unblocked during the boot"
        assert len(re.findall(STAGE1_SLOW, q.output)) == 1, "stage 1 names the disk once, in whichever scan met it"
        os.unlink(flag)
        assert q.poweroff(timeout=300) == 0
