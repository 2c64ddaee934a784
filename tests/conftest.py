import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uml  # noqa: E402

BUILD = uml.BUILD
BASE_IMAGES = ["live.iso", "root.squashfs", "root.img", "initrd.img"]


@pytest.fixture(scope="session")
def base_hashes():
    """sha256 of the base images at the start; every boot test checks they are unchanged after it."""
    return {p: uml.sha256(os.path.join(BUILD, p)) for p in BASE_IMAGES if os.path.exists(os.path.join(BUILD, p))}


@pytest.fixture
def guests(base_hashes):
    """Factory for UML guests; all are killed at the end and the base images' sha256 checked."""
    started = []

    def make(args, **kw):
        g = uml.UML(args, **kw)
        started.append(g)
        return g.start()

    yield make
    for g in started:
        g.kill()
    for p, h in base_hashes.items():
        assert uml.sha256(os.path.join(BUILD, p)) == h, "base image %s was modified by a boot" % p
