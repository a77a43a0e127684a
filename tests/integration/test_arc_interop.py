# test_arc_interop.py: ARC (RFC 8617) interop both ways (issue #16): dkimpy
# (python3-dkim: dkim.arc_sign, dkim.arc_verify) and Mail::DKIM's ARC
# modules (libmail-dkim-perl, driven by maildkim_arc.pl) verify the sets
# `signet arc seal` adds, first hop (cv=none) and second hop (cv=pass); and
# `signet verify --arc` verifies the sets they add, one and two hops. Keys
# are RSA (Debian 12's Mail::DKIM has no ed25519) and served from one zone
# file (dkimpy through dnsfunc=, Mail::DKIM through a resolver override).
import re
import shutil
import subprocess
from pathlib import Path

import pytest

dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed (scripts/deps.sh)")

HERE = Path(__file__).resolve().parent
MAILDKIM_ARC = HERE / "maildkim_arc.pl"
ORIGIN, HOP1, HOP2 = "origin.example", "fwd.example", "list.example"
T0 = 1765130000


@pytest.fixture(scope="module")
def akit(signet, tmp_path_factory):
    d = tmp_path_factory.mktemp("arcinterop")
    keys, lines, dns = {}, [], {}
    for dom in (ORIGIN, HOP1, HOP2):
        k = d / f"{dom}.key"
        rec = signet.keygen(str(k), domain=dom, selector="sel", type_="rsa").text.strip()
        keys[dom] = k
        lines.append(f"sel._domainkey.{dom} TXT {rec}\n")
        dns[f"sel._domainkey.{dom}.".encode()] = rec.encode()
    zone = d / "zone"
    zone.write_text("".join(lines))

    def dnsfunc(name, timeout=5):
        n = name if name.endswith(b".") else name + b"."
        return dns.get(n.lower())

    return {"dir": d, "zone": zone, "keys": keys, "dnsfunc": dnsfunc}


def original(signet, akit):
    msg = (f"From: Alice <alice@{ORIGIN}>\nTo: list@{HOP2}\nSubject: arc interop\n"
           f"Date: Mon, 7 Dec 2026 20:00:00 +0000\nMessage-ID: <arc1@{ORIGIN}>\n\n"
           "Hello through two forwarders.\n").encode()
    return signet.sign(msg, str(akit["keys"][ORIGIN]), domain=ORIGIN,
                       extra=("--time", str(T0))).out


def crlf(msg):
    return re.sub(rb"(?<!\r)\n", b"\r\n", msg)


def signet_seal(signet, akit, msg, dom, t):
    r = signet.run("arc", "seal", "-d", dom, "-s", "sel", "-k", str(akit["keys"][dom]),
                   "--zone", str(akit["zone"]), "--authserv-id", dom, "--time", str(t),
                   input=msg)
    assert r.rc == 0, r
    return r.out


def signet_arc(signet, akit, msg):
    r = signet.run("verify", "--zone", str(akit["zone"]), "--arc", "--json", input=msg)
    return r.json()[-1]["arc"]


def with_our_ar(signet, akit, msg, srv_id):
    """msg with the Authentication-Results `signet verify --arc --ar` writes
    on top: what a sealer copies into its AAR (and takes cv= from)."""
    r = signet.run("verify", "--zone", str(akit["zone"]), "--arc", "--ar", srv_id, input=msg)
    lines = r.text.splitlines(keepends=True)
    k = max(i for i, line in enumerate(lines) if line.startswith("Authentication-Results:"))
    return crlf("".join(lines[k:]).encode()) + crlf(msg)


def dkimpy_verify(akit, msg):
    cv, _, why = dkim.arc_verify(crlf(msg), dnsfunc=akit["dnsfunc"])
    return cv.decode(), why


def dkimpy_seal(signet, akit, msg, dom, t):
    m = with_our_ar(signet, akit, msg, dom)
    hdrs = dkim.arc_sign(m, b"sel", dom.encode(), akit["keys"][dom].read_bytes(), dom.encode(),
                         timestamp=t)
    assert len(hdrs) == 3, hdrs
    return b"".join(hdrs) + m


def need_perl():
    if shutil.which("perl") is None:
        pytest.fail("perl not found: run scripts/deps.sh (libmail-dkim-perl)")


def maildkim_verify(akit, msg, tmp_path):
    need_perl()
    f = tmp_path / "msg.eml"
    f.write_bytes(msg)
    p = subprocess.run(["perl", str(MAILDKIM_ARC), "verify", str(akit["zone"]), str(f)],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode().strip(), p.stderr.decode()


def maildkim_seal(signet, akit, msg, dom, t, tmp_path):
    need_perl()
    f = tmp_path / f"in-{dom}.eml"
    f.write_bytes(with_our_ar(signet, akit, msg, dom))
    p = subprocess.run(["perl", str(MAILDKIM_ARC), "seal", str(akit["keys"][dom]), dom, "sel",
                        dom, str(t), str(f)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def tamper(msg):
    out = msg.replace(b"Hello through", b"Hello around")
    assert out != msg
    return out


# ---- our seals, their verifiers -----------------------------------------

def test_ARC_INTEROP_01_signet_seals_dkimpy_verifies(signet, akit):
    one = signet_seal(signet, akit, original(signet, akit), HOP1, T0 + 10)
    assert b"cv=none" in one.split(b"ARC-Message-Signature")[0]
    assert dkimpy_verify(akit, one) == ("pass", "success"), dkimpy_verify(akit, one)
    two = signet_seal(signet, akit, one, HOP2, T0 + 20)
    assert b"cv=pass" in two.split(b"ARC-Message-Signature")[0]
    assert dkimpy_verify(akit, two)[0] == "pass", dkimpy_verify(akit, two)
    assert dkimpy_verify(akit, tamper(two))[0] == "fail"


def test_ARC_INTEROP_01_signet_seals_maildkim_verifies(signet, akit, tmp_path):
    one = signet_seal(signet, akit, original(signet, akit), HOP1, T0 + 10)
    res, why = maildkim_verify(akit, one, tmp_path)
    assert res == "pass", why
    two = signet_seal(signet, akit, one, HOP2, T0 + 20)
    res, why = maildkim_verify(akit, two, tmp_path)
    assert res == "pass", why
    res, why = maildkim_verify(akit, tamper(two), tmp_path)
    assert res == "fail", why


# ---- their seals, our verifier --------------------------------------------

def test_ARC_INTEROP_02_dkimpy_seals_signet_verifies(signet, akit):
    one = dkimpy_seal(signet, akit, original(signet, akit), HOP1, T0 + 10)
    a = signet_arc(signet, akit, one)
    assert (a["result"], a["sets"], a["cv"]) == ("pass", 1, ["none"]), a
    two = dkimpy_seal(signet, akit, one, HOP2, T0 + 20)
    a = signet_arc(signet, akit, two)
    assert (a["result"], a["sets"], a["cv"]) == ("pass", 2, ["pass", "none"]), a
    assert signet_arc(signet, akit, tamper(two))["result"] == "fail"


def test_ARC_INTEROP_02_maildkim_seals_signet_verifies(signet, akit, tmp_path):
    one = maildkim_seal(signet, akit, original(signet, akit), HOP1, T0 + 10, tmp_path)
    a = signet_arc(signet, akit, one)
    assert (a["result"], a["sets"], a["cv"]) == ("pass", 1, ["none"]), a
    two = maildkim_seal(signet, akit, one, HOP2, T0 + 20, tmp_path)
    a = signet_arc(signet, akit, two)
    assert (a["result"], a["sets"], a["cv"]) == ("pass", 2, ["pass", "none"]), a
    assert signet_arc(signet, akit, tamper(two))["result"] == "fail"


def test_ARC_INTEROP_03_mixed_chain(signet, akit, tmp_path):
    """dkimpy seals first, we seal second, Mail::DKIM checks, and back."""
    one = dkimpy_seal(signet, akit, original(signet, akit), HOP1, T0 + 10)
    two = signet_seal(signet, akit, one, HOP2, T0 + 20)
    assert b"cv=pass" in two.split(b"ARC-Message-Signature")[0]
    assert maildkim_verify(akit, two, tmp_path)[0] == "pass"
    assert dkimpy_verify(akit, two)[0] == "pass"
    one = signet_seal(signet, akit, original(signet, akit), HOP1, T0 + 10)
    two = maildkim_seal(signet, akit, one, HOP2, T0 + 20, tmp_path)
    assert signet_arc(signet, akit, two)["result"] == "pass"
    assert dkimpy_verify(akit, two)[0] == "pass"


def test_ARC_VAL_02_list_footer_oldest_pass(signet, akit):
    """A list checks the chain (arc=pass in its Authentication-Results),
    appends a footer, and seals with dkimpy: the chain passes with
    oldest-pass 2, since AMS 1 no longer verifies (RFC 8617 5.2 step 5)."""
    one = signet_seal(signet, akit, original(signet, akit), HOP1, T0 + 10)
    ar = with_our_ar(signet, akit, one, HOP2)
    assert b"arc=pass" in ar.split(b"\r\n\r\n")[0]
    footer = ar.replace(b"Hello through two forwarders.\r\n",
                        b"Hello through two forwarders.\r\n-- \r\nlist footer\r\n")
    hdrs = dkim.arc_sign(footer, b"sel", HOP2.encode(), akit["keys"][HOP2].read_bytes(),
                         HOP2.encode(), timestamp=T0 + 20)
    two = b"".join(hdrs) + footer
    a = signet_arc(signet, akit, two)
    assert (a["result"], a["oldest_pass"], a["cv"]) == ("pass", 2, ["pass", "none"]), a
    t = signet.run("verify", "--zone", str(akit["zone"]), "--arc", "--explain", input=two).text
    assert f"set i=2: d={HOP2} s=sel cv=pass; ARC-Seal verified; ARC-Message-Signature " \
           "verified" in t, t
    assert f"set i=1: d={HOP1} s=sel cv=none; ARC-Seal verified; ARC-Message-Signature " \
           "does not verify" in t, t
    assert "oldest pass: i=2" in t, t
    assert dkimpy_verify(akit, two)[0] == "pass"
