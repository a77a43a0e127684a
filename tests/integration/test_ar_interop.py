# test_ar_interop.py: the Authentication-Results signet writes (the same
# libsignet formatter signetd uses, printed by `signet verify --ar ID`) read by
# two independent parsers from Debian: Python's authres (python3-authres) and
# Perl's Mail::AuthenticationResults (libmail-authenticationresults-perl).
# One case per result word. SpamAssassin's AuthRes plugin is not driven here.
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
AUTHSERV = "mx.example.com"


def authres_module():
    try:
        import authres  # noqa: F401  (python3-authres)
        return authres
    except ImportError:
        pytest.skip("python3-authres is not installed (scripts/deps.sh installs it)")


def perl_parser_present():
    r = subprocess.run(["perl", "-MMail::AuthenticationResults::Parser", "-e", "1"],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("Mail::AuthenticationResults is not installed (scripts/deps.sh installs it)")


def ar_value(signet_bin, message, keys, extra=()):
    """The value of the Authentication-Results field `signet verify --ar` prints."""
    r = subprocess.run([str(signet_bin), "verify", "--keys", str(keys), "--ar", AUTHSERV,
                        *extra, str(message)], capture_output=True, text=True, timeout=30)
    assert r.returncode in (0, 1, 2, 3), (r.returncode, r.stderr)
    out = r.stdout
    start = out.index("Authentication-Results:")
    field = out[start:].rstrip("\n")
    assert "\r" not in field
    for line in field.split("\n"):
        assert len(line) <= 78, f"AR-SYN-09: line over 78: {line!r}"
    return field.split(":", 1)[1]


def python_parse(value):
    authres = authres_module()
    h = authres.AuthenticationResultsHeader.parse("Authentication-Results:" + value)
    res = [(r.method, r.result, {f"{p.type}.{p.name}": p.value for p in r.properties})
           for r in h.results]
    return h.authserv_id, res


def perl_parse(value):
    perl_parser_present()
    r = subprocess.run(["perl", str(HERE / "ar_parse.pl")], input=value, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, f"Mail::AuthenticationResults refused {value!r}: {r.stderr}"
    lines = r.stdout.splitlines()
    assert lines[0].startswith("authserv-id ")
    res = []
    for ln in lines[1:]:
        if ln.startswith("  "):
            k, v = ln.strip().split("=", 1)
            res[-1][2][k] = v
        else:
            method, result = ln.split(" ", 1)
            res.append((method, result, {}))
    return lines[0].split(" ", 1)[1], res


@pytest.fixture
def cases(testdata, tmp_path):
    d = Path(testdata)
    temp_keys = tmp_path / "temperror.txt"
    temp_keys.write_text("#!temperror brisbane._domainkey.football.example.com\n"
                         "#!temperror test._domainkey.football.example.com\n")
    return {
        "pass": (d / "rfc8463/signed.eml", d / "rfc8463/keys.txt", (), ["pass", "pass"]),
        "fail": (d / "rfc8463/tampered-body.eml", d / "rfc8463/keys.txt", (), ["fail", "fail"]),
        "permerror": (d / "rfc8463/signed.eml", d / "rfc8463/keys-revoked.txt", (),
                      ["permerror", "permerror"]),
        "temperror": (d / "rfc8463/signed.eml", temp_keys, (), ["temperror", "temperror"]),
        "none": (d / "rfc8463/unsigned.eml", d / "rfc8463/keys.txt", (), ["none"]),
        "policy": (d / "opendkim/t-test28.eml", d / "opendkim/keys.txt",
                   ("--l-policy", "unsigned"), ["policy"]),
        "mixed": (d / "rfc8463/signed.eml", d / "rfc8463/keys-testmode-sha1only.txt", (),
                  ["permerror", "pass"]),
    }


@pytest.mark.parametrize("case", ["pass", "fail", "permerror", "temperror", "none", "policy",
                                  "mixed"])
def test_AR_INTEROP_01_AR_DKIM_03_parsed_by_authres_and_mail_authenticationresults(
        signet_bin, cases, case):
    """AR-INTEROP-01, AR-DKIM-02/03, AR-SYN-01/02/06/09: our field parses with
    python3-authres and Mail::AuthenticationResults, both see our
    authserv-id, one dkim result per signature in header order with the
    right word, and for signatures with a d= the same header.d, header.s,
    header.a and header.b properties (AR-INTEROP-02: only registered ones)."""
    message, keys, extra, words = cases[case]
    value = ar_value(signet_bin, message, keys, extra)
    for parse in (python_parse, perl_parse):
        sid, res = parse(value)
        assert sid == AUTHSERV, (parse.__name__, sid)
        assert [m for m, _, _ in res] == ["dkim"] * len(words), (parse.__name__, res)
        assert [r for _, r, _ in res] == words, (parse.__name__, value, res)
        for _, result, props in res:
            if result == "none":
                assert props == {}, props
                continue
            # Mail::AuthenticationResults lists reason= among the children
            allowed = {"header.d", "header.i", "header.s", "header.a", "header.b", "reason"}
            assert set(props) <= allowed, props
            if parse is perl_parse and result != "pass":
                assert props.get("reason"), f"AR-SYN-06: a reason for {result}: {props}"
            assert props["header.d"] and props["header.s"] and props["header.a"], props
            assert len(props["header.b"]) >= 8, props
    if case == "pass":
        _, res = python_parse(value)
        assert res[0][2]["header.d"] == "football.example.com"
        assert res[0][2]["header.s"] == "brisbane" and res[1][2]["header.s"] == "test"
        assert res[0][2]["header.a"] == "ed25519-sha256"
