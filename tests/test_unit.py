"""Run every C unit test binary the Makefile lists in UNIT_TESTS (cmocka; each exits non-zero on failure)."""
import os
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def unit_tests():
    out = subprocess.run(["make", "-s", "--no-print-directory", "print-UNIT_TESTS"], cwd=TOP,
                         capture_output=True, text=True, check=True).stdout
    return out.split()


@pytest.mark.parametrize("binary", unit_tests())
def test_unit(binary):
    path = os.path.join(TOP, binary)
    assert os.path.exists(path), "%s not built (make unit)" % binary
    r = subprocess.run([path], cwd=TOP, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
