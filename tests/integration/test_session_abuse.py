# test_session_abuse.py: a milter client that breaks the order of the
# milter steps, and an SMTP client whose message carries many forged
# Authentication-Results, against the real signetd (and a real Postfix for
# the latter). Issue #12: 20,000 EOH packets in one message grew signetd by
# ~290 MB (a signer per EOH, the earlier ones leaked). Issue #19: fields
# claiming our authserv-id past the 1,000th survived, and ours was missing.
import os
import re
import smtplib
import socket
import struct
import subprocess
import sys
import time

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, make_message, parse_ar, unique_id  # noqa: E402

AUTHSERV = "mx.signet.test"
OUTSIDE = "127.0.0.3"
POSTFIX_OFFER = (6, 0x1FF, 0x1FFFFF)  # MILTER-GEN-01
MAX_OURS_AR = 2048  # session.c's SESSION_MAX_OURS_AR
MAX_FIELDS = 1000   # SIGNET_MAX_HEADER_FIELDS
MAKE_MESSAGE_FIELDS = 7  # harness.make_message's own header fields
# what forged fields look like: case, comment, quoted, version, trailing dot
FORGED = [f"{AUTHSERV}; dkim=pass header.d=example.com",
          "MX.Signet.TEST; dkim=pass",
          f"(forged) \"{AUTHSERV}\" 1; dkim=pass",
          f"{AUTHSERV}.; dkim=pass"]


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def nul(*parts):
    return b"".join((p.encode() if isinstance(p, str) else p) + b"\0" for p in parts)


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    signet, signetd = harness.signet_path(), harness.signetd_path()
    if harness.missing_tools(signet, signetd):
        pytest.skip(f"not built: {harness.missing_tools(signet, signetd)} (set SIGNET_BIN)")
    tmp = tmp_path_factory.mktemp("session-abuse")
    tmp.chmod(0o755)
    key = tmp / "ed.key"
    r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", "ed", "-t", "ed25519",
                        "-k", str(key), "--format", "txt"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return {"signet": signet, "signetd": signetd, "key": key,
            "record": r.stdout.decode().strip()}


@pytest.fixture(scope="module")
def daemon(world):
    """signetd alone (no DNS needed: the messages here are signed or have
    no signature)."""
    sd = harness.Signetd(world["signetd"], ["127.0.0.1@9"],
                         [("example.com", "ed", world["key"])], authserv_id=AUTHSERV)
    try:
        sd.start()
        yield sd
    finally:
        sd.cleanup()


def milter(sd):
    s = socket.create_connection(("127.0.0.1", sd.port), timeout=10)
    s.sendall(packet(b"O", struct.pack(">III", *POSTFIX_OFFER)))
    hdr = s.recv(4, socket.MSG_WAITALL)
    body = s.recv(struct.unpack(">I", hdr)[0], socket.MSG_WAITALL)
    assert body[:1] == b"O", body
    s.sendall(packet(b"D", b"C" + nul("j", AUTHSERV)) +
              packet(b"C", nul("localhost") + b"4" + struct.pack(">H", 25000) + nul("127.0.0.1")))
    return s


def closed_by_peer(s, timeout=10):
    """True when signetd closes the connection (replies before it are read
    and dropped); False if it stays open for timeout seconds."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_MILTER_CONV_02_eoh_flood_closes_the_connection_memory_flat(daemon):
    """Issue #12: 20,000 five-byte EOH packets in one message. The second EOH
    is a protocol error: signetd logs it and closes the connection, and its
    RSS stays flat (it grew 12 MB -> 302 MB before). It goes on serving."""
    pid = daemon.proc.pid
    before = rss_kib(pid)
    s = milter(daemon)
    s.sendall(packet(b"M", nul("<a@example.com>")) +
              packet(b"L", nul("From", " a@example.com")) + packet(b"N") * 20000)
    closed = closed_by_peer(s)
    s.close()
    after = rss_kib(pid)
    print(f"signetd RSS before {before} KiB, after 20,000 EOH {after} KiB")
    assert closed, "signetd kept the connection after a second EOH"
    assert after - before < 8 * 1024, (before, after)
    assert daemon.log_lines_with("protocol error: EOH in the body")
    s = milter(daemon)
    s.sendall(packet(b"M", nul("<a@example.com>")))
    assert not closed_by_peer(s, timeout=0.5), "a fresh connection works"
    s.close()
    assert daemon.alive()


@pytest.mark.parametrize("steps,why", [
    ([b"M", b"L", b"N", b"L"], "HEADER in the body"),
    ([b"M", b"L", b"N", b"E", b"E"], "EOM between messages"),
    ([b"M", b"L", b"N", b"E", b"B"], "BODY between messages"),
    ([b"L"], "HEADER between messages"),
    ([b"M", b"C"], "CONNECT in the envelope"),
])
def test_MILTER_CONV_01_steps_out_of_order_close_the_connection(daemon, steps, why):
    """MILTER-CONV-01, MILTER-ERR-03: a step in a state where it cannot come
    (session.c's step_rules) closes the connection with a log line naming
    the step and the state; signetd lives on."""
    data = {b"M": nul("<a@example.com>"), b"L": nul("From", " a@example.com"),
            b"B": b"body\r\n", b"C": nul("h") + b"4" + struct.pack(">H", 1) + nul("192.0.2.1")}
    s = milter(daemon)
    s.sendall(b"".join(packet(c, data.get(c, b"")) for c in steps))
    assert closed_by_peer(s)
    s.close()
    assert daemon.log_lines_with(f"protocol error: {why}")
    assert daemon.alive()


def shim_env():
    """tests/fault/sign_fault.so preloaded, failing every signing call (as
    in test_faults.py: the only way a loaded key fails to sign)."""
    shim = harness.signetd_path().resolve().parent.parent / "tests" / "sign_fault.so"
    if not shim.exists():
        pytest.skip(f"{shim} not built")
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": str(shim), "SIGNET_FAULT_SIGN": "all",
            "ASAN_OPTIONS": f"{asan}:verify_asan_link_order=0" if asan
            else "verify_asan_link_order=0"}


def test_AR_DEL_01_unsigned_on_error_accept_still_loses_forged_fields(world):
    """AR-DEL-01 with MILTER-ERR-01: signing fails (sign_fault.so) and
    on_error.sign = accept lets the message through unsigned: its field
    claiming our authserv-id is still deleted (it was not: the accept path
    replied before the deletions)."""
    sd = harness.Signetd(world["signetd"], ["127.0.0.1@9"],
                         [("example.com", "ed", world["key"])], authserv_id=AUTHSERV,
                         on_error_sign="accept", env=shim_env())
    try:
        sd.start()
        s = milter(sd)
        s.sendall(packet(b"M", nul("<a@example.com>")) +
                  packet(b"L", nul("Authentication-Results", f" {AUTHSERV}; dkim=pass")) +
                  packet(b"L", nul("From", " a@example.com")) + packet(b"N") +
                  packet(b"B", b"hello\r\n") + packet(b"E"))
        replies = []
        while not replies or replies[-1][0] not in (b"c", b"y", b"t", b"r", b"a"):
            n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
            body = s.recv(n, socket.MSG_WAITALL)
            replies.append((body[:1], body[1:]))
        s.close()
        assert replies == [(b"m", struct.pack(">I", 1) + nul("Authentication-Results", "")),
                           (b"c", b"")], replies
        assert sd.log_lines_with("message accepted unsigned (on_error.sign = accept)")
    finally:
        sd.cleanup()


# ---- forged Authentication-Results through a real Postfix (issue #19) ----

@pytest.fixture(scope="module")
def mta(world):
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.POSTQUEUE,
                                    harness.SENDMAIL, harness.UNBOUND)
    if missing:
        pytest.skip(f"Postfix/unbound tools missing: {', '.join(missing)}")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")
    ub = harness.Unbound({"example.com": {"ed._domainkey.example.com": [world["record"]]}})
    sd = pf = None
    try:
        ub.start()
        sd = harness.Signetd(world["signetd"], [ub.forwarder()],
                             [("example.com", "ed", world["key"])], authserv_id=AUTHSERV)
        sd.start()
        pf = harness.Postfix(milter=sd.milter())
        pf.start()
        yield {"pf": pf, "sd": sd}
    finally:
        if pf:
            pf.cleanup()
        if sd:
            sd.cleanup()
        ub.cleanup()


def forged_message(tag, n):
    extra = [f"Authentication-Results: {FORGED[k % len(FORGED)]}" for k in range(n)]
    extra.append("Authentication-Results: other.example; dkim=pass header.d=example.org")
    msg = make_message(unique_id(tag), extra_headers=extra)
    mid = re.search(rb"^Message-ID: <([^>]+)>", msg, re.M).group(1).decode()
    return msg, mid


def claims_ours(value):
    sid = parse_ar(value)[0].strip('"').lower()
    return sid in (AUTHSERV, AUTHSERV + ".")


@pytest.mark.parametrize("n,ours_added", [
    (MAX_FIELDS - MAKE_MESSAGE_FIELDS - 1, True),   # 1000 fields: verified
    (MAX_FIELDS - MAKE_MESSAGE_FIELDS, False),      # 1001: over the header limit
    (1500, False),
    (MAX_OURS_AR - 1, False),
    (MAX_OURS_AR, False)])
def test_AR_DEL_01_every_forged_field_removed_through_postfix(mta, n, ours_added):
    """AR-DEL-01: n fields claiming our authserv-id (case, comment, quoted,
    trailing-dot variants) from an outside client: none is delivered, the
    foreign one is; ours is on top exactly when verification ran (up to
    SIGNET_MAX_HEADER_FIELDS fields; past it the message is passed on
    unprocessed, MILTER-ERR-04, but still without a forged field)."""
    msg, mid = forged_message(f"ar-del-{n}", n)
    mta["pf"].submit(msg, source=OUTSIDE)
    d = Delivered(mta["pf"].wait_delivery(mid, timeout=60))
    values = d.all_values("Authentication-Results")
    ours = [v for v in values if claims_ours(v)]
    foreign = [v for v in values if not claims_ours(v)]
    assert len(foreign) == 1 and b"other.example" in foreign[0], foreign
    if ours_added:
        assert len(ours) == 1 and d.added_values("Authentication-Results") == ours, ours[:3]
        assert parse_ar(ours[0])[1][0]["result"] == "none"
    else:
        assert ours == [], f"{len(ours)} fields claiming {AUTHSERV} survived"


def test_AR_DEL_01_past_the_bound_the_message_is_refused(mta):
    """AR-DEL-01: one field more than SESSION_MAX_OURS_AR and the message is
    refused at the end of DATA (550 5.7.1, with the reason), never delivered
    with a forged field left; signetd logs why."""
    msg, mid = forged_message("ar-del-over", MAX_OURS_AR + 1)
    with pytest.raises(smtplib.SMTPDataError) as e:
        mta["pf"].submit(msg, source=OUTSIDE)
    assert e.value.smtp_code == 550, e.value
    assert b"5.7.1 Too many forged Authentication-Results fields" in e.value.smtp_error
    assert mta["sd"].log_lines_with(f"{MAX_OURS_AR + 1} Authentication-Results fields claim")
