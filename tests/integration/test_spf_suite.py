# test_spf_suite.py: the OpenSPF RFC 7208 test suite
# (../shared/testdata/spf/rfc7208-tests.yml, 16 scenarios, 203 tests) through
# `signet spf --zone`: each scenario's zonedata is written as a ZONEFILE
# (DESIGN.md) and every test runs as its own pytest case, named after the
# suite's test name. Where the suite accepts several results, any of them
# passes; where it gives an explanation, it must match exactly (the
# reference harness's default explanation is the literal "DEFAULT").
import json
import subprocess

import pytest

from conftest import TESTDATA, TESTDATA_MISSING

SUITE = TESTDATA / "spf" / "rfc7208-tests.yml"


def zone_bytes(value):
    """A YAML TXT value as bytes: a list is one record of several strings,
    joined (RFC 7208 3.3); "\\xNN" escapes in the suite are bytes."""
    if isinstance(value, list):
        return b"".join(zone_bytes(v) for v in value)
    if isinstance(value, bytes):
        return value
    s = str(value)
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        return s.encode("utf-8")


def escape(data, edges=True):
    """ZONEFILE escaping: backslash, bytes that are not printable ASCII, and
    (edges) a space at either end, as \\DDD (RFC 1035 5.1)."""
    out = []
    for i, b in enumerate(data):
        edge = edges and b == 0x20 and (i == 0 or i == len(data) - 1)
        if b == 0x5C or b < 0x20 or b > 0x7E or edge:
            out.append("\\%03d" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def zonefile(zonedata):
    """The suite's zonedata as ZONEFILE lines. SPF entries are published as
    TXT unless the name lists TXT itself (the suite's README); TXT NONE means
    no TXT record; TIMEOUT makes the name's lookups fail temporarily."""
    lines = []
    for name, records in (zonedata or {}).items():
        n = escape(str(name).encode("latin-1"), edges=False).replace(" ", "\\032")
        has_txt = any(isinstance(r, dict) and "TXT" in r for r in records)
        for r in records:
            if r == "TIMEOUT":
                lines.append(f"{n} TIMEOUT")
                continue
            ((typ, val),) = r.items()
            if typ == "SPF":
                if has_txt:
                    continue
                typ = "TXT"
            if typ == "TXT":
                if val == "NONE":
                    continue
                lines.append(f"{n} TXT {escape(zone_bytes(val))}")
            elif typ == "MX":
                lines.append(f"{n} MX {val[0]} {val[1] or '.'}")  # "" is the root
            else:
                lines.append(f"{n} {typ} {val}")
    return "\n".join(lines) + "\n"


def load_suite():
    if not SUITE.is_file():
        return []
    import yaml  # python3-yaml (scripts/deps.sh)

    cases = []
    with open(SUITE, "rb") as f:
        for scenario in yaml.safe_load_all(f):
            zone = zonefile(scenario.get("zonedata"))
            for name, test in scenario["tests"].items():
                cases.append(pytest.param(scenario["description"], zone, test, id=name))
    return cases


CASES = load_suite()


def test_suite_present():
    """The suite is read from ../shared; say so visibly when it is absent."""
    if not SUITE.is_file():
        pytest.skip(TESTDATA_MISSING)
    assert len(CASES) == 203, f"the RFC 7208 suite has 203 tests, read {len(CASES)}"


@pytest.mark.parametrize("scenario,zone,test", CASES)
def test_rfc7208(signet, tmp_path, scenario, zone, test):
    zf = tmp_path / "zone"
    zf.write_text(zone, encoding="latin-1")
    mail_from = test.get("mailfrom") or ""
    args = ["spf", "--ip", str(test["host"]), "--zone", str(zf), "--json",
            "--default-explanation", "DEFAULT", "--mail-from", mail_from]
    if test.get("helo"):
        args += ["--helo", str(test["helo"])]
    r = signet.run(*args)
    assert r.rc in (0, 1, 2, 3), f"{scenario}: {r!r}"
    out = json.loads(r.out)
    want = test["result"] if isinstance(test["result"], list) else [test["result"]]
    assert out["result"] in want, f"{scenario} ({test.get('spec')}): {out}"
    if "explanation" in test:
        assert out["explanation"] == test["explanation"], f"{scenario}: {out}"
