# test_interop.py: signet against two independent DKIM implementations, both
# directions: dkimpy (python3-dkim) and Mail::DKIM (libmail-dkim-perl) verify
# what `signet sign` writes; `signet verify` checks what dkimpy signs; a
# one-byte change to the body or to the signed Subject makes every verifier
# fail. Keys come from `signet keygen`; messages are written here.
import logging
import shutil
import subprocess
from pathlib import Path

import dkim
import pytest

from conftest import keys_line, ed25519_seed_from_pem, split_message

logging.getLogger("dkim").setLevel(logging.CRITICAL)

HERE = Path(__file__).resolve().parent
MAILDKIM = HERE / "maildkim_verify.pl"
DOMAIN = "interop.example"
ALGS = {"rsa": "rsa-sha256", "ed25519": "ed25519-sha256"}
CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]

BASE_HEADERS = (
    b"From: Joe SixPack <joe@interop.example>\n"
    b"To: Suzie Q <suzie@shopping.example.net>\n"
    b"Date: Fri, 11 Jul 2003 21:00:37 -0700\n"
    b"Message-ID: <20030712040037.46341.5F8J@interop.example>\n"
)
PLAIN = BASE_HEADERS + b"Subject: Is dinner ready?\n\nHi.\n\nWe lost the game. Are you hungry yet?\n\nJoe.\n"
MESSAGES = {
    "plain-lf": PLAIN,
    "plain-crlf": PLAIN.replace(b"\n", b"\r\n"),
    "empty-body": BASE_HEADERS + b"Subject: nothing to say\n\n",
    "8bit-utf8": (BASE_HEADERS
                  + "Subject: Grüße aus Köln – ½ price ✓\n".encode()
                  + b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                  + b"Content-Transfer-Encoding: 8bit\n\n"
                  + "Schöne Grüße,\nJürgen — 日本語のテキスト\n".encode()),
    "folded-headers": (
        b"From: Joe SixPack\n <joe@interop.example>\n"
        b"To: alice@example.net, bob@example.net, carol@example.net,\n"
        b"\tdave@example.net, erin@example.net, frank@example.net,\n"
        b"   grace@example.net, heidi@example.net\n"
        b"Subject:  A subject line that is long enough to be folded by a careful\n"
        b"\t mail user agent,   with   runs of spaces\t and tabs \n"
        b"Date: Fri, 11 Jul 2003 21:00:37 -0700\n"
        b"X-Long: " + b"x" * 900 + b"\n"
        b"Message-ID: <folded@interop.example>\n\nBody.\n"),
    "trailing-ws": (BASE_HEADERS + b"Subject: whitespace  \t \n\n"
                    b"line with trailing spaces   \n"
                    b"tabs\tand  runs   of \t spaces\n"
                    b"  leading spaces\n"
                    b"\n\n"
                    b"after two empty lines \t\n"
                    b"   \n\t\n\n\n\n"),
}


def _ids(alg, canon, name):
    return f"{alg}-{canon.replace('/', '.')}-{name}"


CASES = [pytest.param(a, c, m, id=_ids(a, c, m)) for a in ALGS for c in CANONS for m in MESSAGES]


@pytest.fixture(scope="module")
def ikeys(signet, tmp_path_factory):
    """rsa 2048 (s=rsa) and ed25519 (s=ed25519) keys of interop.example, made by signet."""
    d = tmp_path_factory.mktemp("interop")
    rec = {}
    for alg in ALGS:
        r = signet.keygen(d / f"{alg}.key", domain=DOMAIN, selector=alg, type_=alg)
        rec[alg] = r.text.strip()
    keys = d / "keys.txt"
    keys.write_text("".join(keys_line(a, DOMAIN, rec[a]) for a in ALGS))
    dns = {f"{a}._domainkey.{DOMAIN}.".encode(): rec[a].encode() for a in ALGS}

    def dnsfunc(name, timeout=5):
        n = name if name.endswith(b".") else name + b"."
        return dns.get(n.lower())

    return {"dir": d, "keys": keys, "dnsfunc": dnsfunc,
            "pem": {a: (d / f"{a}.key").read_bytes() for a in ALGS},
            "path": {a: d / f"{a}.key" for a in ALGS}}


_signed = {}


def signet_signed(signet, ikeys, alg, canon, name):
    """MESSAGES[name] signed by signet (cached per session)."""
    k = (alg, canon, name)
    if k not in _signed:
        r = signet.sign(MESSAGES[name], ikeys["path"][alg], domain=DOMAIN, selector=alg,
                        extra=("-a", ALGS[alg], "-c", canon))
        _signed[k] = r.out
    return _signed[k]


def dkimpy_signed(ikeys, alg, canon, msg):
    """msg with a DKIM-Signature made by dkimpy prepended."""
    if alg == "ed25519":
        priv = ed25519_seed_from_pem(ikeys["pem"][alg])
    else:
        priv = ikeys["pem"][alg]
    hc, bc = canon.split("/")
    linesep = b"\r\n" if b"\r\n" in msg else b"\n"
    sig = dkim.sign(msg, alg.encode(), DOMAIN.encode(), priv, canonicalize=(hc.encode(), bc.encode()),
                    signature_algorithm=ALGS[alg].encode(), linesep=linesep)
    return sig + msg


def maildkim(ikeys, msg, tmp_path):
    if shutil.which("perl") is None:
        pytest.fail("perl not found: run scripts/deps.sh (libmail-dkim-perl)")
    f = tmp_path / "m.eml"
    f.write_bytes(msg)
    p = subprocess.run(["perl", str(MAILDKIM), str(ikeys["keys"]), str(f)], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout.decode().strip(), p.stderr.decode(errors="replace")


_ed_ok = None


def need_maildkim_alg(alg):
    global _ed_ok
    if alg != "ed25519":
        return
    if _ed_ok is None:
        _ed_ok = subprocess.run(["perl", str(MAILDKIM), "--has-ed25519"]).returncode == 0
    if not _ed_ok:
        pytest.skip("this Mail::DKIM has no ed25519-sha256 support (Debian 12's "
                    "libmail-dkim-perl 1.20230212 predates it)")


def tamper(msg, part):
    """One byte changed: the first letter of the body, or of the Subject value."""
    head, body = split_message(msg)
    if part == "body":
        i = next(i for i, c in enumerate(body) if chr(c).isalpha())
        return head + body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
    i = head.index(b"\nSubject: ") + len(b"\nSubject: ")
    return head[:i] + bytes([head[i] ^ 0x01]) + head[i + 1:] + body


# ------------------------------------------------------------ signet signs

@pytest.mark.parametrize("alg,canon,name", CASES)
def test_DKIM_SIGN_01_signet_signs_dkimpy_verifies(signet, ikeys, alg, canon, name):
    """DKIM-SIGN-01/02/05, DKIM-CANON-*, DKIM-EAI-01, DKIM-SIGN-10 (8-bit body signed as is),
    DKIM-ERR-04 (RFC 8463 ed25519-sha256): dkimpy verifies what signet signs."""
    out = signet_signed(signet, ikeys, alg, canon, name)
    assert dkim.verify(out, dnsfunc=ikeys["dnsfunc"]) is True, out[:600]


@pytest.mark.parametrize("alg,canon,name", CASES)
def test_DKIM_SIGN_01_signet_signs_maildkim_verifies(signet, ikeys, alg, canon, name, tmp_path):
    """DKIM-SIGN-01/02/05, DKIM-CANON-*: Mail::DKIM verifies what signet signs."""
    need_maildkim_alg(alg)
    out = signet_signed(signet, ikeys, alg, canon, name)
    res, detail = maildkim(ikeys, out, tmp_path)
    assert res == "pass", detail


# ------------------------------------------------------------ dkimpy signs

@pytest.mark.parametrize("alg,canon,name", CASES)
def test_DKIM_VER_01_dkimpy_signs_signet_verifies(signet, ikeys, alg, canon, name):
    """DKIM-VER-01, DKIM-CANON-*, DKIM-SIG-13, DKIM-ERR-01 (hash input as corrected by
    errata 5252/5839): signet verifies what dkimpy signs."""
    msg = dkimpy_signed(ikeys, alg, canon, MESSAGES[name])
    v = signet.verify(msg, ikeys["keys"])
    assert v.results() == ["pass"], v
    assert v.rc == 0, v


# ------------------------------------------------------------ tampering

TAMPER = [pytest.param(a, c, p, id=f"{a}-{c.replace('/', '.')}-{p}")
          for a in ALGS for c in CANONS for p in ("body", "subject")]


@pytest.mark.parametrize("alg,canon,part", TAMPER)
def test_DKIM_VER_02_03_tampered_signet_signature_fails_everywhere(signet, ikeys, alg, canon, part,
                                                                    tmp_path):
    """DKIM-VER-02 (body), DKIM-VER-03 (signed header): one changed byte → signet fail
    (exit 1), dkimpy False, Mail::DKIM fail (where it knows the algorithm)."""
    bad = tamper(signet_signed(signet, ikeys, alg, canon, "plain-crlf"), part)
    assert bad != signet_signed(signet, ikeys, alg, canon, "plain-crlf")
    v = signet.verify(bad, ikeys["keys"])
    assert v.results() == ["fail"], v
    assert v.rc == 1
    assert dkim.verify(bad, dnsfunc=ikeys["dnsfunc"]) is False


@pytest.mark.parametrize("alg,canon,part", TAMPER)
def test_DKIM_VER_02_03_tampered_signet_signature_maildkim(signet, ikeys, alg, canon, part, tmp_path):
    """DKIM-VER-02/03: Mail::DKIM also fails a tampered signet signature."""
    need_maildkim_alg(alg)
    bad = tamper(signet_signed(signet, ikeys, alg, canon, "plain-crlf"), part)
    res, detail = maildkim(ikeys, bad, tmp_path)
    assert res == "fail", detail


@pytest.mark.parametrize("alg,canon,part", TAMPER)
def test_DKIM_VER_02_03_tampered_dkimpy_signature_fails_in_signet(signet, ikeys, alg, canon, part):
    """DKIM-VER-02/03: a tampered dkimpy signature fails in signet (exit 1)."""
    signed = dkimpy_signed(ikeys, alg, canon, MESSAGES["plain-crlf"])
    assert signet.verify(signed, ikeys["keys"]).results() == ["pass"]
    v = signet.verify(tamper(signed, part), ikeys["keys"])
    assert v.results() == ["fail"], v
    assert v.rc == 1


@pytest.mark.parametrize("alg", list(ALGS))
def test_DKIM_HDR_06_dkimpy_signs_over_signet_signature(signet, ikeys, alg):
    """DKIM-HDR-06: dkimpy signs a signet-signed message with dkim-signature in h=; signet
    verifies both: the earlier signature is an ordinary field of the later one's h=, and
    the signature being verified is left out of its own h= walk."""
    first = signet_signed(signet, ikeys, "rsa", "relaxed/relaxed", "plain-crlf")
    priv = ed25519_seed_from_pem(ikeys["pem"][alg]) if alg == "ed25519" else ikeys["pem"][alg]
    d = dkim.DKIM(first)
    d.should_not_sign.discard(b"dkim-signature")  # dkimpy refuses it by default
    sig = d.sign(alg.encode(), DOMAIN.encode(), priv, signature_algorithm=ALGS[alg].encode(),
                 canonicalize=(b"relaxed", b"relaxed"),
                 include_headers=[b"from", b"subject", b"dkim-signature"])
    assert b"dkim-signature" in sig.lower().split(b"h=")[1].split(b";")[0]
    msg = sig + first
    assert signet.verify(msg, ikeys["keys"]).results() == ["pass", "pass"]
    # Changing the inner signature's text (its s= tag) breaks the outer one (it is signed).
    inner = len(sig)
    bad = msg[:inner] + msg[inner:].replace(b"s=rsa;", b"s=rsb;", 1)
    assert bad != msg
    res = signet.verify(bad, ikeys["keys"]).results()
    assert res[0] == "fail", res


def test_DKIM_HDR_02_instances_taken_bottom_up(signet, ikeys):
    """DKIM-HDR-02: dkimpy signs h=from:x-tag over two X-Tag fields (the bottom one is
    selected); in signet, changing the top one keeps the pass, the bottom one fails."""
    msg = MESSAGES["plain-crlf"].replace(b"Subject:", b"X-Tag: top\r\nX-Tag: bottom\r\nSubject:")
    sig = dkim.sign(msg, b"rsa", DOMAIN.encode(), ikeys["pem"]["rsa"],
                    canonicalize=(b"relaxed", b"relaxed"), include_headers=[b"from", b"x-tag"])
    assert b"h=from:x-tag;" in b"".join(sig.split())
    signed = sig + msg
    assert signet.verify(signed, ikeys["keys"]).results() == ["pass"]
    top = signed.replace(b"X-Tag: top", b"X-Tag: tip")
    assert signet.verify(top, ikeys["keys"]).results() == ["pass"]
    bottom = signed.replace(b"X-Tag: bottom", b"X-Tag: bottum")
    assert signet.verify(bottom, ikeys["keys"]).results() == ["fail"]


def test_DKIM_SIGN_09_dual_signature_interop(signet, ikeys, tmp_path):
    """DKIM-SIGN-09: an rsa + ed25519 signed message: dkimpy verifies both signatures."""
    one = signet_signed(signet, ikeys, "rsa", "relaxed/relaxed", "plain-lf")
    two = signet.sign(one, ikeys["path"]["ed25519"], domain=DOMAIN, selector="ed25519",
                      extra=("-a", "ed25519-sha256")).out
    d = dkim.DKIM(two)
    assert d.verify(idx=0, dnsfunc=ikeys["dnsfunc"]) is True
    d = dkim.DKIM(two)
    assert d.verify(idx=1, dnsfunc=ikeys["dnsfunc"]) is True
    assert signet.verify(two, ikeys["keys"]).results() == ["pass", "pass"]
