"""The filesystem matrix (issue 18): every filesystem the partition scan can list, made on the host by the real
mkfs.* / mksquashfs / xorriso as GPT partitions (named lm-FS), mounted in a live guest as its /etc/fstab says,
written (read-write ones), read back, unmounted; after poweroff the host checks each with fsck -n and reads the
file back.  One disk image holds any subset, so each platform costs one boot.

    disk = MatrixDisk(path, ["ext4", "xfs", "swap"], workdir)
    results = guest_matrix(shell, disk)          # {fs: "ok" | what failed}, shell(cmd) runs in the guest
    problems = disk.host_check(workdir)          # [] when every read-write filesystem is clean and has the file
"""
import os
import re
import subprocess

MiB = 1 << 20
# name -> (size MiB, read-write?); xfs needs 300 MiB, btrfs ~110 MiB (the files are sparse).
SIZES = {"ext2": (8, True), "ext3": (16, True), "ext4": (16, True), "xfs": (300, True), "btrfs": (128, True),
         "vfat": (16, True), "exfat": (16, True), "ntfs": (16, True), "iso9660": (4, False),
         "squashfs": (4, False), "swap": (16, False)}
ALL = list(SIZES)
FILE = "liveinit-matrix.txt"
START = 1  # MiB


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, timeout=300, **kw)


def _mkfs(fs, path, size, tree, token):
    with open(path, "wb") as f:
        f.truncate(size * MiB)
    label = "lm" + fs[:9]
    if fs in ("ext2", "ext3", "ext4"):
        run(["mkfs." + fs, "-q", "-F", "-L", label, path])
    elif fs == "xfs":
        run(["mkfs.xfs", "-q", "-f", "-L", label, path])
    elif fs == "btrfs":
        run(["mkfs.btrfs", "-q", "-f", "-L", label, path])
    elif fs == "vfat":
        run(["mkfs.vfat", "-n", "LMVFAT", path])
    elif fs == "exfat":
        run(["mkfs.exfat", "-L", "LMEXFAT", path])
    elif fs == "ntfs":
        run(["mkntfs", "-q", "-F", "-f", "-L", label, path])
    elif fs == "swap":
        run(["mkswap", "-L", label, path])
    else:
        # Read-only formats carry the file from the start: the guest reads it back.
        with open(os.path.join(tree, FILE), "w") as f:
            f.write(token + "\n")
        os.unlink(path)
        if fs == "iso9660":
            run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "LMISO", "-R", "-o", path, tree])
        else:
            run(["mksquashfs", tree, path, "-noappend", "-quiet", "-no-progress", "-comp", "gzip"])
        assert os.path.getsize(path) <= size * MiB, (fs, os.path.getsize(path))


class MatrixDisk:
    def __init__(self, path, filesystems, workdir, tag="m"):
        self.path = path
        self.filesystems = list(filesystems)
        self.token = "liveinit-%s-%d" % (tag, os.getpid())
        self.offsets = {}
        offset = START
        for fs in self.filesystems:
            self.offsets[fs] = offset
            offset += SIZES[fs][0]
        with open(path, "wb") as f:
            f.truncate((offset + 1) * MiB)  # + the backup GPT
        table = "label: gpt\n" + "".join("start=%dMiB, size=%dMiB, name=lm-%s\n" % (self.offsets[fs], SIZES[fs][0], fs)
                                         for fs in self.filesystems)
        run(["sfdisk", "--quiet", path], input=table.encode())
        tree = os.path.join(workdir, "tree-" + os.path.basename(path))
        os.makedirs(tree, exist_ok=True)
        for fs in self.filesystems:
            part = os.path.join(workdir, "part-%s.img" % fs)
            _mkfs(fs, part, SIZES[fs][0], tree, "ro-" + self.token)
            run(["dd", "if=" + part, "of=" + path, "bs=1M", "seek=%d" % self.offsets[fs], "conv=notrunc,sparse",
                 "status=none"])
            os.unlink(part)

    def extract(self, fs, out):
        run(["dd", "if=" + self.path, "of=" + out, "bs=1M", "skip=%d" % self.offsets[fs],
             "count=%d" % SIZES[fs][0], "conv=sparse", "status=none"])
        return out

    def host_check(self, workdir):
        """fsck -n every read-write filesystem the guest wrote (guest_matrix() notes them), and read the file
        back on the host.  Returns the problems found."""
        problems = []
        for fs in self.written:
            part = self.extract(fs, os.path.join(workdir, "check-%s.img" % fs))
            fsck = {"ext2": ["e2fsck", "-fn"], "ext3": ["e2fsck", "-fn"], "ext4": ["e2fsck", "-fn"],
                    "xfs": ["xfs_repair", "-n"], "btrfs": ["btrfs", "check", "--readonly"],
                    "vfat": ["fsck.vfat", "-n"], "exfat": ["fsck.exfat", "-n"], "ntfs": ["ntfsfix", "-n"]}[fs]
            r = subprocess.run(fsck + [part], capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                problems.append("%s: %s exit %d: %s" % (fs, fsck[0], r.returncode, (r.stdout + r.stderr)[-600:]))
                continue
            got = host_read(fs, part, workdir)
            if got is None or self.token not in got:
                problems.append("%s: %s not found on the host (read: %r)" % (fs, FILE, got))
            os.unlink(part)
        return problems


def host_read(fs, part, workdir):
    """The file's text as the host reads it from the image (userspace tools where Debian has them; xfs through
    a read-only loop mount; exFAT, which no Debian tool reads, by its name and data in the raw image)."""
    if fs.startswith("ext"):
        r = subprocess.run(["debugfs", "-R", "cat /" + FILE, part], capture_output=True, text=True)
        return r.stdout
    if fs == "vfat":
        return subprocess.run(["mtype", "-i", part, "::" + FILE], capture_output=True, text=True).stdout
    if fs == "btrfs":
        out = os.path.join(workdir, "btrfs-restore")
        os.makedirs(out, exist_ok=True)
        subprocess.run(["btrfs", "restore", part, out], capture_output=True, text=True)
        p = os.path.join(out, FILE)
        return open(p).read() if os.path.exists(p) else None
    if fs == "xfs":
        mnt = os.path.join(workdir, "xfs-mnt")
        os.makedirs(mnt, exist_ok=True)
        r = subprocess.run(["mount", "-o", "ro,loop,norecovery", part, mnt], capture_output=True, text=True)
        if r.returncode != 0:
            return "mount failed: " + r.stderr
        try:
            p = os.path.join(mnt, FILE)
            return open(p).read() if os.path.exists(p) else None
        finally:
            subprocess.run(["umount", mnt], check=True)
    if fs == "exfat":
        data = open(part, "rb").read()
        name = FILE[:15].encode("utf-16-le")  # a File Name entry holds 15 UTF-16 characters
        return data.decode("latin-1") if name in data else None
    return None


def guest_matrix(shell, disk, no_driver=()):
    """Run the matrix in the guest, one shell command per filesystem.  shell(cmd) -> output.  Returns {fs: "ok"
    or what went wrong}.  Filesystems in no_driver must instead be an fstab comment naming the missing driver."""
    results = {}
    disk.written = []
    for fs in disk.filesystems:
        rw = SIZES[fs][1]
        want = disk.token if rw else "ro-" + disk.token
        find = ("d=$(grep -l '^PARTNAME=lm-%s$' /sys/class/block/*/uevent | cut -d/ -f5); echo dev=$d; "
                "grep -E \"^(# )?/dev/$d[[:space:]]\" /etc/fstab; " % fs)
        if fs in no_driver:
            action = "true"
        elif fs == "swap":
            action = "grep \"^/dev/$d \" /proc/swaps && echo MATRIX-''DONE"
        elif rw:
            action = ("mount /mnt/$d 2>&1 && echo {t} > /mnt/$d/{f} && sync && cat /mnt/$d/{f} && "
                      "umount /mnt/$d 2>&1 && echo MATRIX-''DONE").format(t=want, f=FILE)
        else:
            action = "mount /mnt/$d 2>&1 && cat /mnt/$d/{f} && umount /mnt/$d 2>&1 && echo MATRIX-''DONE".format(
                f=FILE)
        out = shell(find + action)
        # Kernel and daemon messages may share the console: pick the lines out by their shape.
        m = re.search(r"^dev=(\S*)$", out, re.M)
        dev = m.group(1) if m else ""
        m = re.search(r"^(# )?/dev/%s[\t (].*$" % re.escape(dev), out, re.M) if dev else None
        line = m.group(0) if m else ""
        if not dev:
            results[fs] = "partition lm-%s not found: %r" % (fs, out)
        elif fs in no_driver:
            comment = "# /dev/%s (%s): this kernel has no %s driver" % (dev, fs, fs)
            results[fs] = "ok" if line.startswith(comment) else "fstab: %r, expected %r" % (line, comment)
        elif not line.startswith("/dev/%s\t" % dev):
            results[fs] = "fstab: %r" % line
        elif "MATRIX-DONE" in out and (fs == "swap" or want in out):
            results[fs] = "ok"
            if rw and fs != "swap":
                disk.written.append(fs)
        else:
            results[fs] = "failed (fstab: %s): %s" % (line, out.strip()[-400:])
    return results
