"""Boot harness for qemu (TCG): start qemu-system-x86_64 on the serial console, read it, time out, always kill.

    with Qemu(cdrom="build/live.iso") as q:
        q.boot_label("serial")              # types it at the isolinux prompt over the serial line
        q.expect(uml.READY)
        q.shell("ip addr")                  # like the UML harness
        q.poweroff()                        # waits for qemu to exit by itself (-no-reboot), returns its status

Direct kernel boots (no boot loader): Qemu(kernel=..., initrd=..., append="console=ttyS0 ...", cdrom=...).
More devices: Qemu(..., extra=["-drive", "...", "-device", "..."]).  In a network namespace (a tap there):
Qemu(..., nic=None, prefix=["ip", "netns", "exec", NS], extra=["-netdev", "tap,...", "-device", "..."]).  Qemu(..., monitor=True, no_shutdown=True):
qemu stays after the guest powers off, and q.monitor("info block") asks its human monitor.
UEFI boots: Qemu(cdrom=..., firmware="ovmf") or firmware="ovmf-secboot" (Secure Boot enforced, Microsoft's keys),
then q.grub_choose("serial") picks the entry in GRUB's menu with the arrow keys over the serial line.
A USB stick: Qemu(usb="build/live.iso") (xHCI + usb-storage, written to a snapshot, never to the file).
Console logs go to build/test-logs/<name>.log.
"""
import itertools
import os
import re
import shutil
import signal
import time

import pexpect

import uml

QEMU = "qemu-system-x86_64"
# What stage 1 and the rescue shell print (init/stage1/).
STAGE1 = r"liveinit [^\r\n]*stage 1 on pc"
RESCUE = r"starting a rescue shell"
PROMPT = r"boot:"

# Debian's OVMF (package ovmf): the plain 4 MiB build, and the Secure Boot build (needs SMM) with variables that
# have Microsoft's keys enrolled and Secure Boot on.  Each guest writes its own copy of the variables.
OVMF = {"ovmf": ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
        "ovmf-secboot": ("/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd")}
# iso/grub.cfg's entries, top to bottom (the same as isolinux.cfg's labels).
GRUB_ENTRIES = ["live", "serial", "check", "check-serial", "toram"]
GRUB_MENU = r"Use the \^ and v keys"
DOWN = "\x1b[B"

_counter = itertools.count()


class Qemu(uml.UML):
    """Same interface as uml.UML (expect/shell/poweroff/kill/output), for a qemu guest on ttyS0."""

    def __init__(self, cdrom=None, disk=None, kernel=None, initrd=None, append=None, mem="512", nic="e1000",
                 timeout=180, name=None, firmware="bios", usb=None, extra=(), monitor=False,
                 no_shutdown=False, prefix=()):
        self.umid = name or "liveinit-q%d-%d" % (os.getpid(), next(_counter))
        os.makedirs(uml.LOGDIR, exist_ok=True)
        args = ["-accel", "tcg", "-m", str(mem), "-nographic", "-no-reboot"]
        if no_shutdown:
            args += ["-no-shutdown"]
        self.monitor_path = None
        if monitor:
            self.monitor_path = os.path.join(uml.LOGDIR, self.umid + ".monitor")
            args += ["-monitor", "unix:%s,server=on,wait=off" % self.monitor_path]
        self.vars = None
        if firmware != "bios":
            code, vars_template = OVMF[firmware]
            self.vars = os.path.join(uml.LOGDIR, self.umid + ".vars.fd")
            shutil.copyfile(vars_template, self.vars)
            # q35 with SMM: the Secure Boot build refuses to run without it (it guards the variable store).
            args += ["-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on",
                     "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + code,
                     "-drive", "if=pflash,format=raw,unit=1,file=" + self.vars]
        if usb:
            args += ["-device", "qemu-xhci,id=xhci", "-drive", "if=none,id=stick,format=raw,snapshot=on,file=" + usb,
                     "-device", "usb-storage,bus=xhci.0,drive=stick"]
        if cdrom:
            args += ["-cdrom", cdrom]
        if disk:
            args += ["-drive", "file=%s,format=raw,if=ide,snapshot=on" % disk]
        if kernel:
            args += ["-kernel", kernel, "-initrd", initrd, "-append", append or "console=ttyS0"]
        if nic:
            args += ["-netdev", "user,id=n0", "-device", "%s,netdev=n0" % nic]
        args += list(extra)  # more devices: disks on other controllers
        self.qemu_args = args
        self.prefix = list(prefix)   # e.g. ["ip", "netns", "exec", NS] (it execs qemu: the pid stays qemu's)
        self.timeout = timeout
        self.child = None
        self.exitstatus = None
        self.logpath = os.path.join(uml.LOGDIR, self.umid + ".log")

    def start(self):
        self.log = open(self.logpath, "w", encoding="utf-8", errors="replace")
        cmd = self.prefix + [QEMU] + self.qemu_args
        self.log.write("# %s\n" % " ".join(cmd))
        self.started = time.monotonic()
        self.child = pexpect.spawn(cmd[0], cmd[1:], cwd=uml.TOP, encoding="utf-8", codec_errors="replace",
                                   timeout=self.timeout, logfile=self.log, dimensions=(50, 200))
        return self

    def boot_label(self, line, timeout=60):
        """Type line at the isolinux prompt (it listens on the serial port: SERIAL in isolinux.cfg)."""
        self.expect(PROMPT, timeout)
        self.type_line(line)

    def type_line(self, line):
        """Type line and Enter on the serial port for a boot loader.  isolinux polls the UART a character at a
        time, and the UART holds 16: sent at once, a longer line lost its tail and its Enter when the host was
        busy (the boot then waited at the prompt for ever).  Eight characters at a time, then a pause."""
        text = line + "\r"
        for i in range(0, len(text), 8):
            self.child.send(text[i:i + 8])
            time.sleep(0.05)

    def monitor(self, command, timeout=30):
        """Run one command on qemu's human monitor; returns its output."""
        import socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.monitor_path)
            data = b""
            while not data.endswith(b"(qemu) "):
                data += s.recv(4096)
            s.sendall(command.encode() + b"\n")
            data = b""
            while not data.rstrip().endswith(b"(qemu)"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return ansi_free(data.decode(errors="replace"))

    def grub_choose(self, entry, timeout=120):
        """In GRUB's menu (iso/grub.cfg), move the highlight down to entry with the arrow keys, see it highlighted,
        press Enter.  The menu's 5 s countdown stops at the first key."""
        self.expect(GRUB_MENU, timeout)
        for _ in range(GRUB_ENTRIES.index(entry)):
            self.child.send(DOWN)
            time.sleep(0.3)
        # GRUB marks the highlighted entry with '*' when it redraws it.
        self.expect(r"\*" + re.escape(entry) + r" ", 30)
        self.child.send("\r")

    def kill(self):
        if self.monitor_path and os.path.exists(self.monitor_path):
            os.unlink(self.monitor_path)
        if self.child is not None and self.child.isalive():
            try:
                os.kill(self.child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.child.close(force=True)
            except Exception:
                pass
        if hasattr(self, "log") and not self.log.closed:
            self.log.close()
        if self.vars and os.path.exists(self.vars):
            os.unlink(self.vars)


def squashfs_has(squashfs, path):
    """Does the squashfs image hold path (e.g. 'sbin/dhcpc')?"""
    import subprocess
    out = subprocess.run(["unsquashfs", "-l", "-d", "", squashfs, path], capture_output=True, text=True)
    return any(line.strip("/") == path.strip("/") for line in out.stdout.splitlines())


def ansi_free(text):
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
