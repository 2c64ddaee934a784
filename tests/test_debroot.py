"""scripts/apt-mirror (the Debian mirror this machine's apt uses) and iso/debroot (the shared Debian-root builder).

apt-mirror is run on fixture apt configurations (APT_ETC) in both source formats and on this machine's own.
iso/debroot's builds are exercised by the rescue ISO's tests (tests/test_rescue.py); here only its cache hit
and its usage errors, which need no network.
"""
import os
import subprocess

import uml

TOP = uml.TOP
APT_MIRROR = os.path.join(TOP, "scripts", "apt-mirror")
DEBROOT = os.path.join(TOP, "iso", "debroot")


def mirror(etc, *args, env=None):
    e = dict(os.environ, APT_ETC=str(etc))
    e.pop("LIVEINIT_MIRROR", None)
    e.pop("LIVEINIT_SECURITY_MIRROR", None)
    e.update(env or {})
    return subprocess.run([APT_MIRROR, *args], capture_output=True, text=True, env=e)


def apt_etc(tmp_path, sources_list=None, **parts):
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    if sources_list is not None:
        (etc / "sources.list").write_text(sources_list)
    for name, text in parts.items():
        (etc / "sources.list.d" / name.replace("_", ".")).write_text(text)
    return etc


def test_one_line_format_with_options(tmp_path):
    etc = apt_etc(tmp_path, "# deb http://commented.invalid/debian bookworm main\n"
                            "deb-src http://src.invalid/debian bookworm main\n"
                            "deb http://other.invalid/x bookworm-backports main\n"
                            "deb [arch=amd64 signed-by=/k.gpg] http://m.invalid/debian/ bookworm contrib main\n"
                            "deb http://s.invalid/debian-security bookworm-security main\n")
    assert mirror(etc, "debian").stdout == "http://m.invalid/debian\n"
    assert mirror(etc, "security").stdout == "http://s.invalid/debian-security\n"


def test_deb822_multiline_and_disabled(tmp_path):
    etc = apt_etc(tmp_path, a_sources="Types: deb\nEnabled: no\nURIs: http://off.invalid/d\nSuites: bookworm\n"
                                      "Components: main\n\n"
                                      "# comment\nTypes: deb-src deb\nURIs:\n http://on.invalid/d\n"
                                      "Suites: bookworm\n bookworm-updates\nComponents: contrib main\n",
                  b_list_disabled="deb http://ignored.invalid/d bookworm-security main\n")
    assert mirror(etc, "debian").stdout == "http://on.invalid/d\n"
    r = mirror(etc, "security")     # only in a file apt ignores (not *.list / *.sources)
    assert r.returncode == 1 and r.stdout == ""
    assert "no deb source for bookworm-security main" in r.stderr and str(etc) in r.stderr


def test_suite_override_and_usage(tmp_path):
    etc = apt_etc(tmp_path, "deb http://t.invalid/debian trixie main\n")
    assert mirror(etc, "--suite", "trixie", "debian").stdout == "http://t.invalid/debian\n"
    assert mirror(etc, "debian").returncode == 1
    assert mirror(etc, "debian", env={"LIVEINIT_MIRROR": "http://env.invalid/d/"}).stdout == "http://env.invalid/d\n"
    assert mirror(etc, "bogus").returncode == 2
    assert mirror(etc).returncode == 2


def test_this_machine_has_a_mirror():
    """The builds (debroot, the Xen harness) need both; this names the problem before a long build fails."""
    for kind in ("debian", "security"):
        r = subprocess.run([APT_MIRROR, kind], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(("http://", "https://")) and r.stdout.count("\n") == 1


def test_debroot_usage_and_missing_list(tmp_path):
    r = subprocess.run([DEBROOT], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr
    r = subprocess.run([DEBROOT, "--packages", str(tmp_path / "none")], capture_output=True, text=True)
    assert r.returncode == 1 and str(tmp_path / "none") in r.stderr


def debroot(*args):
    return subprocess.run([DEBROOT, *args], capture_output=True, text=True)


def test_debroot_cache_is_keyed_on_the_list(tmp_path):
    """The key ignores comments, order and repeats in the list and changes with its content; a finished entry
    (.done) is returned as it is, without building (no network needed here)."""
    a, a2, b = tmp_path / "a", tmp_path / "a2", tmp_path / "b"
    a.write_text("bash # the shell\n\nless  bash\n")
    a2.write_text("# same set\nless\nbash\n")
    b.write_text("bash less nano\n")
    cache = str(tmp_path / "cache")
    path = {}
    for f in (a, a2, b):
        r = debroot("--packages", str(f), "--out-cache", cache, "--print-path")
        assert r.returncode == 0, r.stderr
        path[f] = r.stdout.strip()
    assert path[a] == path[a2] and path[a] != path[b]
    assert path[a].startswith(cache + "/") and path[a].endswith("/root")
    assert not os.path.exists(cache) or os.listdir(cache) == []     # --print-path built nothing
    entry = os.path.dirname(path[a])
    os.makedirs(path[a])
    open(os.path.join(entry, ".done"), "w").close()
    r = debroot("--packages", str(a2), "--out-cache", cache)
    assert r.returncode == 0 and r.stdout == path[a] + "\n" and r.stderr == ""
    assert os.listdir(path[a]) == []                                 # returned, not rebuilt
