# test_long_tags.py: tag values longer than the old fixed result arrays
# (issue #12: i= was cut at 255 bytes and Authentication-Results got a
# header.i= without its "@domain"). A received signature's i= and d= reach
# `signet verify --json` and the AR of `signet verify --ar` whole.
# `signet sign` refuses an i= over 255 bytes, so the long i= is put into a
# signature made by signet and the signature made again with openssl over the
# header hash input that `verify --explain` prints.
import base64
import json
import re
import shutil
import subprocess

import pytest

from conftest import keys_line

# A d= of 194 bytes (three 60-octet labels) and an i= of 312 bytes inside it.
LONG_D = ".".join(["l" * 60] * 3) + ".example.com"
LONG_I = "u" * (312 - 1 - len(LONG_D)) + "@" + LONG_D
SUB_I = "v" * 300 + "@mail." + LONG_D  # i= in a subdomain of d=

MSG = b"From: Joe <joe@example.com>\nTo: s@example.net\nSubject: long tags\n\nHi.\n"


@pytest.fixture(scope="module")
def kit(signet, tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("long")
    rec = signet.run("keygen", "-d", LONG_D, "-s", "r", "-t", "rsa", "-k", d / "r.key",
                     "--format", "txt")
    assert rec.rc == 0, rec
    keys = d / "keys.txt"
    keys.write_text(keys_line("r", LONG_D, rec.text.strip()))
    return {"dir": d, "key": d / "r.key", "keys": keys}


def resign(signet, kit, auid):
    """A message whose DKIM-Signature has i=auid and a valid b=."""
    s = signet.run("sign", "-d", LONG_D, "-s", "r", "-k", kit["key"], "-i", "x@" + LONG_D,
                   input=MSG)
    assert s.rc == 0, s
    msg = s.out.replace(b"i=x@" + LONG_D.encode(), b"i=" + auid.encode(), 1)
    # b= on one line with a placeholder: only its value changes below.
    msg, n = re.subn(rb"b=[A-Za-z0-9+/=\r\n\t ]+?(\r?\n)(?=\S)", rb"b=AAAA\1", msg, count=1)
    assert n == 1, msg[:800]
    v = signet.run("verify", "--keys", kit["keys"], "--json", "--explain", input=msg)
    hin = json.loads(v.text.splitlines()[0])["explain"]["header_hash_input"]
    p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(kit["key"])],
                       input=hin.encode(), stdout=subprocess.PIPE, check=True)
    return msg.replace(b"b=AAAA", b"b=" + base64.b64encode(p.stdout), 1)


def ar_props(text):
    """The header.x values of the AR printed by --ar (folds undone)."""
    ar = text[text.index("Authentication-Results:"):]
    flat = ar.replace("\n\t", " ").replace("\n", "")
    return dict(re.findall(r" header\.(\w)=(\"(?:[^\"\\]|\\.)*\"|[^ ;]+)", flat))


@pytest.mark.parametrize("auid", [LONG_I, SUB_I], ids=["i_in_d", "i_in_subdomain"])
def test_AR_DKIM_04_long_i_whole_in_json_and_ar(signet, kit, auid):
    """AR-DKIM-04, DKIM-SIG-08: a 312-byte i= and a 194-byte d= come out whole: in
    --json ("i" as written) and in the AR (header.i ends with "@" + d= or a
    subdomain of it; it once lost the "@domain" when cut at 255 bytes)."""
    assert len(auid) > 300
    msg = resign(signet, kit, auid)
    v = signet.run("verify", "--keys", kit["keys"], "--json", input=msg)
    assert v.rc == 0, v
    obj = json.loads(v.text.splitlines()[0])
    assert obj["result"] == "pass", obj
    assert obj["i"] == auid and obj["d"] == LONG_D, obj
    a = signet.run("verify", "--keys", kit["keys"], "--ar", "mx.example.org", input=msg)
    assert a.rc == 0, a
    props = ar_props(a.text)
    assert props["i"] == auid, props
    assert props["d"] == LONG_D
    assert re.search(r"@(.+\.)?" + re.escape(LONG_D) + "$", props["i"])
    assert "dkim=pass" in a.text


def test_AR_DKIM_04_long_i_whole_when_signature_fails(signet, kit):
    """A signature that fails still reports its whole i= (the AR is written for
    every result)."""
    msg = resign(signet, kit, LONG_I).replace(b"Hi.", b"Ho.")
    a = signet.run("verify", "--keys", kit["keys"], "--json", "--ar", "mx.example.org",
                   input=msg)
    obj = json.loads(a.text.splitlines()[0])
    assert obj["result"] == "fail" and obj["i"] == LONG_I, obj
    assert ar_props(a.text)["i"] == LONG_I
