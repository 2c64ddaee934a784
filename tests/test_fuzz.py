"""The parser fuzzers (tests/fuzz.mk) for 5 seconds each, from their real-data seeds: any crash,
sanitizer report or broken invariant fails the test with libFuzzer's report.  make fuzz-NAME FUZZ_RUNS=10000000
runs one of them for long by hand."""
import os
import re
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZERS = subprocess.run(["make", "-s", "--no-print-directory", "print-PARSER_FUZZERS"], cwd=TOP,
                         capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("name", FUZZERS)
def test_fuzz_parser_bounded(name):
    r = subprocess.run(["make", "-s", "-C", TOP, "fuzz-" + name, "FUZZ_SECONDS=5"], capture_output=True,
                       text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    runs = re.search(r"Done (\d+) runs", out)
    assert runs and int(runs.group(1)) > 100, out[-4000:]
