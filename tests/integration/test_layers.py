# test_layers.py: the dependency rule of DESIGN.md "Parts", as the build
# enforces it: include/ -> base/ -> lib/ -> conf/ -> {daemon/, cli/}. Each
# part is compiled with the include paths of the parts below it only, so a
# header of a part above (or beside) it does not compile. The probes below
# use each part's own compile command from the build's compile_commands.json;
# and the CLI links no daemon code (no libevent, libunbound, libmicrohttpd).
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import signet_path

BUILD = signet_path().parent.parent  # <builddir>/cli/signet


def commands():
    db = BUILD / "compile_commands.json"
    if not db.is_file():
        pytest.fail(f"{db} not found: meson writes it in every build directory")
    return json.loads(db.read_text())


def flags_of(part):
    """The -I/-D flags of one source file of part (e.g. 'daemon/')."""
    for c in commands():
        if f"/{part}" in c["file"].replace("\\", "/") or c["file"].startswith(f"../{part}"):
            args = shlex.split(c["command"])
            keep = [a for a in args if a.startswith(("-I", "-D", "-std"))]
            return c["directory"], keep
    pytest.fail(f"no source of {part} in compile_commands.json")


def probe(part, header, tmp_path):
    """Compiles `#include "header"` with part's flags; (ok, compiler output)."""
    cwd, flags = flags_of(part)
    src = tmp_path / "probe.c"
    src.write_text(f'#include "{header}"\nint probe;\n')
    r = subprocess.run(["cc", "-fsyntax-only", *flags, str(src)], cwd=cwd,
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr


@pytest.mark.parametrize("part,header", [
    ("base/", "canon.h"),        # lib/
    ("base/", "config.h"),       # conf/
    ("lib/", "config.h"),        # conf/
    ("lib/", "session.h"),       # daemon/
    ("conf/", "tags.h"),         # lib/
    ("conf/", "session.h"),      # daemon/
    ("conf/", "cli.h"),          # cli/
    ("daemon/", "tags.h"),       # lib/
    ("daemon/", "canon.h"),      # lib/
    ("daemon/", "cli.h"),        # cli/
    ("cli/", "tags.h"),          # lib/
    ("cli/", "session.h"),       # daemon/
    ("cli/", "metrics.h"),       # daemon/
])
def test_a_header_of_another_part_does_not_compile(part, header, tmp_path):
    ok, err = probe(part, header, tmp_path)
    assert not ok and "No such file" in err, f"{part} can include {header}: {err}"


@pytest.mark.parametrize("part,header", [
    ("lib/", "tags.h"), ("lib/", "buf.h"), ("conf/", "buf.h"), ("conf/", "config.h"),
    ("daemon/", "config.h"), ("daemon/", "session.h"), ("cli/", "keystore.h"),
    ("cli/", "cli.h"),
])
def test_the_parts_below_do_compile(part, header, tmp_path):
    """The same probe passes where the rule allows it (so the test can fail)."""
    ok, err = probe(part, header, tmp_path)
    assert ok, err


def test_cli_links_no_daemon_code():
    out = subprocess.run(["readelf", "-d", str(signet_path())], capture_output=True,
                         text=True, check=True).stdout
    needed = [ln for ln in out.splitlines() if "(NEEDED)" in ln]
    assert needed, out
    for lib in ("libmicrohttpd", "libevent", "libunbound"):
        assert not any(lib in ln for ln in needed), f"signet links {lib}: {needed}"


def test_no_file_outside_lib_includes_a_lib_header():
    """Source-level twin of the include-path rule, naming the offender."""
    root = Path(__file__).resolve().parents[2]
    lib_headers = {p.name for p in (root / "lib").glob("*.h")}
    bad = []
    for part in ("base", "conf", "daemon", "cli"):
        for f in sorted((root / part).glob("*.[ch]")):
            for ln in f.read_text(errors="replace").splitlines():
                if ln.startswith("#include \"") and ln.split('"')[1] in lib_headers:
                    bad.append(f"{part}/{f.name}: {ln}")
    assert not bad, bad
