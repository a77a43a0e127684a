# test_psl.py: DKIM-VER-17 end to end. A message signed with d=co.uk
# (`signet sign`, a key made by `signet keygen`) verifies as pass with the
# note "d= is a public suffix": in `signet verify` (text and --ar) with the
# key from --keys, and in the Authentication-Results signetd adds, the key
# served by a real unbound and the message given to signetd over the
# milter protocol (test_milter_wire.py's client). A registrable d= below it
# gets no note. A missing or unusable list (libpsl finds no rule in it) is a
# warning and the check is off, in the CLI and in signetd. The list is Debian's (package
# publicsuffix, scripts/deps.sh) unless a test writes its own.
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_milter_wire import Milter, header_mods  # noqa: E402

PSL = "/usr/share/publicsuffix/public_suffix_list.dat"
NOTE = "d= is a public suffix"
AUTHSERV = "mx.psl.test"
OFF_WARNING = "the public suffix check of d= (DKIM-VER-17) is off"


def need_debian_list():
    if not os.access(PSL, os.R_OK):
        pytest.skip(f"{PSL} absent: install the publicsuffix package (scripts/deps.sh)")


def message(tag):
    return (f"From: Joe <joe@co.uk>\nTo: Sue <sue@example.net>\nSubject: suffix {tag}\n"
            f"Date: Thu, 01 Jan 2026 10:00:00 +0000\nMessage-ID: <{tag}.{os.getpid()}@co.uk>\n"
            "\nHello.\n").encode()


@pytest.fixture(scope="module")
def kit(signet, tmp_path_factory):
    """One RSA key published at sel._domainkey.co.uk and at
    sel._domainkey.example.co.uk (KEYSFILE and the records for unbound)."""
    d = tmp_path_factory.mktemp("psl")
    key = d / "rsa.key"
    rec = signet.keygen(key, domain="co.uk", selector="sel").text.strip()
    records = {"sel._domainkey.co.uk": rec, "sel._domainkey.example.co.uk": rec}
    keys = d / "keys.txt"
    keys.write_text("".join(f"{n} {v}\n" for n, v in records.items()))
    return {"dir": d, "key": key, "keys": keys, "records": records}


def sign(signet, kit, msg, domain):
    return signet.sign(msg, kit["key"], domain=domain, selector="sel").out


def unfold_text(s):
    return re.sub(r"\r?\n[ \t]", " ", s).replace("\t", " ")


def test_DKIM_VER_17_signet_verify_notes_public_suffix(signet, kit):
    """DKIM-VER-17: d=co.uk → pass with the note, in the text output and in
    the comment of the --ar field; d=example.co.uk → pass, no note (Debian's
    list, the default)."""
    need_debian_list()
    signed = sign(signet, kit, message("cli"), "co.uk")
    v = signet.run("verify", "--keys", kit["keys"], "--ar", AUTHSERV, input=signed)
    assert v.rc == 0, v
    lines = v.text.splitlines()
    assert lines[0] == f"signature 1: d=co.uk s=sel a=rsa-sha256: pass [{NOTE}]", v
    ar = unfold_text("\n".join(lines[1:]))
    assert f"; dkim=pass (2048-bit key; {NOTE}) header.d=co.uk " in ar, ar
    assert v.err == "", v
    # --json keeps its five keys (d, s, a, result, reason)
    j = signet.verify(signed, kit["keys"]).json()
    assert j == [{"d": "co.uk", "i": "", "s": "sel", "a": "rsa-sha256", "result": "pass", "reason": ""}]

    below = sign(signet, kit, message("cli-below"), "example.co.uk")
    v = signet.run("verify", "--keys", kit["keys"], "--ar", AUTHSERV, input=below)
    assert v.rc == 0, v
    assert v.text.splitlines()[0] == "signature 1: d=example.co.uk s=sel a=rsa-sha256: pass", v
    assert NOTE not in v.text, v


def test_DKIM_VER_17_cli_list_missing_malformed_or_off(signet, kit, tmp_path):
    """DKIM-VER-17: --psl names the list; a missing or malformed one is a
    warning on stderr and the message still verifies (without the note);
    --psl "" turns the check off silently; a list of our own is used."""
    signed = sign(signet, kit, message("cli-lists"), "co.uk")
    first = "signature 1: d=co.uk s=sel a=rsa-sha256: pass"

    missing = tmp_path / "nope.dat"
    v = signet.run("verify", "--keys", kit["keys"], "--psl", missing, input=signed)
    assert v.rc == 0 and v.text.splitlines() == [first], v
    assert v.err == (f"signet: warning: public suffix list {missing}: No such file or "
                     f"directory; {OFF_WARNING}\n"), v

    # libpsl skips lines it cannot use; a file it finds no rule in is refused
    bad = tmp_path / "bad.dat"
    bad.write_text("// comments only\n\n")
    v = signet.run("verify", "--keys", kit["keys"], "--psl", bad, input=signed)
    assert v.rc == 0 and v.text.splitlines() == [first], v
    assert v.err == (f"signet: warning: public suffix list {bad}: no rules: this is not a "
                     f"public suffix list; {OFF_WARNING}\n"), v
    bad.write_text("")
    v = signet.run("verify", "--keys", kit["keys"], "--psl", bad, input=signed)
    assert v.rc == 0 and v.text.splitlines() == [first], v
    assert v.err == (f"signet: warning: public suffix list {bad}: libpsl could not load it "
                     f"(empty, or out of memory); {OFF_WARNING}\n"), v
    v = signet.run("verify", "--keys", kit["keys"], "--psl", tmp_path, input=signed)
    assert v.rc == 0 and v.text.splitlines() == [first], v
    assert v.err == (f"signet: warning: public suffix list {tmp_path}: it is a directory, not a regular file; "
                     f"{OFF_WARNING}\n"), v

    # the DAFSA form of Debian's list works as well as the text
    dafsa = "/usr/share/publicsuffix/public_suffix_list.dafsa"
    if os.access(dafsa, os.R_OK):
        v = signet.run("verify", "--keys", kit["keys"], "--psl", dafsa, input=signed)
        assert v.rc == 0 and v.text.splitlines() == [f"{first} [{NOTE}]"] and v.err == "", v

    v = signet.run("verify", "--keys", kit["keys"], "--psl", "", input=signed)
    assert v.rc == 0 and v.text.splitlines() == [first] and v.err == "", v

    own = tmp_path / "own.dat"
    own.write_text("// ===BEGIN ICANN DOMAINS===\nuk\nco.uk\n// ===END ICANN DOMAINS===\n")
    v = signet.run("verify", "--keys", kit["keys"], "--psl", own, input=signed)
    assert v.rc == 0 and v.text.splitlines() == [f"{first} [{NOTE}]"] and v.err == "", v
    # a list where co.uk is only in the private section: no note
    own.write_text("uk\n// ===BEGIN PRIVATE DOMAINS===\nco.uk\n// ===END PRIVATE DOMAINS===\n")
    v = signet.run("verify", "--keys", kit["keys"], "--psl", own, input=signed)
    assert v.rc == 0 and v.text.splitlines() == [first] and v.err == "", v


# ------------------------------------------------------------------ signetd

def wire_message(msg):
    """(headers [(name, value)], body) as an MTA hands them to a milter:
    values without the space after the colon, folds as LF + WSP; body CRLF."""
    head, body = msg.split(b"\n\n", 1)
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            fields[-1][1] += b"\n" + line
        else:
            name, value = line.split(b":", 1)
            fields.append([name, value[1:] if value.startswith(b" ") else value])
    return ([(n.decode(), v.decode()) for n, v in fields], body.replace(b"\n", b"\r\n"))


@pytest.fixture(scope="module")
def daemon_world(kit, signet):
    signetd = harness.signetd_path()
    if harness.missing_tools(signetd, harness.UNBOUND):
        pytest.skip(f"missing: {harness.missing_tools(signetd, harness.UNBOUND)} "
                    "(build signetd; install unbound with scripts/deps.sh)")
    ub = harness.Unbound({"co.uk": {n: [v] for n, v in kit["records"].items()}})
    ub.start()
    yield {"ub": ub, "signetd": signetd}
    ub.cleanup()


def run_signetd(world, kit, extra=""):
    sd = harness.Signetd(world["signetd"], [world["ub"].forwarder()],
                         [("example.com", "sel", kit["key"])], authserv_id=AUTHSERV,
                         extra=extra)
    sd.start()
    return sd


def ar_of(sd, msg):
    """The one Authentication-Results signetd inserts for msg from an
    outside client, unfolded."""
    headers, body = wire_message(msg)
    m = Milter(socket.create_connection(("127.0.0.1", sd.port), timeout=10))
    try:
        m.negotiate()
        mods, verdict, _ = m.message(headers, body, client=("mx.outside.example", "192.0.2.7"))
    finally:
        m.s.close()
    assert verdict == b"c", verdict
    ins = [x for x in header_mods(mods) if x[0] == b"i"]
    assert [(i, n) for _, i, n, _ in ins] == [(0, "Authentication-Results")], ins
    return unfold_text(ins[0][3]).strip()


def stop_clean(sd):
    rc = sd.stop()
    log = sd.log_text()
    assert not sd.sanitizer_reports(), log[-4000:]
    assert rc == 0, f"signetd exited {rc}:\n{log[-2000:]}"
    return log


def test_DKIM_VER_17_signetd_ar_notes_public_suffix(daemon_world, kit, signet):
    """DKIM-VER-17: signetd (the default list, Debian's) verifies a message
    signed by example.co.uk and then by co.uk: both pass, and only the
    co.uk result carries "(2048-bit key; d= is a public suffix)" in the one
    Authentication-Results field."""
    need_debian_list()
    msg = sign(signet, kit, message("daemon"), "example.co.uk")
    msg = sign(signet, kit, msg, "co.uk")
    sd = run_signetd(daemon_world, kit)
    try:
        ar = ar_of(sd, msg)
        assert not [ln for ln in sd.log_text().splitlines() if "public_suffix_list" in ln], \
            sd.log_text()
    finally:
        log = stop_clean(sd)
    # resinfos start at "; dkim=" (our comment holds a ';' of its own)
    parts = re.split(r";\s*(?=dkim=)", ar)
    assert parts[0] == AUTHSERV, ar
    dkim = parts[1:]
    assert len(dkim) == 2, ar
    # header order: the co.uk signature (added last) is on top
    assert dkim[0].startswith(f"dkim=pass (2048-bit key; {NOTE}) header.d=co.uk "), ar
    assert dkim[1].startswith("dkim=pass (2048-bit key) header.d=example.co.uk "), ar
    assert "dkim=pass d=co.uk" in log, log[-2000:]


def test_DKIM_VER_17_signetd_missing_list_is_a_warning(daemon_world, kit, signet, tmp_path):
    """DKIM-VER-17: verify.public_suffix_list naming a missing file: signetd
    starts, logs the warning, and verifies without the note; "" turns the
    check off without a warning."""
    msg = sign(signet, kit, message("daemon-missing"), "co.uk")
    missing = tmp_path / "nope.dat"
    sd = run_signetd(daemon_world, kit, f"verify {{ public_suffix_list = \"{missing}\"; }}\n")
    try:
        ar = ar_of(sd, msg)
    finally:
        log = stop_clean(sd)
    assert (f"verify.public_suffix_list: cannot read {missing}: No such file or directory; "
            f"{OFF_WARNING}") in log, log[-2000:]
    assert f"{AUTHSERV}; dkim=pass (2048-bit key) header.d=co.uk " in ar, ar

    sd = run_signetd(daemon_world, kit, 'verify { public_suffix_list = ""; }\n')
    try:
        ar = ar_of(sd, msg)
    finally:
        log = stop_clean(sd)
    assert "public_suffix_list" not in log, log[-2000:]
    assert NOTE not in ar, ar
