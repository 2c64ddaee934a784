"""Seeds for tests/fuzz/fuzz_probe.c: real images made by the same builders as tests/test_probe.py (mkfs.*,
mkswap, mksquashfs, xorriso), cut to their first 72 KiB (every superblock the prober reads lies there).
usage: probe_seeds.py OUTDIR"""
import os
import pathlib
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import test_probe  # noqa: E402

KEEP = 72 * 1024


def main(out):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (_, _, _, build) in test_probe.IMAGES.items():
            img = pathlib.Path(tmp) / (name + ".img")
            build(img)
            with open(img, "rb") as f:
                head = f.read(KEEP)
            with open(os.path.join(out, name), "wb") as f:
                f.write(head)
            os.unlink(img)


if __name__ == "__main__":
    main(sys.argv[1])
