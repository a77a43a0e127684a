# test_generator_conformance.py: bench/miltload must talk to a milter exactly
# as a real Postfix (Debian's 3.7, private instance from harness.py) does.
# Both talk to the same recording milter (milter_recorder.py), which answers
# like a real filter and records every packet; the test sends mail through
# Postfix (SMTP with and without SASL AUTH, several recipients, a body over
# 64 KiB, an empty body, folded headers and leading-space variants, and
# sendmail(1) for the non-SMTP path), runs miltload with the same input, and
# compares the recordings packet by packet: the order of commands, the macro
# names per stage (values too where they must agree; the queue id, j,
# {daemon_name}, v, ports and mailer names differ by nature), header packets
# byte for byte, body chunks byte for byte. Then the negotiated variants
# (NO*/NR_ flags, HDR_LEADSPC, SKIP, setsymlist lists), the EOM replies, the
# timeouts, and miltload's non-SMTP and Sendmail (QUIT_NC) profiles, the
# latter two also against a real signetd that must sign and verify.
# No timing assertions.
import os
import re
import smtplib
import struct
import subprocess
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from milter_recorder import SMFIP, SMFIP_SKIP, Recorder, nul  # noqa: E402
from test_miltload import miltload_path  # noqa: E402

OUTSIDE = "127.0.0.3"   # no reverse name: Postfix says "unknown", CONNECT "[127.0.0.3]"
LOCAL = "127.0.0.1"     # resolves to localhost
HELO = "client.signet.test"  # the EHLO name harness.Postfix's SMTP client uses
SENDER = harness.SASL_USER   # alice@example.com, who also logs in
RCPTS = ("user@dest.test", "user2@dest.test")
# Values that must agree between Postfix and miltload; every other macro
# (i, j, {daemon_name}, v, {client_port}, {daemon_port}, {client_connections},
# {mail_mailer}, {rcpt_mailer}) is compared by name only.
SAME_VALUE = {"_", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}",
              "{rcpt_addr}", "{rcpt_host}", "{client_addr}", "{client_name}", "{client_ptr}",
              "{daemon_addr}"}
# MILTER-PFX-02: Postfix's default macro list per 'D' stage letter.
PFX_02 = {"C": ["j", "{daemon_name}", "{daemon_addr}", "v", "_"],
          "H": ["{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}"],
          "M": ["i", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}",
                "{mail_mailer}"],
          "R": ["i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"],
          "T": ["i"], "L": ["i"], "N": ["i"], "B": ["i"], "E": ["i"]}
ALL_MACROS = ("i j _ v {daemon_name} {daemon_addr} {daemon_port} {client_addr} {client_name} "
              "{client_port} {client_ptr} {client_connections} {auth_type} {auth_authen} "
              "{auth_author} {mail_addr} {mail_host} {mail_mailer} {rcpt_addr} {rcpt_host} "
              "{rcpt_mailer} {tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}")
# The flags signetd asks for (test_milter_wire.py MILTER-NEG-02/03).
SIGNETD_FLAGS = (SMFIP["NOHELO"] | SMFIP["NORCPT"] | SMFIP["NOUNKNOWN"] | SMFIP["NODATA"]
                 | SMFIP["NR_CONN"] | SMFIP["NR_MAIL"] | SMFIP["NR_HDR"] | SMFIP["NR_EOH"]
                 | SMFIP["NR_BODY"] | SMFIP["HDR_LEADSPC"])
ALL_NO = (SMFIP["NOCONNECT"] | SMFIP["NOHELO"] | SMFIP["NOMAIL"] | SMFIP["NORCPT"]
          | SMFIP["NOBODY"] | SMFIP["NOHDRS"] | SMFIP["NOEOH"] | SMFIP["NOUNKNOWN"]
          | SMFIP["NODATA"])
ALL_NR = (SMFIP["NR_CONN"] | SMFIP["NR_HELO"] | SMFIP["NR_MAIL"] | SMFIP["NR_RCPT"]
          | SMFIP["NR_DATA"] | SMFIP["NR_HDR"] | SMFIP["NR_EOH"] | SMFIP["NR_BODY"])

# Header fields that exercise MILTER-GEN-07: a fold with SP and one with TAB,
# no space after the colon, a TAB, two spaces, an empty value, WSP before the
# colon, trailing spaces.
TRICKY_HEADERS = ["Subject: folded\n subject line\n\twith a tab", "X-Lead-None:nospace",
                  "X-Lead-Tab:\ttab first", "X-Lead-Two:  two spaces", "X-Empty:",
                  "X-WSP-Before-Colon : value", "X-Trail: trailing  "]
# 150 KiB in 2,600 lines: chunks of 65535, 65535 and the rest.
BIG_BODY = b"".join(b"line %05d of a body larger than one milter chunk, 59 octets\n" % k
                    for k in range(2600))


def require_postfix():
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.SENDMAIL,
                                    harness.SASLPASSWD2, miltload_path())
    if missing:
        pytest.skip(f"not built or not installed: {', '.join(missing)} (scripts/deps.sh)")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One recorder and one Postfix (SASL on) pointed at it for the module;
    each test configures the recorder, which also forgets what it saw."""
    require_postfix()
    rec = Recorder().start()
    pf = harness.Postfix(milter=rec.postfix_spec(), sasl=True)
    try:
        pf.start()
        rec.wait_closed(1, timeout=30)  # harness's "is smtpd up" probe connection
        yield {"rec": rec, "pf": pf, "dir": tmp_path_factory.mktemp("conformance")}
    finally:
        pf.cleanup()
        rec.stop()


def message(tag, body, extra=TRICKY_HEADERS, from_addr=SENDER):
    return harness.make_message(harness.unique_id(tag), from_addr=from_addr, body=body,
                                extra_headers=extra)


def write(world, name, msg):
    path = world["dir"] / name
    path.write_bytes(msg)
    return path


def postfix_smtp(world, msgs, source=OUTSIDE, auth=True, rcpts=RCPTS, expect_ok=True):
    """The given messages in one SMTP session through Postfix; returns the
    recorded milter connection of that session."""
    pf, rec = world["pf"], world["rec"]
    s = pf.session(source=source,
                   auth=(harness.SASL_USER, harness.SASL_PASSWORD) if auth else None)
    try:
        for msg in msgs:
            try:
                pf.send_on(s, msg, sender=SENDER, rcpts=rcpts)
            except smtplib.SMTPDataError:
                if expect_ok:
                    raise
        s.quit()
    finally:
        s.close()
    return rec.wait_closed(1)[0]


def clean_output(r):
    """miltload's output; fails on a sanitizer report (ASan build)."""
    out = (r.stdout + r.stderr).decode(errors="replace")
    for mark in harness.SANITIZER_MARKS:
        assert mark not in out, out
    return out


def miltload(world, *args, conns=1, expect_rc=0):
    """miltload against the recorder; returns (MILTLOAD fields, output, the
    recorded connections)."""
    rec = world["rec"]
    r = subprocess.run([str(miltload_path()), "-s", rec.miltload_spec(), "-q",
                        *map(str, args)], capture_output=True, timeout=120)
    out = clean_output(r)
    last = [ln for ln in r.stdout.decode(errors="replace").splitlines()
            if ln.startswith("MILTLOAD ")]
    assert last, out
    fields = dict(kv.split("=", 1) for kv in last[-1].split()[1:])
    if expect_rc is not None:
        assert r.returncode == expect_rc, out
    return fields, out, rec.wait_closed(conns)


def smtp_args(msgfile, auth=True, source=OUTSIDE, rcpts=RCPTS, n=2):
    """miltload options for the conversation postfix_smtp() drives."""
    args = ["-m", msgfile, "-n", n, "-p", n, "-C", source, "--helo", HELO, "-f", SENDER]
    if source == LOCAL:
        args += ["--client-name", "localhost"]
    if auth:
        args.append(f"-a{harness.SASL_USER}")
    for r in rcpts:
        args += ["-r", r]
    return args


def shape(conn):
    """The comparable form of a recorded connection (see the file comment)."""
    out = []
    for e in conn.events:
        kind = e[0]
        if kind == "D":
            out.append(("D", e[1], tuple((n, v if n in SAME_VALUE else "*") for n, v in e[2])))
        elif kind == "C":
            host, family, port, addr = e[1:]
            out.append(("C", host, family, "port 0" if port == 0 else "a port", addr))
        elif kind == "B":
            out.append(("B", len(e[1]), e[1]))
        else:
            out.append(e)
    return out


def assert_same(postfix_conn, miltload_conn):
    p, m = shape(postfix_conn), shape(miltload_conn)
    assert postfix_conn.error is None and miltload_conn.error is None, (postfix_conn.error,
                                                                         miltload_conn.error)
    for k, (a, b) in enumerate(zip(p, m)):
        assert a == b, f"packet {k} differs: Postfix {a!r:.400} / miltload {b!r:.400}"
    assert len(p) == len(m), f"Postfix sent {len(p)} packets, miltload {len(m)}:\n" \
                             f"Postfix  {postfix_conn.commands()}\nmiltload {miltload_conn.commands()}"


def header_fields(msg):
    """[(name, value)] as Postfix hands them to a milter without LEADSPC."""
    flds, _ = harness.fields(msg)
    out = []
    for _, raw in flds:
        name, value = raw.rstrip(b"\n").split(b":", 1)
        value = value[1:] if value[:1] == b" " else value
        out.append((name.decode().rstrip(" \t"), value.decode()))
    return out


# --------------------------------------------------------------------------

def test_MILTER_GEN_02_PFX_02_CONV_05_smtp_auth_session_same_as_postfix(world):
    """MILTER-GEN-02, MILTER-GEN-03, MILTER-GEN-04, MILTER-GEN-05,
    MILTER-GEN-06, MILTER-GEN-07, MILTER-GEN-08, MILTER-GEN-09, MILTER-GEN-10,
    MILTER-GEN-11, MILTER-PFX-02, MILTER-CONV-05: an authenticated
    SMTP session with two recipients and two messages of 150 KiB with tricky
    headers. Postfix's packets, in order: OPTNEG; CONNECT macros (the PFX-02
    list) and CONNECT "[127.0.0.3]"; an empty HELO 'D' and HELO; MAIL macros
    without 'i' (no queue file yet) but with the auth macros; 'i' only from
    the second RCPT on; each header with the EOH list, value without the first
    SP, folds as \\n, WSP before the colon gone, Postfix's own Received not
    shown; EOH; body chunks 65535, 65535, rest, CRLF; EOM; ABORT after each
    message; ABORT and QUIT at the end. miltload sends the same."""
    rec = world["rec"]
    rec.configure()
    msg = message("gen-auth", BIG_BODY)
    pc = postfix_smtp(world, [msg, msg])
    # What the spec says, read off Postfix itself.
    ev = pc.events
    assert ev[0] == ("O", 6, 0x1FF, 0x1FFFFF)  # MILTER-GEN-01
    assert ev[1][:2] == ("D", "C") and [n for n, _ in ev[1][2]] == PFX_02["C"], ev[1]
    assert dict(ev[1][2])["_"] == f"unknown [{OUTSIDE}]"
    assert ev[2][:3] == ("C", f"[{OUTSIDE}]", "4") and ev[2][3] != 0 and ev[2][4] == OUTSIDE
    assert ev[3] == ("D", "H", ()) and ev[4] == ("H", HELO)  # MILTER-GEN-03: empty 'D' sent
    mail = dict(ev[5][2])
    assert ev[5][:2] == ("D", "M") and "i" not in mail, ev[5]
    assert mail["{auth_type}"] == "PLAIN" and mail["{auth_authen}"] == harness.SASL_USER
    assert ev[6] == ("M", (f"<{SENDER}>",))
    assert ev[7][:2] == ("D", "R") and "i" not in dict(ev[7][2]) and ev[8] == ("R", ("<user@dest.test>",))
    assert "i" in dict(ev[9][2]) and ev[10] == ("R", ("<user2@dest.test>",))
    headers = [(e[1], e[2]) for e in ev if e[0] == "L"]
    assert headers == header_fields(msg) * 2  # MILTER-CONV-05: in order, no Received
    assert ("Subject", "folded\n subject line\n\twith a tab") in headers
    assert ("X-WSP-Before-Colon", "value") in headers and ("X-Lead-Two", " two spaces") in headers
    for k, e in enumerate(ev):
        if e[0] == "L":
            assert ev[k - 1][:2] == ("D", "L"), ev[k - 1]  # MILTER-GEN-07: EOH list per header
    chunks = [e[1] for e in ev if e[0] == "B"]
    crlf_body = BIG_BODY.replace(b"\n", b"\r\n")
    assert 131070 < len(crlf_body) < 3 * 65535
    assert [len(c) for c in chunks] == [65535, 65535, len(crlf_body) - 131070] * 2
    assert b"".join(chunks[:3]) == crlf_body  # MILTER-CONV-08
    assert pc.commands().endswith("DEAAQ"), pc.commands()
    assert pc.commands().count("DEADM") == 1, pc.commands()  # ABORT then the next MAIL
    # miltload, the same conversation.
    rec.configure()
    f, out, mc = miltload(world, *smtp_args(write(world, "auth.eml", msg)))
    assert f["ok"] == "2" and f["errors"] == "0", out
    assert_same(pc, mc[0])


def test_MILTER_GEN_09_11_smtp_no_auth_empty_body_same_as_postfix(world):
    """MILTER-GEN-09/11, MILTER-PFX-02: a client that resolves (localhost),
    no AUTH, one recipient, an empty body: no auth macros, CONNECT
    "localhost", no BODY packet at all, EOM right after EOH. miltload with
    --client-name localhost and the same message sends the same."""
    rec = world["rec"]
    rec.configure()
    msg = message("gen-empty", b"", extra=["X-Only: one"])
    pc = postfix_smtp(world, [msg, msg], source=LOCAL, auth=False, rcpts=RCPTS[:1])
    assert "B" not in pc.commands() and pc.commands().count("DNDE") == 2, pc.commands()
    assert ("C", "localhost", "4") == pc.events[2][:3]
    for e in pc.events:
        if e[0] == "D":
            assert not any(n.startswith("{auth_") for n, _ in e[2]), e
    rec.configure()
    f, out, mc = miltload(world, *smtp_args(write(world, "empty.eml", msg), auth=False,
                                            source=LOCAL, rcpts=RCPTS[:1]))
    assert f["ok"] == "2", out
    assert_same(pc, mc[0])


def test_MILTER_GEN_13_PFX_01_non_smtp_profile_same_as_sendmail(world):
    """MILTER-GEN-13, MILTER-PFX-01: sendmail(1) mail reaches the milter from
    Postfix's cleanup: CONNECT localhost/127.0.0.1 port 0, HELO localhost,
    'i' from the start, no auth macros, bare addresses in MAIL/RCPT, only
    {mail_addr}/{rcpt_addr}, no ABORT before QUIT. miltload -P non-smtp sends
    the same."""
    rec = world["rec"]
    rec.configure()
    msg = message("gen-nonsmtp", b"first line\n\n  indented\nlast\n", from_addr="sender@example.com")
    world["pf"].sendmail(msg, sender="sender@example.com", rcpts=RCPTS)
    pc = rec.wait_closed(1)[0]
    assert pc.events[2] == ("C", "localhost", "4", 0, "127.0.0.1")
    assert pc.events[4] == ("H", "localhost")
    assert ("M", ("sender@example.com",)) in pc.events
    assert pc.commands().endswith("DEQ"), pc.commands()
    for e in pc.events:
        if e[0] == "D":
            assert "i" in dict(e[2]) or e[1] in "CH", e  # default lists: no 'i' at C, H
            assert not any(n.startswith("{auth_") for n, _ in e[2]), e
    rec.configure()
    f, out, mc = miltload(world, "-P", "non-smtp", "-m", write(world, "nonsmtp.eml", msg),
                          "-n", 1, "-f", "sender@example.com", "-r", RCPTS[0], "-r", RCPTS[1])
    assert f["ok"] == "1", out
    assert_same(pc, mc[0])


@pytest.mark.parametrize("how", ["smtp", "non-smtp"])
def test_MILTER_PFX_02_setsymlist_every_macro_every_stage_same_as_postfix(world, how):
    """MILTER-PFX-02, MILTER-GEN-02, MILTER-GEN-04, MILTER-GEN-05: the milter
    asks (setsymlist) for every macro Postfix knows at every stage; which
    ones have a value where
    (smtpd at CONNECT..DATA, cleanup for the content; {rcpt_*} at DATA = the
    first recipient; the non-SMTP path's last recipient) and the values that
    must agree are the same from miltload."""
    rec = world["rec"]
    rec.configure(symlist={st: ALL_MACROS for st in "CHMRTNE"})
    msg = message("gen-symlist", b"one line\n", extra=())
    if how == "smtp":
        pc = postfix_smtp(world, [msg])
        args = smtp_args(write(world, "sym.eml", msg), n=1)
    else:
        world["pf"].sendmail(msg, sender=SENDER, rcpts=RCPTS)
        pc = rec.wait_closed(1)[0]
        args = ["-P", "non-smtp", "-m", write(world, "sym.eml", msg), "-n", 1, "-f", SENDER,
                "-r", RCPTS[0], "-r", RCPTS[1]]
    first_d = dict(pc.events[1][2])
    assert "{client_addr}" in first_d and "{daemon_port}" in first_d, first_d  # lists honoured
    rec.configure(symlist={st: ALL_MACROS for st in "CHMRTNE"})
    f, out, mc = miltload(world, *args)
    assert f["ok"] == "1", out
    assert_same(pc, mc[0])


@pytest.mark.parametrize("flags", [SIGNETD_FLAGS, ALL_NO, ALL_NR | SMFIP["HDR_LEADSPC"]],
                         ids=["signetd", "all-NO", "all-NR+LEADSPC"])
def test_MILTER_GEN_12_no_and_nr_flags_same_as_postfix(world, flags):
    """MILTER-GEN-12, MILTER-GEN-07: with the milter's NO* flags Postfix skips
    those events but still sends the macros of CONNECT..DATA (not those of
    HEADER, EOH, BODY); with NR_ flags it does not wait for the replies the
    milter will not send (the recorder sends none); with HDR_LEADSPC header
    values keep their leading space. miltload does the same, without waiting
    (a wait would end in its 10 s command timeout, an error)."""
    rec = world["rec"]
    rec.configure(protocol=flags)
    msg = message("gen-flags", BIG_BODY[:70000])
    pc = postfix_smtp(world, [msg, msg])
    if flags & SMFIP["HDR_LEADSPC"]:
        assert ("L", "X-Lead-Two", "  two spaces") in pc.events
    if flags & SMFIP["NOHDRS"]:
        assert not [e for e in pc.events if e[0] == "L" or e[:2] == ("D", "L")]
    rec.configure(protocol=flags)
    f, out, mc = miltload(world, *smtp_args(write(world, "flags.eml", msg)),
                          "--command-timeout", 10, "--content-timeout", 10)
    assert f["ok"] == "2" and f["timeouts"] == "0", out
    assert_same(pc, mc[0])


def test_MILTER_GEN_09_skip_reply_ends_the_body(world):
    """MILTER-GEN-09: a milter that negotiated SKIP and answers the first BODY
    chunk with 's' gets no more chunks, then EOM; miltload stops the same."""
    rec = world["rec"]
    rec.configure(protocol=SMFIP_SKIP, body_reply=b"s")
    msg = message("gen-skip", BIG_BODY)
    pc = postfix_smtp(world, [msg])
    assert pc.commands().count("B") == 1 and "DNDBDE" in pc.commands(), pc.commands()
    rec.configure(protocol=SMFIP_SKIP, body_reply=b"s")
    f, out, mc = miltload(world, *smtp_args(write(world, "skip.eml", msg), n=1))
    assert f["ok"] == "1", out
    assert_same(pc, mc[0])


@pytest.mark.parametrize("final", [b"c", b"t"])
def test_MILTER_GEN_10_eom_actions_then_final_reply(world, final):
    """MILTER-GEN-10/11: at EOM the milter sends progress, quarantine, add,
    insert and change-header packets, then 'c' (or 't' tempfail). Postfix reads
    them all and goes on with ABORT and the next message on the same
    connection; so does miltload, which counts a tempfailed message as an
    error but stays in step."""
    rec = world["rec"]
    eom = [(b"p", b""), (b"q", b"held by the recorder\0"),
           (b"h", nul("X-Added", " at the bottom")),
           (b"i", struct.pack(">I", 0) + nul("DKIM-Signature", " v=1; bh=AAAA; b=BBBB")),
           (b"m", struct.pack(">I", 1) + nul("Subject", " changed")), (b"p", b"")]
    rec.configure(eom=eom, eom_final=final)
    msg = message("gen-eom", b"body\n", extra=())
    pc = postfix_smtp(world, [msg, msg], expect_ok=final == b"c")
    assert pc.commands().count("E") == 2 and pc.commands().endswith("DEAAQ"), pc.commands()
    rec.configure(eom=eom, eom_final=final)
    f, out, mc = miltload(world, *smtp_args(write(world, "eom.eml", msg)),
                          expect_rc=0 if final == b"c" else 1)
    if final == b"c":
        assert f["ok"] == "2" and f["errors"] == "0", out
    else:
        assert f["ok"] == "0" and f["errors"] == "2" and "EOM reply 't'" in out, out
    assert_same(pc, mc[0])
    log = world["pf"].log_text()
    assert "milter" not in "".join(ln for ln in log.splitlines() if "warning" in ln), log[-3000:]


# ---------------------------------------------------------------- timeouts

@pytest.fixture(scope="module")
def slow_postfix(world):
    """A second Postfix with milter_command_timeout = 1s and
    milter_content_timeout = 60s, pointed at its own recorder."""
    rec = Recorder().start()
    pf = harness.Postfix(milter=rec.postfix_spec(), extra_main={
        "milter_command_timeout": "1s", "milter_content_timeout": "60s"})
    try:
        pf.start()
        rec.wait_closed(1, timeout=30)
        yield {"rec": rec, "pf": pf, "dir": world["dir"]}
    finally:
        pf.cleanup()
        rec.stop()


# (command stalled 2.5 s, its event name in miltload's report, timeout class)
STALLS = [("O", "OPTNEG", "command"), ("M", "MAIL", "command"), ("T", "DATA", "command"),
          ("L", "HEADER", "content"), ("E", "EOM", "content")]


@pytest.mark.parametrize("cmd,event,tclass", STALLS, ids=[s[1] for s in STALLS])
def test_MILTER_GEN_12_timeout_classes_same_as_postfix(slow_postfix, cmd, event, tclass):
    """MILTER-GEN-12: which wait falls under which Postfix timeout. The milter
    stalls 2.5 s on one command (its first of that kind); with command timeout 1 s and content timeout
    60 s Postfix gives up on OPTNEG (read under the command timeout, not
    milter_connect_timeout), MAIL and DATA, and waits through HEADER and EOM.
    miltload with --command-timeout 1 --content-timeout 60 does the same and
    names the event and the timeout in its report."""
    rec, pf = slow_postfix["rec"], slow_postfix["pf"]
    rec.configure(stall={cmd: 2.5})
    msg = message("gen-stall", b"body\n", extra=())
    try:
        s = pf.session(source=OUTSIDE)
        try:
            pf.send_on(s, msg, sender=SENDER, rcpts=RCPTS[:1])
            delivered = True
        except (AssertionError, smtplib.SMTPException):
            delivered = False
        s.close()
    except smtplib.SMTPException:
        delivered = False
    rec.wait_closed(1)
    assert delivered == (tclass == "content"), pf.log_tail()
    if tclass == "command":
        pat = rf"can't read SMFIC_{'OPTNEG' if cmd == 'O' else {'M': 'MAIL', 'T': 'DATA'}[cmd]} " \
              r"reply packet header: Connection timed out"
        assert re.search(pat, pf.log_text()), pf.log_tail()
    rec.configure(stall={cmd: 2.5})
    args = ["-s", rec.miltload_spec(), "-q", "-n", 1, "-m",
            write(slow_postfix, "stall.eml", msg), "--command-timeout", 1,
            "--content-timeout", 60]
    r = subprocess.run([str(miltload_path()), *map(str, args)], capture_output=True, timeout=60)
    out = clean_output(r)
    rec.wait_closed(1)
    if tclass == "content":
        assert r.returncode == 0 and "ok=1 " in out and "timeouts=0" in out, out
    else:
        assert r.returncode == 1 and "ok=0 " in out and "timeouts=1" in out, out
        assert (f"timeout: waiting for the reply to {event}: nothing for 1 s "
                f"(milter_command_timeout)") in out, out


def test_MILTER_GEN_12_default_timeouts_and_bad_options(tmp_path):
    """MILTER-GEN-12: the defaults are Postfix's (30 s, 30 s, 300 s, in the
    usage text); a zero or negative timeout, an unknown profile, and auth or
    a client name with the non-SMTP profile are usage errors (exit 64)."""
    if harness.missing_tools(miltload_path()):
        pytest.skip(f"not built: {miltload_path()}")
    ml = str(miltload_path())
    r = subprocess.run([ml, "-h"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 64
    assert "connect(2), default 30" in r.stderr and "command (OPTNEG, CONNECT..DATA, 30)" in r.stderr
    assert "content (HEADER..EOM, 300)" in r.stderr, r.stderr
    for bad in (["--command-timeout", "0"], ["--content-timeout", "-1"], ["-T", "x"],
                ["-P", "exim"], ["-P", "non-smtp", "-a"], ["-P", "non-smtp", "--client-name", "x"]):
        r = subprocess.run([ml, "-s", "unix:/nonexistent", "-n", "1", *bad], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 64, (bad, r.stderr)


# --------------------------------------------------------- sendmail profile

def test_MILTER_SM_03_sendmail_profile_reuses_connection_with_quit_nc(world, tmp_path):
    """MILTER-SM-03: -P sendmail runs SMTP sessions back to back on one
    milter connection: OPTNEG once, then per session CONNECT, HELO, its
    messages (ABORT after each), ABORT and QUIT_NC, and ABORT and QUIT after
    the last; --reuse caps the sessions per connection."""
    rec = world["rec"]
    rec.configure()
    msg = write(world, "sm.eml", message("gen-sm", b"hello\n", extra=()))
    f, out, conns = miltload(world, "-P", "sendmail", "-m", msg, "-n", 6, "-p", 2)
    assert f["ok"] == "6", out
    assert len(rec.conns) == 1
    one = "DCDH" + ("DMDRDT" + "DL" * 7 + "DNDBDEA") * 2
    assert conns[0].commands() == "O" + (one + "AK") * 2 + one + "AQ", conns[0].commands()
    rec.configure()
    f, out, conns = miltload(world, "-P", "sendmail", "--reuse", 2, "-m", msg, "-n", 3, "-p", 1,
                             conns=2)
    assert f["ok"] == "3", out
    cmds = sorted(c.commands().count("K") for c in rec.conns)
    assert cmds == [0, 1] and len(rec.conns) == 2, [c.commands() for c in rec.conns]


@pytest.fixture(scope="module")
def signetd(tmp_path_factory):
    """A real signetd (inet) with an unbound serving its keys, as in
    test_miltload.py."""
    tools = [harness.signet_path(), harness.signetd_path(), miltload_path(), harness.UNBOUND]
    missing = harness.missing_tools(*tools)
    if missing:
        pytest.skip(f"not built or not installed: {', '.join(missing)}")
    d = tmp_path_factory.mktemp("conformance-signetd")
    signet = str(harness.signet_path())
    key = d / "rsa.key"
    r = subprocess.run([signet, "keygen", "-d", "example.com", "-s", "conf", "-k", str(key),
                        "--format", "txt"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    record = r.stdout.decode().strip()
    keys = d / "keys.txt"
    keys.write_text(f"conf._domainkey.example.com {record}\n")
    plain = harness.make_message("conformance@example.com", body=b"hello\n" * 40)
    r = subprocess.run([signet, "sign", "-d", "example.com", "-s", "conf", "-k", str(key)],
                       input=plain, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    signed = d / "signed.eml"
    signed.write_bytes(r.stdout)
    ub = harness.Unbound({"example.com": {"conf._domainkey.example.com": [record]}}).start()
    sd = harness.Signetd(harness.signetd_path(), [ub.forwarder()],
                         [("example.com", "conf", key)]).start()
    yield {"spec": f"inet:{sd.port}@127.0.0.1", "keys": keys, "signed": signed, "d": sd}
    sd.cleanup()
    ub.cleanup()


def run_miltload(*args):
    r = subprocess.run([str(miltload_path()), *map(str, args)], capture_output=True, timeout=120)
    out = clean_output(r)
    last = [ln for ln in r.stdout.decode(errors="replace").splitlines()
            if ln.startswith("MILTLOAD ")]
    assert last, out
    return r.returncode, dict(kv.split("=", 1) for kv in last[-1].split()[1:]), out


@pytest.mark.parametrize("profile", ["sendmail", "non-smtp"])
def test_MILTER_SM_03_GEN_13_profiles_sign_and_verify_with_signetd(signetd, profile):
    """MILTER-SM-03, MILTER-GEN-13, MILTER-PFX-01: against the real signetd,
    the sendmail profile (sessions separated by QUIT_NC, authenticated) and
    the non-SMTP profile (local mail, no auth) get every message signed, and
    every signature verifies with the published key; the sendmail profile's
    verify path gets dkim=pass from an outside client."""
    auth = ["-a"] if profile == "sendmail" else []
    rc, f, out = run_miltload("-s", signetd["spec"], "-P", profile, "-n", 12, "-c", 2,
                              *auth, "-k", signetd["keys"], "-T", 20)
    assert rc == 0 and f["ok"] == "12" and f["verified"] == "12", out
    if profile == "sendmail":
        rc, f, out = run_miltload("-s", signetd["spec"], "-P", "sendmail", "-p", 2, "-n", 12,
                                  "-m", signetd["signed"], "--verify-mode", "-e", "dkim=pass",
                                  "-C", "192.0.2.7", "-T", 20)
        assert rc == 0 and f["ok"] == "12", out
    assert signetd["d"].alive() and not signetd["d"].sanitizer_reports(), \
        signetd["d"].log_text()[-3000:]
