"""Persistence on Xen (issue 13): the live ISO as a PV domU (tests/xenvm.py, Xen inside qemu TCG) with a
persistence image as its xvdb; a change made in the guest is on the image, cleanly unmounted, after poweroff."""
import os

import xenvm
from test_live import fsck_clean, persist_image, run

READY = r"\[\*\] liveinit [^\r\n]*ready"


def test_persistence_on_xen_xvdb(tmp_path):
    iso = os.path.join(xenvm.REPO, "build", "live.iso")
    img = persist_image(tmp_path, "/ union\n")
    m = xenvm.live_guest(iso, [img], extra="printk.time=1 persistence", log_name="test_live_xen")
    try:
        m.start()
        m.expect("dom0: xl create", timeout=120)
        m.expect(r"Persistence on /dev/xvdb \(1 entry\)", timeout=150)
        m.expect(READY, timeout=150)
        m.expect("# ", timeout=30)
        m.sendline("echo from xen > /root/notes; sync; echo W$((6000+1))")
        m.expect("W6001", timeout=40)
        m.sendline("poweroff")
        m.expect("dom0: domain gone", timeout=90)
        m.expect_exit(timeout=60)
    finally:
        m.close()
    fsck_clean(img)
    assert "from xen" in run("debugfs", "-R", "cat /rw/root/notes", img).stdout
