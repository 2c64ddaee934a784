"""make bench: the live ISO under qemu TCG (prints a table).

  qemu start -> ready     host seconds from starting qemu (BIOS, isolinux, `serial` typed at its prompt, kernel,
                          stage 1, live root) to the live root's ready line; median of 3 boots.
                          The same by UEFI (OVMF -> shim -> GRUB, `serial` chosen with the arrow keys), with
                          Secure Boot off and enforced (q35 machine), median of 3 each; ratio to BIOS.
  ISO size change of the UEFI path: the ISO next to one made from the same tree without the EFI system
                          partition (isolinux only), in the same run.
  stage 1 (kernel clock)  the kernel's `Run /init as init process` -> stage 1's `liveinit: stage 1 done` (kmsg,
                          printk timestamps of Debian's kernel) in the same boots; median of 3.
                          Target (issue 5): <= 0.6 s; Debian's live-boot initramfs takes 8.7 s here.
  ISO size, squashfs size, PC initrd size.
  squashfs compression    the live root packed with xz and zstd (and gzip, lz4 for scale): size, ratio to the
                          unpacked tree, packing time, and the time to read every file back (unsquashfs -cat of
                          all files to /dev/null: what booting and using the system costs).
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uml  # noqa: E402
from qemu import STAGE1, Qemu  # noqa: E402

BUILD = uml.BUILD
ISO = os.path.join(BUILD, "live.iso")
RUNS = 3


def one_boot(firmware="bios"):
    with Qemu(cdrom=ISO, timeout=300, firmware=firmware) as q:
        if firmware == "bios":
            q.boot_label("serial")
        else:
            q.grub_choose("serial")
        q.expect(STAGE1)
        q.expect(uml.READY)
        ready = time.monotonic() - q.started
        run, done = uml.kernel_times(q.output)
        q.poweroff(timeout=120)
        return ready, (done - run) if run is not None and done is not None else None


def bios_only_iso_size():
    """Size of an ISO of the same tree with isolinux and the hybrid MBR only (no EFI partition, no GPT)."""
    with tempfile.TemporaryDirectory(prefix="liveinit-bench-") as tmp:
        out = os.path.join(tmp, "bios.iso")
        subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "LIVEINIT", "-R", "-J",
                        "-isohybrid-mbr", make_var("ISOHYBRID_MBR"), "-c", "boot/boot.cat",
                        "-b", "isolinux/isolinux.bin", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                        "-o", out, os.path.join(BUILD, "iso")], check=True, capture_output=True)
        return os.path.getsize(out)


def mib(n):
    return "%.1f MiB" % (n / 1048576.0)


def compression(comps=("xz", "zstd", "gzip", "lz4")):
    tree = os.path.join(BUILD, "rootfs")
    unpacked = int(subprocess.run(["du", "-sb", "--apparent-size", tree], capture_output=True, text=True,
                                  check=True).stdout.split()[0])
    rows = []
    with tempfile.TemporaryDirectory(prefix="liveinit-bench-") as tmp:
        for comp in comps:
            img = os.path.join(tmp, comp + ".squashfs")
            t0 = time.monotonic()
            subprocess.run(["mksquashfs", tree, img, "-comp", comp, "-noappend", "-all-root", "-quiet",
                            "-no-progress"], check=True, capture_output=True)
            pack = time.monotonic() - t0
            size = os.path.getsize(img)
            files = subprocess.run(["unsquashfs", "-lc", "-d", "", img], capture_output=True, text=True,
                                   check=True).stdout.split()
            t0 = time.monotonic()
            with open(os.devnull, "wb") as null:
                for i in range(0, len(files), 200):
                    subprocess.run(["unsquashfs", "-cat", img] + files[i:i + 200], stdout=null,
                                   stderr=subprocess.DEVNULL)
            read = time.monotonic() - t0
            rows.append((comp, size, unpacked / size, pack, read))
    return unpacked, rows


def main():
    if not os.path.exists(ISO):
        raise SystemExit("bench_iso: %s missing (make all)" % ISO)
    boots = [one_boot() for _ in range(RUNS)]
    ready = statistics.median(b[0] for b in boots)
    stage1 = [b[1] for b in boots if b[1] is not None]
    uefi = {fw: [one_boot(fw)[0] for _ in range(RUNS)] for fw in ("ovmf", "ovmf-secboot")}
    bios_iso = bios_only_iso_size()
    unpacked, rows = compression()

    print()
    print("live ISO under qemu TCG (%d boots)" % RUNS)
    print("  %-34s %s" % ("measure", "value"))
    print("  %-34s %.1f s  (each: %s)" % ("BIOS start -> ready (median)", ready,
                                          ", ".join("%.1f" % b[0] for b in boots)))
    for fw, label in (("ovmf", "UEFI"), ("ovmf-secboot", "UEFI+SB")):
        med = statistics.median(uefi[fw])
        print("  %-34s %.1f s  (each: %s; %.2fx BIOS)" % ("%s start -> ready (median)" % label, med,
                                                          ", ".join("%.1f" % t for t in uefi[fw]), med / ready))
    if stage1:
        print("  %-34s %.2f s  (each: %s; target <= 0.6 s)" % ("stage 1: Run /init -> done (median)",
                                                              statistics.median(stage1),
                                                              ", ".join("%.2f" % s for s in stage1)))
    size = os.path.getsize(ISO)
    print("  %-34s %s" % ("ISO size", mib(size)))
    print("  %-34s %s  (+%s, +%.1f%% for the UEFI path)" % ("ISO size, isolinux only",
                                                            mib(bios_iso), mib(size - bios_iso),
                                                            100.0 * (size - bios_iso) / bios_iso))
    print("  %-34s %s" % ("root squashfs (%s)" % make_var("SQUASHFS_COMP"),
                          mib(os.path.getsize(os.path.join(BUILD, "root.squashfs")))))
    print("  %-34s %s" % ("PC initrd", mib(os.path.getsize(os.path.join(BUILD, "pc", "initrd.img")))))
    print("  %-34s %s" % ("UML initrd", mib(os.path.getsize(os.path.join(BUILD, "initrd.img")))))
    print()
    print("squashfs compression of the live root (%s unpacked)" % mib(unpacked))
    print("  %-6s %12s %7s %9s %12s" % ("comp", "size", "ratio", "pack s", "read-all s"))
    for comp, size, ratio, pack, read in rows:
        print("  %-6s %12s %7.2f %9.1f %12.1f" % (comp, mib(size), ratio, pack, read))


def make_var(name):
    return subprocess.run(["make", "-s", "--no-print-directory", "print-" + name], cwd=uml.TOP, check=True,
                          capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
