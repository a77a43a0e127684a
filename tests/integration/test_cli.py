# test_cli.py: the `signet` command-line contract (DESIGN.md "signet (CLI)"):
# keygen, sign, verify (exit codes, --json, --explain), dnscheck, usage
# errors. Keys are made with `signet keygen` itself; messages are written here.
import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from dkim.canonicalization import Relaxed

from conftest import EX_USAGE, TESTDATA, header_fields, keys_line, sig_tags, split_message

MSG_LF = (
    b"Return-Path: <joe@example.com>\n"
    b"Received: from mail.example.com by mx.example.net; Mon, 1 Jan 2024 10:00:00 +0000\n"
    b"From: Joe <joe@example.com>\n"
    b"To: Suzie <suzie@example.net>\n"
    b"Subject: Is dinner ready?\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    b"Message-ID: <1@example.com>\n"
    b"\n"
    b"Hi.\n"
    b"\n"
    b"We lost the game.  Are you hungry yet?\n"
    b"\n"
    b"Joe.\n"
)
MSG_CRLF = MSG_LF.replace(b"\n", b"\r\n")
UNSIGNED_KEYS = "# nothing\n"


def tamper_body(msg):
    """msg with one body byte changed (a letter, so relaxed body canon sees it)."""
    head, body = split_message(msg)
    i = re.search(rb"[A-Za-z]", body).start()
    c = body[i:i + 1]
    return head + body[:i] + (b"X" if c != b"X" else b"Y") + body[i + 1:]


@pytest.fixture(scope="module")
def kit(signet, tmp_path_factory):
    """An RSA 2048 and an ed25519 key for example.com (selectors rsa, ed) and a keys file."""
    d = tmp_path_factory.mktemp("kit")
    rsa = signet.keygen(d / "rsa.key", selector="rsa", type_="rsa").text.strip()
    ed = signet.keygen(d / "ed.key", selector="ed", type_="ed25519").text.strip()
    keys = d / "keys.txt"
    keys.write_text(keys_line("rsa", "example.com", rsa) + keys_line("ed", "example.com", ed))
    return {"dir": d, "rsa": d / "rsa.key", "ed": d / "ed.key", "keys": keys,
            "rsa_record": rsa, "ed_record": ed}


def sign_rsa(signet, kit, msg=MSG_LF, extra=()):
    return signet.sign(msg, kit["rsa"], selector="rsa", extra=extra)


def sign_ed(signet, kit, msg=MSG_LF, extra=()):
    return signet.sign(msg, kit["ed"], selector="ed", extra=("-a", "ed25519-sha256", *extra))


def first_sig(out):
    fields = header_fields(out)
    assert fields[0][0] == "DKIM-Signature", out[:300]
    return fields[0][1]


# ---------------------------------------------------------------- keygen

def test_keygen_rsa_writes_pem_mode_0600(signet, tmp_path):
    """keygen writes the private key as PEM with mode 0600 (DESIGN: keygen)."""
    key = tmp_path / "k.key"
    signet.keygen(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    data = key.read_bytes()
    assert data.startswith(b"-----BEGIN ") and b"PRIVATE KEY-----" in data


def test_keygen_ed25519_mode_0600_even_with_open_umask(signet, tmp_path):
    """The 0600 mode does not depend on the caller's umask."""
    key = tmp_path / "e.key"
    old = os.umask(0)
    try:
        signet.keygen(key, type_="ed25519")
    finally:
        os.umask(old)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_keygen_refuses_to_overwrite(signet, tmp_path):
    """keygen refuses to overwrite an existing key file and says which file."""
    key = tmp_path / "k.key"
    key.write_bytes(b"precious\n")
    r = signet.run("keygen", "-d", "example.com", "-s", "sel", "-t", "ed25519", "-k", key)
    assert r.rc != 0, r
    assert str(key) in r.err, r
    assert "exist" in r.err.lower(), r
    assert key.read_bytes() == b"precious\n"
    assert r.out == b"", r


def _zone_strings(text, selector="sel", domain="example.com"):
    name = re.escape(f"{selector}._domainkey.{domain}.")
    m = re.match(rf"\s*{name}\s+(?:\d+\s+)?IN\s+TXT\s+\((.*)\)\s*$", text, re.S)
    assert m, f"zone line shape: {text!r}"
    inner = m.group(1)
    strings = re.findall(r'"([^"]*)"', inner)
    # Nothing but quoted strings and whitespace (and ; comments) inside the parens.
    rest = re.sub(r'"[^"]*"', "", inner)
    rest = re.sub(r";[^\n]*", "", rest)
    assert rest.strip() == "", f"stray text in the TXT record: {rest!r}"
    return strings


def test_DKIM_KEY_01_keygen_zone_format_4096(signet, tmp_path):
    """DKIM-KEY-01: the zone-file line is `SEL._domainkey.DOM. IN TXT ( "..." "..." )`;
    every character-string is at most 255 octets (RFC 1035 3.3), joined they are the
    record; a 4096-bit key (accepted) needs several strings. The record verifies."""
    key = tmp_path / "big.key"
    r = signet.run("keygen", "-d", "example.com", "-s", "sel", "-t", "rsa", "-b", "4096",
                   "-k", key, timeout=120)
    assert r.rc == 0, r
    strings = _zone_strings(r.text)
    assert len(strings) >= 3, strings
    assert all(len(s.encode()) <= 255 for s in strings), [len(s) for s in strings]
    record = "".join(strings)
    assert re.fullmatch(r"v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+={0,2}", record), record
    der = base64.b64decode(record.split("p=")[1])
    assert 540 <= len(der) <= 560, len(der)  # SPKI of a 4096-bit RSA key
    keys = tmp_path / "keys.txt"
    keys.write_text(keys_line("sel", "example.com", record))
    s = signet.sign(MSG_LF, key)
    assert signet.verify(s.out, keys).results() == ["pass"]


def test_keygen_zone_format_is_default(signet, tmp_path):
    """Without --format, keygen prints the zone-file form."""
    r = signet.run("keygen", "-d", "example.org", "-s", "s1", "-t", "ed25519", "-k",
                   tmp_path / "k")
    assert r.rc == 0, r
    strings = _zone_strings(r.text, "s1", "example.org")
    assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", "".join(strings))


def test_keygen_txt_format_single_line(signet, tmp_path):
    """--format txt prints the bare record value on one line, no quotes, for web forms."""
    r = signet.keygen(tmp_path / "k.key", fmt="txt")
    lines = [ln for ln in r.text.splitlines() if ln.strip()]
    assert len(lines) == 1, r
    assert '"' not in lines[0]
    assert re.fullmatch(r"v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+={0,2}", lines[0]), lines[0]
    der = base64.b64decode(lines[0].split("p=")[1])
    assert 290 <= len(der) <= 300, len(der)  # SPKI of the default 2048-bit key


def test_DKIM_ALG_03_keygen_ed25519_record(signet, tmp_path):
    """DKIM-ALG-03: the ed25519 record is k=ed25519 with p= the raw 32-byte key,
    44 base64 characters (RFC 8463 4.2)."""
    r = signet.keygen(tmp_path / "e.key", type_="ed25519")
    rec = r.text.strip()
    m = re.fullmatch(r"v=DKIM1; k=ed25519; p=([A-Za-z0-9+/=]+)", rec)
    assert m, rec
    assert len(m.group(1)) == 44
    assert len(base64.b64decode(m.group(1))) == 32


@pytest.mark.parametrize("bits", ["512", "768", "1023"])
def test_DKIM_SIGN_04_keygen_refuses_small_rsa(signet, tmp_path, bits):
    """DKIM-SIGN-04: RSA keys under 1024 bits are refused (RFC 8301 3.2); no file left."""
    key = tmp_path / "small.key"
    r = signet.run("keygen", "-d", "example.com", "-s", "sel", "-t", "rsa", "-b", bits, "-k", key)
    assert r.rc != 0, r
    assert "1024" in r.err, r
    assert not key.exists()


def test_DKIM_SIGN_04_keygen_refuses_rsa_over_4096(signet, tmp_path):
    """DKIM-KEY-14: keys over 4096 bits are refused (our cost bound)."""
    key = tmp_path / "huge.key"
    r = signet.run("keygen", "-d", "example.com", "-s", "sel", "-t", "rsa", "-b", "4097", "-k", key)
    assert r.rc != 0, r
    assert "4096" in r.err, r
    assert not key.exists()


def test_DKIM_VER_06_keygen_1024_accepted_and_verifies(signet, tmp_path):
    """DKIM-VER-06: 1024 bits is the smallest accepted size, and it signs and verifies."""
    key = tmp_path / "k1024.key"
    rec = signet.keygen(key, bits="1024").text.strip()
    der = base64.b64decode(rec.split("p=")[1])
    assert 160 <= len(der) <= 165, len(der)
    keys = tmp_path / "keys.txt"
    keys.write_text(keys_line("sel", "example.com", rec))
    s = signet.sign(MSG_LF, key)
    assert signet.verify(s.out, keys).results() == ["pass"]


# ---------------------------------------------------------------- sign

@pytest.mark.parametrize("msg", [MSG_LF, MSG_CRLF], ids=["LF", "CRLF"])
def test_DKIM_SIGN_06_sign_prepends_and_keeps_message(signet, kit, msg):
    """DKIM-SIGN-06, DKIM-CANON-11: the DKIM-Signature is the first header; the rest of
    the output is the input byte for byte; the signature uses the input's line ends."""
    r = sign_rsa(signet, kit, msg)
    assert r.out.endswith(msg)
    sig = r.out[: len(r.out) - len(msg)]
    assert sig.startswith(b"DKIM-Signature:")
    if msg is MSG_CRLF:
        assert sig.endswith(b"\r\n")
        assert sig.count(b"\n") == sig.count(b"\r\n"), sig
    else:
        assert sig.endswith(b"\n") and b"\r" not in sig, sig
    # The signature is one header field: continuation lines start with WSP.
    lines = sig.splitlines()
    assert all(ln[:1] in (b" ", b"\t") for ln in lines[1:]), sig


@pytest.mark.parametrize("alg", ["rsa", "ed"])
def test_DKIM_SIGN_03_lines_at_most_78_columns(signet, kit, alg):
    """DKIM-SIGN-03: every line of the emitted signature is at most 78 characters, the
    RFC 5322 2.1.1 count (a TAB is one character), line end excluded."""
    r = sign_rsa(signet, kit) if alg == "rsa" else sign_ed(signet, kit)
    sig = first_sig(r.out)
    for ln in sig.splitlines():
        assert len(ln) <= 78, ln


def test_DKIM_SIGN_08_tags_t_always_no_l(signet, kit):
    """DKIM-SIGN-08: t= always present (equal to --time), never l=; v=1, d=, s= as asked."""
    r = sign_rsa(signet, kit, extra=("--time", "1700000000"))
    tags = sig_tags(first_sig(r.out))
    assert tags["t"] == "1700000000"
    assert "l" not in tags
    assert tags["v"] == "1" and tags["d"] == "example.com" and tags["s"] == "rsa"
    assert tags["a"] == "rsa-sha256"
    assert tags.get("c", "simple/simple") == "relaxed/relaxed", "default c= is relaxed/relaxed"
    r2 = sign_rsa(signet, kit)
    t = int(sig_tags(first_sig(r2.out))["t"])
    assert abs(t - time.time()) < 120, "t= without --time is the current time"


def test_DKIM_HDR_04_default_headers_oversign_from(signet, kit):
    """DKIM-HDR-04: From is always signed and oversigned by default (listed once more than
    present), as are Subject, Date, To, Message-ID."""
    h = sig_tags(first_sig(sign_rsa(signet, kit).out))["h"].lower().split(":")
    for name in ("from", "subject", "date", "to", "message-id"):
        assert h.count(name) == 2, (name, h)


def test_DKIM_HDR_05_default_headers_exclude_trace(signet, kit):
    """DKIM-HDR-05: Return-Path, Received, Authentication-Results, DKIM-Signature are
    never in the default h=."""
    msg = (b"Authentication-Results: mx.example.net; dkim=pass\n"
           b"DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=y; h=from; bh=; b=\n" + MSG_LF)
    h = sig_tags(first_sig(sign_rsa(signet, kit, msg).out))["h"].lower().split(":")
    for name in ("return-path", "received", "authentication-results", "dkim-signature"):
        assert name not in h, (name, h)
    assert "from" in h


def test_DKIM_HDR_01_names_match_case_insensitively(signet, kit):
    """DKIM-HDR-01: h=from:subject selects `FROM:` and `SUBJECT:`; a change to the
    upper-case Subject breaks the signature, so it was selected."""
    msg = MSG_LF.replace(b"From:", b"FROM:").replace(b"Subject:", b"SUBJECT:")
    r = sign_rsa(signet, kit, msg, extra=("--headers", "from:subject"))
    assert signet.verify(r.out, kit["keys"]).results() == ["pass"]
    bad = r.out.replace(b"SUBJECT: Is dinner", b"SUBJECT: Is dinnex")
    assert signet.verify(bad, kit["keys"]).results() == ["fail"]


def _der_item(der, i):
    """(tag, content start, content end) of the DER item at offset i."""
    tag, n = der[i], der[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(der[i:i + k], "big")
        i += k
    return tag, i, i + n


def test_DKIM_ERR_02_pkcs1_record_verifies(signet, kit, tmp_path):
    """DKIM-ERR-02, DKIM-KEY-04: the same RSA key published as bare PKCS#1 RSAPublicKey
    (instead of SubjectPublicKeyInfo) verifies too."""
    spki = base64.b64decode(kit["rsa_record"].split("p=")[1])
    _, start, _ = _der_item(spki, 0)             # SubjectPublicKeyInfo SEQUENCE
    _, _, alg_end = _der_item(spki, start)       # AlgorithmIdentifier
    tag, bits, bits_end = _der_item(spki, alg_end)  # BIT STRING
    assert tag == 0x03 and spki[bits] == 0
    pkcs1 = spki[bits + 1:bits_end]
    assert pkcs1[0] == 0x30
    keys = tmp_path / "keys.txt"
    keys.write_text(keys_line("rsa", "example.com",
                              "v=DKIM1; k=rsa; p=" + base64.b64encode(pkcs1).decode()))
    v = signet.verify(sign_rsa(signet, kit).out, keys)
    assert v.results() == ["pass"], v


@pytest.mark.parametrize("name", ["received", "return-path"])
def test_DKIM_HDR_05_custom_headers_never_sign_trace(signet, kit, name):
    """DKIM-HDR-05: even when --headers asks for Received/Return-Path, they are not
    signed: the request is refused with a message naming the field, or the field is
    left out of h=."""
    r = signet.run("sign", "-d", "example.com", "-s", "rsa", "-k", kit["rsa"], "--headers",
                   f"from:subject:{name}", input=MSG_LF)
    if r.rc != 0:
        assert name in r.err.lower(), r
        assert r.out == b""
    else:
        assert name not in sig_tags(first_sig(r.out))["h"].lower().split(":"), r


def test_DKIM_HDR_03_oversign_option(signet, kit):
    """DKIM-HDR-03: --oversign lists each --headers name once more than it occurs
    (an absent name once), so a later added instance breaks the signature."""
    msg = b"Comments: one\nComments: two\n" + MSG_LF
    r = sign_rsa(signet, kit, msg, extra=("--headers", "from:subject:comments:x-absent",
                                          "--oversign"))
    h = sig_tags(first_sig(r.out))["h"].lower().split(":")
    assert (h.count("from"), h.count("subject"), h.count("comments"), h.count("x-absent")) == \
        (2, 2, 3, 1), h
    assert signet.verify(r.out, kit["keys"]).results() == ["pass"]
    # An added Subject (above the signed one) now breaks the signature.
    sig = first_sig(r.out)
    added = sig + b"Subject: free money\n" + r.out[len(sig):]
    v = signet.verify(added, kit["keys"])
    assert v.results() == ["fail"], v
    assert v.rc == 1


def test_sign_custom_headers_repeat_as_written(signet, kit):
    """--headers without --oversign: each name is listed as often as written (a repeated
    name oversigns it, rspamd style "from:from"); fields present once each here."""
    r = sign_rsa(signet, kit, extra=("--headers", "from:to:subject:from"))
    h = sig_tags(first_sig(r.out))["h"].lower().split(":")
    assert sorted(h) == ["from", "from", "subject", "to"], h
    assert signet.verify(r.out, kit["keys"]).results() == ["pass"]


@pytest.mark.parametrize("canon", ["simple/simple", "simple/relaxed", "relaxed/simple",
                                   "relaxed/relaxed"])
@pytest.mark.parametrize("alg", ["rsa", "ed"])
@pytest.mark.parametrize("msg", [MSG_LF, MSG_CRLF], ids=["LF", "CRLF"])
def test_DKIM_CANON_05_sign_verify_roundtrip(signet, kit, canon, alg, msg):
    """DKIM-CANON-05, DKIM-SIG-05: each c= pair, each algorithm, LF and CRLF input:
    signet verifies what signet signs; c= is written as asked."""
    extra = ("-c", canon)
    r = sign_rsa(signet, kit, msg, extra) if alg == "rsa" else sign_ed(signet, kit, msg, extra)
    c = sig_tags(first_sig(r.out))["c"]
    assert (c if "/" in c else c + "/simple") == canon
    v = signet.verify(r.out, kit["keys"])
    assert v.results() == ["pass"], v
    assert v.rc == 0


def test_DKIM_CANON_05_lf_and_crlf_same_signature(signet, kit):
    """DKIM-CANON-05: LF and CRLF copies of a message give the same bh= and b=
    (ed25519 is deterministic)."""
    a = sig_tags(first_sig(sign_ed(signet, kit, MSG_LF, ("--time", "1700000000")).out))
    b = sig_tags(first_sig(sign_ed(signet, kit, MSG_CRLF, ("--time", "1700000000")).out))
    assert (a["bh"], a["b"]) == (b["bh"], b["b"])


def test_sign_file_argument_equals_stdin(signet, kit, tmp_path):
    """sign reads FILE when given, else stdin; same output."""
    f = tmp_path / "m.eml"
    f.write_bytes(MSG_LF)
    a = signet.run("sign", "-d", "example.com", "-s", "ed", "-k", kit["ed"], "-a",
                   "ed25519-sha256", "--time", "1700000000", f)
    b = sign_ed(signet, kit, MSG_LF, ("--time", "1700000000"))
    assert a.rc == 0, a
    assert a.out == b.out


def test_DKIM_SIGN_09_dual_signing(signet, kit):
    """DKIM-SIGN-09, DKIM-SIGN-06: rsa then ed25519 on one message: the newest signature
    is on top and both pass."""
    r1 = sign_rsa(signet, kit)
    r2 = sign_ed(signet, kit, r1.out)
    fields = header_fields(r2.out)
    assert [n for n, _ in fields[:2]] == ["DKIM-Signature", "DKIM-Signature"]
    assert sig_tags(fields[0][1])["a"] == "ed25519-sha256"
    assert sig_tags(fields[1][1])["a"] == "rsa-sha256"
    v = signet.verify(r2.out, kit["keys"])
    assert v.json() == [
        {"d": "example.com", "i": "", "s": "ed", "a": "ed25519-sha256", "result": "pass", "reason": ""},
        {"d": "example.com", "i": "", "s": "rsa", "a": "rsa-sha256", "result": "pass", "reason": ""},
    ], v


def test_DKIM_SIGN_07_refuses_missing_from(signet, kit):
    """DKIM-SIGN-07: a message without From is not signed; the reason names From."""
    if TESTDATA.is_dir():
        msg = (TESTDATA / "dkimpy" / "test_nofrom.message").read_bytes()
    else:
        msg = b"To: a@example.com\nSubject: x\n\nbody\n"
    r = signet.sign(msg, kit["rsa"], selector="rsa", ok=False)
    assert r.rc != 0, r
    assert r.out == b"", "nothing is written when signing is refused"
    assert "from" in r.err.lower(), r


def test_DKIM_SIGN_07_refuses_two_from(signet, kit):
    """DKIM-SIGN-07: a message with two From fields is not signed (RFC 5322 3.6)."""
    msg = b"From: Mallory <m@evil.example>\n" + MSG_LF
    r = signet.sign(msg, kit["rsa"], selector="rsa", ok=False)
    assert r.rc != 0, r
    assert r.out == b""
    assert "from" in r.err.lower(), r


def test_DKIM_ALG_02_sign_refuses_rsa_sha1(signet, kit):
    """DKIM-ALG-02, DKIM-SIGN-04: -a rsa-sha1 is refused (RFC 8301 3.1)."""
    r = signet.run("sign", "-d", "example.com", "-s", "rsa", "-k", kit["rsa"], "-a", "rsa-sha1",
                   input=MSG_LF)
    assert r.rc != 0, r
    assert r.out == b""
    assert "sha1" in r.err.lower(), r


def test_DKIM_KEY_09_sign_refuses_algorithm_key_mismatch(signet, kit):
    """DKIM-KEY-09: -a ed25519-sha256 with an RSA key is refused, not mislabelled."""
    r = signet.run("sign", "-d", "example.com", "-s", "rsa", "-k", kit["rsa"], "-a",
                   "ed25519-sha256", input=MSG_LF)
    assert r.rc != 0, r
    assert r.out == b""
    assert r.err.strip(), r


# ---------------------------------------------------------------- key file errors

def test_sign_key_file_missing_names_file(signet, tmp_path):
    key = tmp_path / "nope.key"
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", key, input=MSG_LF)
    assert r.rc != 0, r
    assert str(key) in r.err, r
    assert r.out == b""


def test_sign_key_file_is_directory_names_file(signet, tmp_path):
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", tmp_path, input=MSG_LF)
    assert r.rc != 0, r
    assert str(tmp_path) in r.err, r
    assert r.out == b""


def test_sign_key_file_not_pem_names_file(signet, tmp_path):
    key = tmp_path / "garbage.key"
    key.write_bytes(b"this is not a key\n\x00\x01\x02\n")
    key.chmod(0o600)
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", key, input=MSG_LF)
    assert r.rc != 0, r
    assert str(key) in r.err, r
    assert r.out == b""


def test_sign_key_file_readable_by_others_names_file(signet, kit, tmp_path):
    """A private key readable by others is reported with the file name (and the fix)."""
    key = tmp_path / "open.key"
    shutil.copy(kit["rsa"], key)
    key.chmod(0o644)
    r = signet.run("sign", "-d", "example.com", "-s", "rsa", "-k", key, input=MSG_LF)
    assert str(key) in r.err, f"expected a warning or error naming {key}: {r!r}"
    assert re.search(r"permission|mode|readable|chmod|0?600", r.err, re.I), r


def test_sign_key_file_unreadable_names_file(signet, kit):
    """A key file the user cannot read: the error names the file."""
    if os.geteuid() != 0:
        d = Path(tempfile.mkdtemp())
        key = d / "k.key"
        shutil.copy(kit["rsa"], key)
        key.chmod(0)
        cmd = []
    else:
        setpriv = shutil.which("setpriv")
        if not setpriv:
            pytest.skip("running as root and setpriv(1) is absent: cannot drop privileges")
        d = Path(tempfile.mkdtemp())
        d.chmod(0o755)
        key = d / "k.key"
        shutil.copy(kit["rsa"], key)
        key.chmod(0o600)
        cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    try:
        probe = subprocess.run(cmd + [str(signet.path), "--version"], capture_output=True)
        if probe.returncode == 126 or b"ermission denied" in probe.stderr:
            pytest.skip(f"{signet.path} is not executable by an unprivileged user")
        p = subprocess.run(cmd + [str(signet.path), "sign", "-d", "example.com", "-s", "rsa",
                                  "-k", str(key)], input=MSG_LF, capture_output=True, timeout=20)
        err = p.stderr.decode(errors="replace")
        assert p.returncode > 0, (p.returncode, err)
        assert str(key) in err, err
        assert p.stdout == b""
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- verify

def test_verify_exit_0_on_pass(signet, kit):
    """Exit 0: a signature passes."""
    v = signet.verify(sign_rsa(signet, kit).out, kit["keys"])
    assert v.rc == 0, v
    assert v.results() == ["pass"]


def test_DKIM_VER_02_verify_exit_1_on_body_tamper(signet, kit):
    """DKIM-VER-02: one changed body byte: fail, exit 1, reason names the body hash."""
    v = signet.verify(tamper_body(sign_rsa(signet, kit).out), kit["keys"])
    assert v.rc == 1, v
    res = v.json()
    assert [x["result"] for x in res] == ["fail"]
    assert "body hash" in res[0]["reason"].lower(), v


def test_DKIM_VER_03_verify_exit_1_on_subject_tamper(signet, kit):
    """DKIM-VER-03: a changed signed header: fail "signature did not verify", exit 1."""
    out = sign_rsa(signet, kit).out.replace(b"Subject: Is dinner", b"Subject: Is dinnex")
    v = signet.verify(out, kit["keys"])
    assert v.rc == 1, v
    res = v.json()
    assert [x["result"] for x in res] == ["fail"]
    assert "signature" in res[0]["reason"].lower(), v


def test_verify_exit_2_no_signature(signet, kit):
    """Exit 2: no DKIM-Signature; no JSON results."""
    v = signet.verify(MSG_LF, kit["keys"])
    assert v.rc == 2, v
    assert v.json() == []


def test_DKIM_KEY_11_verify_exit_3_temperror(signet, kit, tmp_path):
    """DKIM-KEY-11: a lookup that fails temporarily (`#!temperror NAME`) → temperror, exit 3."""
    keys = tmp_path / "keys.txt"
    keys.write_text("#!temperror rsa._domainkey.example.com\n")
    v = signet.verify(sign_rsa(signet, kit).out, keys)
    assert v.rc == 3, v
    assert v.results() == ["temperror"]


def test_DKIM_KEY_11_verify_name_absent_is_permerror(signet, kit, tmp_path):
    """DKIM-KEY-11: a name not in the keys file does not exist → permerror "no key", exit 1."""
    keys = tmp_path / "keys.txt"
    keys.write_text(UNSIGNED_KEYS)
    v = signet.verify(sign_rsa(signet, kit).out, keys)
    assert v.rc == 1, v
    res = v.json()
    assert [x["result"] for x in res] == ["permerror"]
    assert "key" in res[0]["reason"].lower()


def test_DKIM_VER_15_exit_0_when_one_of_two_passes(signet, kit):
    """DKIM-VER-15, DKIM-VER-01: pass + fail in one message → exit 0, results in order."""
    r1 = sign_rsa(signet, kit)
    r2 = sign_ed(signet, kit, r1.out)
    # Break only the rsa signature (second field): change its b= value's first char.
    fields = header_fields(r2.out)
    rsa_field = fields[1][1]
    b_at = [m.start() for m in re.finditer(rb"(?<![a-z])b=", rsa_field)][-1]
    c = rsa_field[b_at + 2:b_at + 3]
    broken = rsa_field[:b_at + 2] + (b"A" if c != b"A" else b"B") + rsa_field[b_at + 3:]
    out = r2.out.replace(rsa_field, broken)
    v = signet.verify(out, kit["keys"])
    assert v.results() == ["pass", "fail"], v
    assert v.rc == 0


def test_verify_json_exact_keys_and_order(signet, kit):
    """--json: one object per signature per line with exactly d, i, s, a, result, reason."""
    v = signet.verify(sign_rsa(signet, kit).out, kit["keys"])
    lines = [ln for ln in v.text.splitlines() if ln.strip()]
    assert len(lines) == 1, v
    obj = v.json()[0]
    assert list(obj.keys()) == ["d", "i", "s", "a", "result", "reason"]
    assert obj == {"d": "example.com", "i": "", "s": "rsa", "a": "rsa-sha256", "result": "pass",
                   "reason": ""}


def test_verify_reads_file_argument(signet, kit, tmp_path):
    f = tmp_path / "signed.eml"
    f.write_bytes(sign_ed(signet, kit).out)
    v = signet.run("verify", "--keys", kit["keys"], "--json", f)
    assert v.rc == 0, v
    assert v.results() == ["pass"]


def test_verify_without_json_prints_result(signet, kit):
    """The plain output names the result and d=/s= of each signature."""
    v = signet.run("verify", "--keys", kit["keys"], input=sign_rsa(signet, kit).out)
    assert v.rc == 0, v
    text = (v.text + v.err).lower()
    assert "pass" in text and "example.com" in text


def test_verify_explain_pass_names_every_step(signet, kit):
    """--explain shows each step: tags parsed, key fetched, key checked, body hash vs bh=,
    header hash, signature check; with the body hash value."""
    out = sign_rsa(signet, kit).out
    bh = sig_tags(first_sig(out))["bh"]
    v = signet.run("verify", "--keys", kit["keys"], "--explain", input=out)
    assert v.rc == 0, v
    text = (v.text + v.err).lower()
    for step in ("tag", "key", "body hash", "header hash", "signature"):
        assert step in text, (step, v)
    assert bh.lower() in text, v


def test_DKIM_VER_02_explain_shows_both_body_hashes(signet, kit):
    """DKIM-VER-02: --explain on a changed body shows the bh= expected and the hash found."""
    out = sign_rsa(signet, kit).out
    bh = sig_tags(first_sig(out))["bh"]
    bad = tamper_body(out)
    # The relaxed body hash of the changed body, computed by dkimpy.
    body = split_message(bad)[1].replace(b"\n", b"\r\n")
    found = base64.b64encode(hashlib.sha256(Relaxed.canonicalize_body(body)).digest()).decode()
    v = signet.run("verify", "--keys", kit["keys"], "--explain", input=bad)
    assert v.rc == 1, v
    text = v.text + v.err
    assert bh in text, v
    assert found in text, f"computed body hash {found} not shown: {v!r}"


def test_DKIM_VER_07_future_timestamp_skew(signet, kit):
    """DKIM-VER-07: t= up to 300 s in the future is accepted; 301 s → permerror."""
    out = sign_rsa(signet, kit, extra=("--time", "1700000300")).out
    assert signet.verify(out, kit["keys"], ("--json", "--time", "1700000000")).results() == ["pass"]
    v = signet.verify(out, kit["keys"], ("--json", "--time", "1699999999"))
    assert v.results() == ["permerror"], v
    assert "future" in v.json()[0]["reason"].lower(), v


# ---------------------------------------------------------------- dnscheck

def dnscheck(signet, record, key=None, selector="rsa", domain="example.com"):
    args = ["dnscheck", "-d", domain, "-s", selector, "--record", record]
    if key:
        args += ["-k", key]
    r = signet.run(*args)
    return r, (r.text + r.err)


def test_dnscheck_good_record(signet, kit):
    r, _ = dnscheck(signet, kit["rsa_record"], kit["rsa"])
    assert r.rc == 0, r
    r, _ = dnscheck(signet, kit["ed_record"], kit["ed"], selector="ed")
    assert r.rc == 0, r
    r, _ = dnscheck(signet, kit["rsa_record"])
    assert r.rc == 0, r


def test_DKIM_KEY_12_dnscheck_quotes_pasted(signet, kit):
    """DKIM-KEY-12: surrounding quotes pasted into the value are named."""
    r, text = dnscheck(signet, '"' + kit["rsa_record"] + '"', kit["rsa"])
    assert r.rc not in (0, EX_USAGE), r
    assert "quot" in text.lower(), r


def test_DKIM_KEY_01_dnscheck_split_strings_pasted(signet, kit):
    """DKIM-KEY-01: a zone-style split ("a" "b") pasted as the value is named."""
    rec = kit["rsa_record"]
    r, text = dnscheck(signet, f'"{rec[:100]}" "{rec[100:]}"', kit["rsa"])
    assert r.rc not in (0, EX_USAGE), r
    assert re.search(r"quot|split|string", text, re.I), r


def test_DKIM_KEY_05_dnscheck_revoked(signet):
    """DKIM-KEY-05: empty p= is a revoked key."""
    r, text = dnscheck(signet, "v=DKIM1; k=rsa; p=")
    assert r.rc not in (0, EX_USAGE), r
    assert "revoked" in text.lower(), r


def test_DKIM_KEY_08_dnscheck_testing_flag(signet, kit):
    """DKIM-KEY-08: t=y is named (verifiers treat the domain as testing)."""
    rec = kit["rsa_record"].replace("k=rsa;", "k=rsa; t=y;")
    r, text = dnscheck(signet, rec, kit["rsa"])
    assert r.rc != EX_USAGE, r
    assert re.search(r"t=y|test", text, re.I), r


def test_dnscheck_key_mismatch(signet, kit, tmp_path):
    """-k with a key whose public half is not the record: the mismatch is named."""
    other = tmp_path / "other.key"
    signet.keygen(other)
    r, text = dnscheck(signet, kit["rsa_record"], other)
    assert r.rc not in (0, EX_USAGE), r
    assert "match" in text.lower(), r


def test_DKIM_KEY_09_dnscheck_wrong_key_type(signet, kit):
    """DKIM-KEY-09: an ed25519 record checked against an RSA key does not match."""
    r, text = dnscheck(signet, kit["ed_record"], kit["rsa"])
    assert r.rc not in (0, EX_USAGE), r


# ---------------------------------------------------------------- usage errors

@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["sign", "--bogus-option"],
    ["sign", "-s", "sel", "-k", "/nonexistent.key"],            # no -d
    ["sign", "-d", "example.com", "-k", "/nonexistent.key"],    # no -s
    ["sign", "-d", "example.com", "-s", "sel"],                 # no -k
    ["sign", "-d", "example.com", "-s", "sel", "-k", "/x", "-c", "loose/relaxed"],
    ["sign", "-d", "example.com", "-s", "sel", "-k", "/x", "--time", "yesterday"],
    ["sign", "-d", "example.com", "-s", "sel", "-k", "/x", "-a", "foo-bar"],
    ["keygen", "-d", "example.com", "-s", "sel"],               # no -k
    ["keygen", "-d", "example.com", "-s", "sel", "-k", "/tmp/x", "-t", "dsa"],
    ["keygen", "-d", "example.com", "-s", "sel", "-k", "/tmp/x", "--format", "json"],
    ["keygen", "-d", "example.com", "-s", "sel", "-k", "/tmp/x", "-b", "lots"],
    ["verify", "--time", "-5"],
    ["verify", "--nope"],
    ["dnscheck", "-s", "sel"],                                  # no -d
], ids=lambda a: " ".join(a) or "no-args")
def test_usage_errors_exit_64(signet, args):
    """Usage errors exit 64 (EX_USAGE) with a message on stderr and nothing on stdout."""
    r = signet.run(*args)
    assert r.rc == EX_USAGE, r
    assert r.err.strip(), r
    assert r.out == b"", r
