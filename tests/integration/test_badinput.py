# test_badinput.py: hostile and broken input through `signet verify` (and a
# few through `signet sign`). Each case must give a clear result or a clear
# error: exit code 0-3 with results, or 1 with a message on stderr; never a
# crash or a sanitizer report (checked by conftest's Signet.run on every
# call), and each run finishes within the 20 s timeout.
import random
import re

import pytest

from conftest import keys_line, split_message

BASE = (
    b"From: Joe SixPack <joe@example.com>\r\n"
    b"To: Suzie Q <suzie@example.net>\r\n"
    b"Subject: Is dinner ready?\r\n"
    b"Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    b"Message-ID: <1@example.com>\r\n"
    b"\r\n"
    b"Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n"
)


@pytest.fixture(scope="module")
def bad(signet, tmp_path_factory):
    """Keys (rsa s=rsa, ed25519 s=ed at example.com) and BASE signed by both (ed on top)."""
    d = tmp_path_factory.mktemp("bad")
    rsa = signet.keygen(d / "rsa.key", selector="rsa", type_="rsa").text.strip()
    ed = signet.keygen(d / "ed.key", selector="ed", type_="ed25519").text.strip()
    keys = d / "keys.txt"
    keys.write_text(keys_line("rsa", "example.com", rsa) + keys_line("ed", "example.com", ed))
    one = signet.sign(BASE, d / "rsa.key", selector="rsa").out
    two = signet.sign(one, d / "ed.key", selector="ed", extra=("-a", "ed25519-sha256")).out
    v = signet.verify(two, keys)
    assert v.results() == ["pass", "pass"], v
    return {"dir": d, "keys": keys, "signed": two, "rsa_record": rsa, "ed_record": ed,
            "ed_only": signet.sign(BASE, d / "ed.key", selector="ed",
                                   extra=("-a", "ed25519-sha256")).out}


def check(signet, msg, keys, allowed=(0, 1, 2, 3)):
    """verify --json; the exit code is in `allowed`; an exit 1 without results carries
    an error message on stderr. Returns the Result."""
    r = signet.verify(msg, keys)
    assert r.rc in allowed, r
    if r.rc == 1 and not r.text.strip():
        assert r.err.strip(), f"exit 1 with neither results nor an error message: {r!r}"
    # --json output, when any, is well-formed JSON lines with known result words.
    for x in r.json():
        assert x["result"] in ("pass", "fail", "neutral", "policy", "permerror", "temperror"), r
    return r


def with_header(signed, field):
    """signed with an extra header field placed right below the DKIM-Signatures."""
    head, body = split_message(signed)
    i = head.index(b"\r\nFrom:") + 2
    return head[:i] + field + head[i:] + body


def first_sig_span(msg):
    start = msg.index(b"DKIM-Signature:")
    end = msg.index(b"\r\nDKIM-Signature:", start + 1) + 2
    return start, end


# ------------------------------------------------------------ truncation

def test_DKIM_CANON_06_truncated_inside_header(signet, bad):
    """Cut in the middle of the From field (no body, no end of headers): no pass."""
    s = bad["signed"]
    cut = s.index(b"From: Joe Six") + 8
    r = check(signet, s[:cut], bad["keys"], allowed=(1,))
    assert "pass" not in r.results(), r


def test_DKIM_SIG_04_truncated_inside_signature(signet, bad):
    """Cut inside the b= value of the first signature: that signature does not pass."""
    s = bad["signed"]
    start, end = first_sig_span(s)
    cut = s.index(b"b=", s.index(b"bh=", start) + 3) + 12
    assert cut < end
    r = check(signet, s[:cut], bad["keys"], allowed=(1,))
    assert "pass" not in r.results(), r


def test_truncated_at_every_13th_byte(signet, bad):
    """Every prefix (step 13) of a signed message: no crash, never a pass. (The last
    two bytes are excluded: dropping the final CRLF does not change the hash,
    DKIM-CANON-07.)"""
    s = bad["signed"]
    for cut in range(0, len(s) - 2, 13):
        r = check(signet, s[:cut], bad["keys"], allowed=(1, 2))
        assert "pass" not in r.results(), (cut, r)


def test_empty_input(signet, bad):
    """Zero bytes: no signature (exit 2) or a clear error (exit 1)."""
    r = check(signet, b"", bad["keys"], allowed=(1, 2))
    assert r.json() == []


# ------------------------------------------------------------ garbage

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_garbage_bytes(signet, bad, seed):
    """8 KiB of random bytes: no signature or a clear error."""
    data = random.Random(seed).randbytes(8192)
    check(signet, data, bad["keys"], allowed=(1, 2))


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_DKIM_TAG_05_garbage_after_dkim_signature_name(signet, bad, seed):
    """DKIM-TAG-05: a DKIM-Signature whose value is random bytes: permerror, the valid
    signatures below it still pass (DKIM-ALG-04: one bad signature does not spoil others)."""
    rnd = random.Random(seed)
    junk = bytes(c for c in rnd.randbytes(600) if c not in b"\r\n")
    msg = b"DKIM-Signature: " + junk + b"\r\n" + bad["signed"]
    r = check(signet, msg, bad["keys"], allowed=(0,))
    assert r.results() == ["permerror", "pass", "pass"], r


def test_DKIM_TAG_05_dkim_signature_garbage_tags(signet, bad):
    """DKIM-TAG-05, DKIM-TAG-03, DKIM-ALG-04: `;;;==garbage`, duplicate tags and tags with
    bad names: that signature is permerror with a reason; the others pass."""
    sigs = [b"DKIM-Signature: ;;;==garbage;\x7f=\x01; =; 1x=2; v=1\r\n",
            b"DKIM-Signature: v=1; v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=; b=\r\n",
            b"DKIM-Signature: v=1; a=rsa-sha256; d example.com; s=rsa; h=from; bh=x; b=y\r\n"]
    r = check(signet, b"".join(sigs) + bad["signed"], bad["keys"], allowed=(0,))
    res = r.json()
    assert [x["result"] for x in res] == ["permerror"] * 3 + ["pass", "pass"], r
    assert all(x["reason"] for x in res[:3]), r


# ------------------------------------------------------------ size limits

def test_one_megabyte_header_field(signet, bad):
    """A 1 MiB unsigned header field (over the 64 KiB field limit): a clear error or a
    result; finishes quickly."""
    check(signet, with_header(bad["signed"], b"X-Big: " + b"a" * (1 << 20) + b"\r\n"),
          bad["keys"], allowed=(0, 1))


def test_one_megabyte_folded_header_field(signet, bad):
    """A 1 MiB header field folded every 70 octets."""
    line = b"a" * 68 + b"\r\n "
    field = b"X-Big: " + line * ((1 << 20) // len(line)) + b"end\r\n"
    check(signet, with_header(bad["signed"], field), bad["keys"], allowed=(0, 1))


def test_ten_thousand_header_fields(signet, bad):
    """10 000 header fields (over the 1000-field limit): a clear error or a result."""
    fields = b"".join(b"X-N: %d\r\n" % i for i in range(10000))
    check(signet, with_header(bad["signed"], fields), bad["keys"], allowed=(0, 1))


def test_header_block_of_ten_megabytes(signet, bad):
    """10 MiB of header bytes in 64 KiB-1 fields: over the 1 MiB header limit."""
    field = b"X-F: " + b"b" * 65000 + b"\r\n"
    check(signet, with_header(bad["signed"], field * 160), bad["keys"], allowed=(0, 1))


def test_DKIM_CANON_06_large_body_streams(signet, bad):
    """A 16 MiB body (lines and one 2 MiB line without a line end) signs and verifies
    within the timeout: memory does not grow with the message."""
    body = (b"0123456789 abcdefghij  klmnopqrstuvwxyz\t \r\n" * 330000) + b"x" * (2 << 20)
    msg = BASE.split(b"\r\n\r\n")[0] + b"\r\n\r\n" + body
    s = signet.sign(msg, bad["dir"] / "ed.key", selector="ed", extra=("-a", "ed25519-sha256"))
    r = check(signet, s.out, bad["keys"], allowed=(0,))
    assert r.results() == ["pass"]


# ------------------------------------------------------------ NUL bytes

def test_DKIM_CANON_13_nul_in_body(signet, bad):
    """A NUL in the body is data: both signatures fail on the body hash."""
    s = bad["signed"].replace(b"We lost", b"We\x00lost")
    r = check(signet, s, bad["keys"], allowed=(1,))
    assert r.results() == ["fail", "fail"], r


def test_DKIM_CANON_13_nul_in_signed_header(signet, bad):
    """A NUL inside the signed Subject value: both signatures fail (values are spans,
    not C strings)."""
    s = bad["signed"].replace(b"Subject: Is dinner", b"Subject: Is\x00dinner")
    r = check(signet, s, bad["keys"], allowed=(1,))
    assert r.results() == ["fail", "fail"], r


def test_nul_in_unsigned_header(signet, bad):
    """A NUL inside an unsigned header field changes nothing: pass, pass."""
    r = check(signet, with_header(bad["signed"], b"X-Junk: a\x00b\r\n"), bad["keys"], allowed=(0,))
    assert r.results() == ["pass", "pass"], r


@pytest.mark.parametrize("where", [b"b=", b"bh=", b"d=", b"h="])
def test_DKIM_SIG_04_nul_in_signature_tag(signet, bad, where):
    """A NUL inside a tag value of the first signature: it does not pass; the second does."""
    s = bad["signed"]
    start, end = first_sig_span(s)
    field = s[start:end]
    i = re.search(rb"(?<![a-z])" + re.escape(where), field).end() + 3
    broken = field[:i] + b"\x00" + field[i:]
    r = check(signet, s[:start] + broken + s[end:], bad["keys"], allowed=(0,))
    res = r.results()
    assert len(res) == 2 and res[0] in ("permerror", "fail") and res[1] == "pass", r


# ------------------------------------------------------------ many signatures

UNCHECKED = re.compile(r"not (checked|evaluated|verified)|unchecked", re.I)


@pytest.fixture(scope="module")
def twenty(signet, bad):
    msg = BASE
    for _ in range(20):
        msg = signet.sign(msg, bad["dir"] / "ed.key", selector="ed",
                          extra=("-a", "ed25519-sha256")).out
    assert msg.count(b"DKIM-Signature:") == 20
    return msg


def test_DKIM_VER_04_twenty_signatures(signet, bad, twenty):
    """DKIM-VER-04: 20 signatures: 16 results (all pass here) and a line saying the other
    4 were not checked."""
    r = signet.verify(twenty, bad["keys"], extra=())
    assert r.rc == 0, r
    text = r.text + r.err
    assert len(re.findall(r"\bpass\b", text)) == 16, r
    assert any(re.search(r"\b4\b", ln) and UNCHECKED.search(ln) for ln in text.splitlines()), r


def test_DKIM_VER_04_twenty_signatures_json(signet, bad, twenty):
    """DKIM-VER-04 with --json: 16 results, and the 4 unchecked signatures are not silently
    dropped (JSON lines saying "not checked", or a note on stderr)."""
    r = check(signet, twenty, bad["keys"], allowed=(0,))
    res = r.json()
    assert [x["result"] for x in res[:16]] == ["pass"] * 16, r
    if len(res) == 16:
        assert re.search(r"\b4\b", r.err) and UNCHECKED.search(r.err), \
            f"the 4 signatures over the limit must be noted: {r!r}"
    else:
        assert len(res) == 20, r
        assert all(x["result"] != "pass" and UNCHECKED.search(x["reason"]) for x in res[16:]), r


def test_seventy_dkim_signature_fields(signet, bad):
    """70 broken DKIM-Signature fields (over the 64 looked at): no crash, a clear
    outcome, no pass."""
    msg = b"DKIM-Signature: v=1; junk\r\n" * 70 + BASE
    r = check(signet, msg, bad["keys"], allowed=(1,))
    assert "pass" not in r.results()


def test_DKIM_SIG_07_h_with_two_hundred_names(signet, bad):
    """h= with 200 names (over the 128-name bound): permerror, no crash."""
    h = ":".join(["from"] + [f"x-h{i}" for i in range(199)])
    sig = (f"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; h={h}; "
           f"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n").encode()
    r = check(signet, sig + BASE, bad["keys"], allowed=(1,))
    assert r.results() == ["permerror"], r


def test_DKIM_TAG_01_hundred_tags(signet, bad):
    """A tag-list with 100 tags (over the 64-tag bound): permerror, no crash."""
    extra = "; ".join(f"z{i}=1" for i in range(100))
    sig = (f"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; {extra}; "
           f"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n").encode()
    r = check(signet, sig + BASE, bad["keys"], allowed=(1,))
    assert r.results() == ["permerror"], r


@pytest.mark.parametrize("tag,allowed", [
    ("l=" + "9" * 80, ("permerror",)),   # over 76 digits (RFC 6376 3.5)
    ("l=-1", ("permerror",)),
    ("t=12abc", ("permerror",)),
    ("t=" + "9" * 30, ("permerror",)),   # overflows 64 bits; in any case far in the future
    ("x=" + "9" * 30, ("permerror", "fail")),  # a huge x= is not expired: fail on the edit
    ("x=" + "1" * 5, ("permerror",)),    # expired long ago, and x < t
], ids=["l-80-digits", "l-negative", "t-not-a-number", "t-30-digits", "x-30-digits", "x-before-t"])
def test_DKIM_SIG_11_numeric_overflow(signet, bad, tag, allowed):
    """DKIM-SIG-09, DKIM-SIG-11: oversized or malformed numbers give permerror (or the
    signature fails), never a wrapped value that passes."""
    s = bad["ed_only"]
    start, end = s.index(b"DKIM-Signature:"), s.index(b"\r\nFrom:")
    field = s[start:end]
    name = tag.split("=")[0].encode()
    m = re.search(rb"(?<![a-z])" + name + rb"=[0-9]+", field)
    if m:  # replace the existing value (a second t= would be a duplicate-tag permerror)
        field = field[:m.start()] + tag.encode() + field[m.end():]
    else:  # insert after "v=1;"
        i = field.index(b";") + 1
        field = field[:i] + b" " + tag.encode() + b";" + field[i:]
    r = check(signet, s[:start] + field + s[end:], bad["keys"], allowed=(1,))
    assert len(r.results()) == 1 and r.results()[0] in allowed, r


# ------------------------------------------------------------ odd header blocks

def test_DKIM_HDR_07_line_without_colon(signet, bad):
    """DKIM-HDR-07: a header line without a colon does not crash verification."""
    check(signet, with_header(bad["signed"], b"This is not a header field\r\n"), bad["keys"])


def test_headers_only_no_separator(signet, bad):
    """A message that ends inside its header block (no empty line): no pass."""
    head, _ = split_message(bad["signed"])
    r = check(signet, head.rstrip(b"\r\n"), bad["keys"], allowed=(1,))
    assert "pass" not in r.results()


# ------------------------------------------------------------ bad key records

def _ed_p(record):
    return record.split("p=")[1]


BAD_RECORDS = {
    "garbage": lambda b: "\x01\x02\x7f not a record ;;; == ;",
    "quotes": lambda b: '"' + b["ed_record"] + '"',
    "huge-10KiB": lambda b: "v=DKIM1; k=ed25519; n=" + "x" * 10240 + "; p=" + _ed_p(b["ed_record"]),
    "wrong-k-rsa": lambda b: "v=DKIM1; k=rsa; p=" + _ed_p(b["ed_record"]),
    "unknown-k": lambda b: "v=DKIM1; k=ed448; p=" + _ed_p(b["ed_record"]),
    "revoked": lambda b: "v=DKIM1; k=ed25519; p=",
    "bad-base64": lambda b: "v=DKIM1; k=ed25519; p=abc$def=",
    "ed25519-33-bytes": lambda b: "v=DKIM1; k=ed25519; p=" + "A" * 44,
    "v-not-first": lambda b: "k=ed25519; v=DKIM1; p=" + _ed_p(b["ed_record"]),
    "empty": lambda b: "",
    "rsa-key-for-ed25519": lambda b: b["rsa_record"],
}


@pytest.mark.parametrize("kind", list(BAD_RECORDS))
def test_DKIM_VER_13_bad_key_records(signet, bad, kind, tmp_path):
    """DKIM-VER-13, DKIM-KEY-03/04/05/09/12/16: a broken key record gives permerror with
    a reason, exit 1."""
    rec = BAD_RECORDS[kind](bad)
    keys = tmp_path / "keys.txt"
    keys.write_bytes(b"ed._domainkey.example.com " + rec.encode("latin-1") + b"\n")
    r = check(signet, bad["ed_only"], keys, allowed=(1,))
    res = r.json()
    assert [x["result"] for x in res] == ["permerror"], r
    assert res[0]["reason"], r


def test_keys_file_missing_names_file(signet, bad, tmp_path):
    """A keys file that does not exist: an error naming it, not a crash."""
    keys = tmp_path / "absent.txt"
    r = signet.verify(bad["signed"], keys)
    assert r.rc not in (0, 2, 3), r
    assert str(keys) in r.err, r


def test_keys_file_binary_garbage(signet, bad, tmp_path):
    """A keys file of random bytes: no crash; the signatures do not pass."""
    keys = tmp_path / "keys.txt"
    keys.write_bytes(random.Random(7).randbytes(4096))
    r = signet.verify(bad["signed"], keys)
    assert r.rc in (1, 3), r
    assert "pass" not in r.results()
