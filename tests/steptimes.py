"""The timing record /run/liveinit/timing (init/common/steptime.h) as the boot tests check it.

    NAME START_MS DURATION_MS        (CLOCK_BOOTTIME milliseconds)

stage1/... lines are stage 1's steps, one after the other; "stage1" is the whole of stage 1, the figure it also
prints to the kernel log ("liveinit: stage 1 done in X ms"); module/NAME lines are drivers loaded in the background
during those steps; stage2/ready and shutdown/... are appended later."""
import re


MARK = "@T@ "
# A shell command that prints the record with each line marked, so that kernel messages or a DHCP client's line
# printed on the same console in between are not taken for part of it.
# Shell builtins only: busybox sed segfaulted on this in a Xen domU under the Xen-in-qemu harness.
CAT = "while read -r l; do echo \"%s$l\"; done < /run/liveinit/timing" % MARK
# The kernel log's line with stage 1's own figure (read with dmesg: the console may not show notices).
KMSG = "dmesg | grep 'liveinit: stage 1 done'"


def parse(text):
    """[(name, start, duration)] of the record's lines (only the marked ones when CAT printed them); every line
    must have that shape."""
    rows = []
    lines = text.strip().splitlines()
    if any(line.startswith(MARK) for line in lines):
        lines = [line[len(MARK):] for line in lines if line.startswith(MARK)]
    for line in lines:
        m = re.fullmatch(r"(\S+) (\d+) (\d+)", line.strip())
        assert m, "malformed timing line %r in:\n%s" % (line, text)
        rows.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return rows


def check_stage1(text, console):
    """Stage 1's steps follow each other without gaps, add up to its "stage1" line, and that line is the figure
    stage 1 printed to the kernel log.  Returns the rows."""
    rows = parse(text)
    text = "\n".join("%s %d %d" % r for r in rows)
    steps = [r for r in rows if r[0].startswith("stage1/")]
    whole = [r for r in rows if r[0] == "stage1"]
    assert len(whole) == 1, text
    names = [r[0] for r in steps]
    assert names[:3] == ["stage1/mounts", "stage1/config", "stage1/modules"], names
    assert names[-3:] == ["stage1/rootfs", "stage1/adapt", "stage1/switch"], names
    for a, b in zip(steps, steps[1:]):
        assert a[1] + a[2] == b[1], "gap or overlap between %s and %s:\n%s" % (a, b, text)
    assert steps[0][1] == whole[0][1], text
    assert sum(r[2] for r in steps) == whole[0][2], text
    m = re.search(r"liveinit: stage 1 done in ([\d.]+) ms", console)
    assert m, "no 'stage 1 done' line in the kernel log"
    assert abs(float(m.group(1)) - whole[0][2]) <= 1.0, (m.group(0), whole[0])
    ready = [r for r in rows if r[0] == "stage2/ready"]
    assert len(ready) == 1 and ready[0][1] >= whole[0][1] + whole[0][2], text
    return rows


# What stage 1 preloads at idle priority on PC and Xen (init/stage1/modules.c, fs_preload, with isofs's cdrom).
FS_PRELOAD = {"cdrom", "isofs", "loop", "squashfs", "overlay"}


def modules(rows):
    """The module/NAME lines' names, in load order (start time)."""
    return [r[0][len("module/"):] for r in sorted(rows, key=lambda r: r[1]) if r[0].startswith("module/")]


def drivers(rows):
    """The module lines that are not the filesystem preload (cdrom counts when sr_mod needed it)."""
    mods = modules(rows)
    return [m for m in mods if m not in FS_PRELOAD or (m == "cdrom" and "sr_mod" in mods)]


def breakdown(rows):
    """Where stage 1's time went, in ms, from the record alone: {"before": stage 1's start to the first driver
    load, "loads": time some module was loading until the medium's disk appeared (the kernel loading modules we
    asked for), "probe": the rest of that wait (the kernel probing the hardware: an ATA reset, a CD's identify, a
    Xen frontend's handshake with dom0), "after": the disk's appearance to the exec (our probe, mounts, switch)};
    None without a device/ line (the disk was there before stage 1 looked, as with allmodules)."""
    whole = [r for r in rows if r[0] == "stage1"]
    medium = [r for r in rows if r[0] == "stage1/medium"]
    if not whole or not medium:
        return None
    found = medium[0][1] + medium[0][2]
    # The last disk to appear before the medium was found (a partition comes right after its disk).
    devs = sorted(r[1] for r in rows if r[0].startswith("device/") and r[1] <= found)
    mods = sorted((r[1], r[1] + r[2]) for r in rows if r[0].startswith("module/"))
    if not devs or not mods:
        return None
    start, end = whole[0][1], whole[0][1] + whole[0][2]
    appear = devs[-1]
    first = mods[0][0]
    loads, at = 0, first
    for a, b in mods:  # the union of the load intervals up to appear
        a, b = max(a, at), min(b, appear)
        if b > a:
            loads += b - a
            at = b
    return {"before": first - start, "loads": loads, "probe": appear - first - loads, "after": end - appear}
