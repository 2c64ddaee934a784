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


def test_fuzz_netparse_bounded():
    """libFuzzer on fetch='s parsers (HTTP response head, DNS reply, URL, lease file) for 10 s from the seeds
    in tests/fuzz/netparse-seeds (make fuzz-netparse; run it longer by hand with FUZZ_SECONDS=N)."""
    r = subprocess.run(["make", "-C", TOP, "fuzz-netparse", "FUZZ_SECONDS=10"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Done " in r.stderr and "runs in" in r.stderr, r.stderr[-3000:]
