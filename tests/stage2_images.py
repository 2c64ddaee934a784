"""Disk images for the stage 2 boot tests and bench: made by the real tools, in a caller-given directory."""
import os
import subprocess

MiB = 1 << 20
# msdos table on ubdc: ext4, vfat, xfs (xfs needs at least 300 MiB; the files are sparse)
PARTS = [("ext4", 64), ("vfat", 32), ("xfs", 300)]
START = 1  # MiB


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, timeout=120, **kw)


def make_swap(path, size_mib=32):
    with open(path, "wb") as f:
        f.truncate(size_mib * MiB)
    run(["mkswap", "-L", "liveswap", path])
    return path


def make_data(path, workdir):
    """An msdos-partitioned image; each filesystem made in its own file, then copied in sparsely."""
    total = START + sum(size for _, size in PARTS) + 1
    with open(path, "wb") as f:
        f.truncate(total * MiB)
    table = "label: dos\n" + "".join(",%dMiB,%s\n" % (size, "c" if fs == "vfat" else "83") for fs, size in PARTS)
    run(["sfdisk", "--quiet", path], input=table.encode())
    offset = START
    for i, (fs, size) in enumerate(PARTS, 1):
        part = os.path.join(workdir, "part%d.img" % i)
        with open(part, "wb") as f:
            f.truncate(size * MiB)
        mkfs = {"ext4": ["mkfs.ext4", "-q", "-F", "-L", "data1"],
                "vfat": ["mkfs.vfat", "-n", "DATA2"],
                "xfs": ["mkfs.xfs", "-q", "-f", "-L", "data3"]}[fs]
        run(mkfs + [part])
        run(["dd", "if=" + part, "of=" + path, "bs=1M", "seek=%d" % offset, "conv=notrunc,sparse", "status=none"])
        os.unlink(part)
        offset += size
    return path


def extract_part(image, index, out):
    """Copy partition index (1-based) of the image to its own file."""
    offset = START + sum(size for _, size in PARTS[:index - 1])
    size = PARTS[index - 1][1]
    run(["dd", "if=" + image, "of=" + out, "bs=1M", "skip=%d" % offset, "count=%d" % size, "conv=sparse",
         "status=none"])
    return out
