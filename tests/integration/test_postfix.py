# test_postfix.py: signetd as the milter of a real Postfix (3.7, private
# instance on 127.0.0.1) with a real unbound serving the key records. Mail
# goes in over SMTP (or sendmail(1)) and is read back from the Maildir that
# Postfix's virtual(8) delivers to; dkimpy and `signet verify` check what
# came out. Infrastructure lives in harness.py. Local vs outside senders are
# told apart by the client's source address: signetd's local_addrs is
# 127.0.0.1/32, outside clients bind to 127.0.0.3 (see harness.Postfix).
# Environment: SIGNET_BIN (signet CLI), SIGNETD_BIN (else <repo>/build/daemon/signetd).
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

# harness.py sits beside this file; pytest's default (prepend) import mode
# puts this directory on sys.path already, other modes may not.
if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, crlf, make_message, parse_ar, unique_id  # noqa: E402

try:
    import dkim  # dkimpy (Debian python3-dkim)
except ImportError:  # pragma: no cover - reported by the tests that need it
    dkim = None

AUTHSERV = "mx.signet.test"
LOCAL = "127.0.0.1"
OUTSIDE = "127.0.0.3"
DNS_TIMEOUT_S = 2
RESULT_WORDS = ("pass", "fail", "neutral", "policy", "permerror", "temperror", "none")
GARBAGE_TXT = "v=DKIM1; k=rsa; p=%%%this-is-not-base64%%%"


def require_root_and_tools(*extra):
    """Skips (with the reason) when this machine cannot run a private Postfix
    and unbound; under CI (scripts/deps.sh) they are installed and we are root."""
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.POSTQUEUE,
                                    harness.SENDMAIL, harness.UNBOUND, *extra)
    if missing:
        pytest.skip(f"Postfix/unbound tools missing: {', '.join(missing)} "
                    "(install them with scripts/deps.sh)")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")


# --------------------------------------------------------------------------
# Harness self-check: no signet code involved.

def test_harness_self_check(tmp_path):
    """The test infrastructure works on this machine without any milter:
    unbound answers TXT (split >255-octet strings, several RRs at one name,
    NXDOMAIN, NODATA, SERVFAIL via a dead forwarder, silence via a `deny`
    zone); Postfix receives over SMTP from 127.0.0.1 and 127.0.0.3, with
    SASL AUTH, and through sendmail(1), and delivers byte-exact to the Maildir."""
    require_root_and_tools(harness.SASLPASSWD2)
    long_value = "v=DKIM1; k=rsa; p=" + "A" * 400
    dead = harness.free_port(socket.SOCK_DGRAM)
    ub = harness.Unbound(
        {"example.com": {"long._domainkey.example.com": [long_value],
                         "multi._domainkey.example.com": ["v=DKIM1; p=one", ["v=DKIM1; ", "p=two"]],
                         "nodata._domainkey.example.com": [("A", "192.0.2.1")]}},
        forward_zones={"servfail.example.net": f"127.0.0.1@{dead}"},
        deny_zones=["timeout.example.net"])
    pf = harness.Postfix(sasl=True)
    try:
        ub.start()
        a = ub.query("long._domainkey.example.com")
        assert a.rcode == 0 and a.joined() == [long_value.encode()], a
        assert [len(s) for s in a.txts[0]] == [255, len(long_value) - 255], a
        a = ub.query("multi._domainkey.example.com")
        assert a.rcode == 0 and sorted(a.joined()) == [b"v=DKIM1; p=one", b"v=DKIM1; p=two"], a
        a = ub.query("nx._domainkey.example.com")
        assert a.rcode == 3 and a.txts == [], a
        a = ub.query("nodata._domainkey.example.com")
        assert a.rcode == 0 and a.txts == [], a
        a = ub.query("sel._domainkey.servfail.example.net", timeout=5)
        assert a.rcode == 2, a
        with pytest.raises(OSError):  # socket.timeout is an OSError
            ub.query("sel._domainkey.timeout.example.net", timeout=1)

        pf.start()
        sent = {}
        for tag, how in (("smtp-local", "local"), ("smtp-outside", "outside"),
                         ("smtp-auth", "auth"), ("sendmail", "sendmail")):
            mid = unique_id(tag)
            msg = make_message(mid, body=b"line 1\n\n  indented line\t\nlast line\n")
            sent[mid] = (how, msg)
            if how == "local":
                qid = pf.submit(msg, source=LOCAL)
            elif how == "outside":
                qid = pf.submit(msg, source=OUTSIDE)
            elif how == "auth":
                qid = pf.submit(msg, source=OUTSIDE,
                                auth=(harness.SASL_USER, harness.SASL_PASSWORD))
            else:
                qid = None
                pf.sendmail(msg)
            if qid:
                assert re.fullmatch(r"[0-9A-F]+", qid), qid
        for mid, (how, msg) in sent.items():
            d = Delivered(pf.wait_delivery(mid))
            assert d.added == [], (how, d.added)
            assert d.rest == msg, (how, d.raw)
            if how == "auth":
                assert b"with ESMTPA" in d.received, d.received
            if how == "sendmail":
                assert b"from userid 0" in d.received, d.received
            assert pf.queue_id_for(mid.strip("<>")), pf.log_tail()
    finally:
        pf.cleanup()
        ub.cleanup()
    assert not pf._our_processes()


# --------------------------------------------------------------------------
# signetd -t (no Postfix needed)

def test_AR_SYN_03_signetd_t_accepts_our_config_and_refuses_bad_authserv_id(tmp_path):
    """AR-SYN-03 (DESIGN: `signetd -t` checks the config and exits): the
    config this module runs signetd with passes `signetd -t`; the same with
    authserv_id = "my host" is refused with a message naming authserv_id."""
    signetd_bin = harness.signetd_path()
    if not harness.executable(signetd_bin):
        pytest.skip(f"signetd not built at {signetd_bin} (build it, or set SIGNETD_BIN)")
    signet = harness.signet_path()
    if not harness.executable(signet):
        pytest.skip(f"signet CLI not built at {signet} (needed for keygen; set SIGNET_BIN)")
    tmp_path.chmod(0o755)
    w = World(tmp_path, signet, signetd_bin)
    w.keygen("rsa", "rsa")
    sels = [("example.com", "rsa", w.keys["rsa"])]
    good = harness.Signetd(signetd_bin, ["127.0.0.1@53"], sels, authserv_id=AUTHSERV)
    bad = harness.Signetd(signetd_bin, ["127.0.0.1@53"], sels, authserv_id="my host")
    try:
        rc, out = good.check_config()
        assert rc == 0, f"signetd -t refused the harness config ({rc}):\n{out}\n{good.config()}"
        rc, out = bad.check_config()
        assert rc != 0, f"signetd -t accepted authserv_id \"my host\":\n{out}"
        assert "authserv_id" in out, out
        for o in (out,):
            assert not any(m in o for m in harness.SANITIZER_MARKS), o
    finally:
        good.cleanup()
        bad.cleanup()


# --------------------------------------------------------------------------
# The world: keys, unbound, signetd, Postfix (module scope: started once).

class World:
    def __init__(self, tmp, signet, signetd_bin):
        self.tmp = tmp
        self.signet = signet
        self.keys = {}      # selector -> key file
        self.records = {}   # "sel._domainkey.dom" -> TXT value (str)
        self.unbound = None
        self.signetd = None
        self.postfix = None
        self.signetd_bin = signetd_bin

    def keygen(self, selector, type_):
        key = self.tmp / f"example.com.{selector}.key"
        r = subprocess.run([str(self.signet), "keygen", "-d", "example.com", "-s", selector,
                            "-t", type_, "-k", str(key), "--format", "txt"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, (r.returncode, r.stderr)
        value = r.stdout.decode().strip()
        assert value.startswith("v=DKIM1"), value
        self.keys[selector] = key
        self.records[f"{selector}._domainkey.example.com"] = value
        return value

    def keys_file(self):
        p = self.tmp / "keys.txt"
        p.write_text("".join(f"{n} {v}\n" for n, v in self.records.items()))
        return p

    def dnsfunc(self, name, timeout=5):
        """dkimpy's DNS hook: our published records, nothing else."""
        n = name.decode() if isinstance(name, bytes) else name
        v = self.records.get(n.rstrip(".").lower())
        return v.encode() if v else None

    def sign(self, msg, selector="rsa", domain="example.com", algo=None):
        """`signet sign` with one of our keys (d= may be any domain: the
        key is only published under example.com)."""
        args = [str(self.signet), "sign", "-d", domain, "-s", selector, "-k",
                str(self.keys["ed" if selector == "ed" else "rsa"])]
        if algo:
            args += ["-a", algo]
        elif selector == "ed":
            args += ["-a", "ed25519-sha256"]
        r = subprocess.run(args, input=msg, capture_output=True, timeout=30)
        assert r.returncode == 0, (args, r.stderr)
        assert r.stdout.lower().startswith(b"dkim-signature:"), r.stdout[:200]
        return r.stdout

    def diagnostics(self):
        return (f"{self.postfix.diagnostics()}\n--- signetd log (last lines):\n"
                + "\n".join(self.signetd.log_text().splitlines()[-40:]))

    def deliver(self, msg, source=LOCAL, auth=None):
        """Submits over SMTP and returns (queue id, Delivered, seconds the
        SMTP transaction took)."""
        mid = re.search(rb"^Message-ID: <([^>]+)>", msg, re.M | re.I).group(1).decode()
        t = time.monotonic()
        try:
            qid = self.postfix.submit(msg, source=source, auth=auth)
        except Exception as e:
            raise AssertionError(f"SMTP submission failed: {e!r}\n{self.diagnostics()}")
        took = time.monotonic() - t
        return qid, Delivered(self.postfix.wait_delivery(mid)), took


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    require_root_and_tools(harness.SASLPASSWD2)
    signetd_bin = harness.signetd_path()
    if not harness.executable(signetd_bin):
        pytest.skip(f"signetd not built at {signetd_bin} (build it, or set SIGNETD_BIN)")
    signet = harness.signet_path()
    if not harness.executable(signet):
        pytest.skip(f"signet CLI not built at {signet} (needed for keygen/sign; set SIGNET_BIN)")
    tmp = tmp_path_factory.mktemp("signetd-world")
    tmp.chmod(0o755)
    w = World(tmp, signet, signetd_bin)
    w.keygen("rsa", "rsa")
    w.keygen("ed", "ed25519")
    zone = {n: [v] for n, v in w.records.items()}
    zone["garbage._domainkey.example.com"] = [GARBAGE_TXT]
    # DKIM-KEY-02: a garbage record and the real one at one name
    zone["multi._domainkey.example.com"] = [GARBAGE_TXT, w.records["rsa._domainkey.example.com"]]
    zone["nodata._domainkey.example.com"] = [("A", "192.0.2.1")]
    dead = harness.free_port(socket.SOCK_DGRAM)
    w.unbound = harness.Unbound({"example.com": zone},
                                forward_zones={"servfail.example.net": f"127.0.0.1@{dead}"},
                                deny_zones=["timeout.example.net"])
    try:
        w.unbound.start()
        w.signetd = harness.Signetd(
            signetd_bin, [w.unbound.forwarder()],
            [("example.com", "rsa", w.keys["rsa"]), ("example.com", "ed", w.keys["ed"])],
            local_addrs=["127.0.0.1/32"], dns_timeout=f"{DNS_TIMEOUT_S}s",
            authserv_id=AUTHSERV)
        w.signetd.start()
        w.postfix = harness.Postfix(milter=w.signetd.milter(), sasl=True)
        w.postfix.start()
        yield w
    finally:
        if w.postfix:
            w.postfix.cleanup()
        if w.signetd:
            w.signetd.cleanup()
        w.unbound.cleanup()


@pytest.fixture
def w(world):
    assert world.signetd.alive(), f"signetd died:\n{world.signetd.log_text()[-4000:]}"
    yield world
    assert world.signetd.alive(), f"signetd died during the test:\n{world.diagnostics()}"


# --------------------------------------------------------------------------
# helpers

def dkim_sigs(d):
    """The DKIM-Signature fields signetd added (above Postfix's Received)."""
    return [f for n, f in d.added if n == "dkim-signature"]


def tags(field):
    v = harness.unfold(field).split(b":", 1)[1]
    out = {}
    for part in v.split(b";"):
        if b"=" in part:
            k, val = part.split(b"=", 1)
            out[k.strip().decode()] = b"".join(val.split()).decode("latin-1")
    return out


def dkimpy_verify_all(w, message, count):
    assert dkim is not None, "python3-dkim (dkimpy) is not installed"
    d = dkim.DKIM(crlf(message))
    for i in range(count):
        ok = d.verify(idx=i, dnsfunc=w.dnsfunc)
        assert ok, f"dkimpy: signature {i} does not verify:\n{message.decode(errors='replace')}"


def our_ar(d):
    """(authserv-id, results) of the one AR signetd added; asserts it is the
    first field above Postfix's Received (AR-POS-01) and the only one."""
    ars = [f for n, f in d.added if n == "authentication-results"]
    assert len(ars) == 1, f"expected exactly one added Authentication-Results: {d.added}"
    assert d.added[0][0] == "authentication-results", \
        f"AR-POS-01: AR is not the first field: {d.added_names()}"
    return parse_ar(harness.unfold(ars[0]).split(b":", 1)[1])


def dkim_results(d):
    sid, res = our_ar(d)
    assert sid == AUTHSERV, sid
    return [r for r in res if r["method"] == "dkim"]


def one_log_line(w, qid):
    lines = w.signetd.log_lines_with(qid)
    assert len(lines) == 1, f"MILTER-CONV-10: want one log line with queue id {qid}, got " \
                            f"{lines}\n--- log:\n{w.signetd.log_text()[-3000:]}"
    return lines[0]


# --------------------------------------------------------------------------
# Signing

def test_MILTER_EOM_04_DKIM_SIGN_06_DKIM_CANON_11_local_smtp_mail_signed_rsa_and_ed25519(w):
    """MILTER-EOM-04, DKIM-SIGN-06, DKIM-SIGN-09, DKIM-CANON-11, MILTER-PFX-05,
    MILTER-PFX-07: mail from a local_addrs client comes out with an
    rsa-sha256 and an ed25519-sha256 DKIM-Signature as the topmost fields
    (above Postfix's Received); both verify with dkimpy and with
    `signet verify --keys`; everything below Postfix's Received is
    byte-identical to what the client sent."""
    mid = unique_id("local-smtp")
    # Folded header, odd spacing, trailing WSP and empty lines: canonicalization
    # must not leak into the delivered bytes.
    msg = make_message(mid, extra_headers=["X-Folded: first part,", "\tsecond  part   "],
                       body=b"Para one.  Two spaces.\n\n\tTabbed line \nLast line\n\n\n")
    qid, d, _ = w.deliver(msg, source=LOCAL)
    sigs = dkim_sigs(d)
    assert d.added_names() == ["dkim-signature", "dkim-signature"], \
        f"expected exactly two DKIM-Signature fields on top, got {d.added_names()}\n" \
        f"{d.raw.decode(errors='replace')}"
    algos = sorted(tags(s)["a"] for s in sigs)
    assert algos == ["ed25519-sha256", "rsa-sha256"], algos
    for s in sigs:
        t = tags(s)
        assert t["d"] == "example.com" and t["s"] in ("rsa", "ed"), t
        assert "l" not in t, "DKIM-SIGN-08: never l="
        assert "t" in t, "DKIM-SIGN-08: always t="
    assert d.rest == msg, "DKIM-CANON-11: message below Received changed"
    dkimpy_verify_all(w, d.message, 2)
    r = subprocess.run([str(w.signet), "verify", "--keys", str(w.keys_file()), "--json"],
                       input=d.message, capture_output=True, timeout=30)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    res = [json.loads(ln)["result"] for ln in r.stdout.decode().splitlines()
           if ln.strip()]
    assert res == ["pass", "pass"], r.stdout


def test_MILTER_PFX_01_sendmail_non_smtp_mail_signed(w):
    """MILTER-PFX-01: mail submitted with sendmail(1) (pickup + cleanup,
    non_smtpd_milters, emulated CONNECT localhost/127.0.0.1 port 0) is
    signed, and the signatures verify."""
    mid = unique_id("sendmail")
    msg = make_message(mid)
    w.postfix.sendmail(msg)
    try:
        d = Delivered(w.postfix.wait_delivery(mid))
    except AssertionError as e:
        raise AssertionError(f"{e}\n{w.diagnostics()}")
    assert d.added_names() == ["dkim-signature", "dkim-signature"], d.raw
    assert d.rest == msg
    dkimpy_verify_all(w, d.message, 2)


def test_MILTER_PFX_08_defaults_keep_signed_8bit_body_and_headers(w):
    """MILTER-PFX-08: milter_header_checks, MIME output conversion and content
    filters after signing can break what we signed. With Postfix's defaults
    (no milter_header_checks, no content_filter; MIME conversion only happens
    when relaying to a server without 8BITMIME) an 8-bit UTF-8 body and a
    header line of 130 characters arrive byte for byte and both signatures
    verify."""
    pc = {}
    for name in ("milter_header_checks", "content_filter", "header_checks", "body_checks"):
        r = subprocess.run([harness.POSTCONF, "-c", str(w.postfix.etc), "-h", name],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        pc[name] = r.stdout.strip()
    assert pc == {"milter_header_checks": "", "content_filter": "", "header_checks": "",
                  "body_checks": ""}, pc
    mid = unique_id("8bit")
    subject = "Ein sehr langer Betreff, " + "der gefaltet wird " * 6
    msg = make_message(mid, extra_headers=["Content-Type: text/plain; charset=utf-8",
                                           "Content-Transfer-Encoding: 8bit",
                                           "X-Long: " + subject],
                       body="Grüße aus Köln — naïve café, 日本語のテキスト.\n".encode() * 40)
    _, d, _ = w.deliver(msg, source=LOCAL)
    assert d.added_names() == ["dkim-signature", "dkim-signature"], d.raw
    assert d.rest == msg, "the message below Received changed in transit"
    dkimpy_verify_all(w, d.message, 2)


def test_huge_header_field_through_postfix_signed_and_delivered(w):
    """A 90 KB folded header field (Postfix's header_size_limit is 102400):
    the mail is delivered, signed, and both signatures verify; the signed
    fields are untouched whatever Postfix does with the big one."""
    mid = unique_id("huge-header")
    val = "\n\t".join(["x" * 70] * 1250)
    msg = make_message(mid, extra_headers=["X-Big: " + val])
    _, d, _ = w.deliver(msg, source=LOCAL)
    assert d.added_names() == ["dkim-signature", "dkim-signature"], d.added_names()
    dkimpy_verify_all(w, d.message, 2)


def test_sign_authenticated_MILTER_CONV_09_sasl_client_from_outside_is_signed(w):
    """MILTER-CONV-09 (DESIGN: sign_authenticated): a client outside
    local_addrs that logged in with SMTP AUTH ({auth_authen} sent at MAIL,
    read at EOM) gets its mail signed, not verified."""
    mid = unique_id("auth")
    msg = make_message(mid)
    _, d, _ = w.deliver(msg, source=OUTSIDE, auth=(harness.SASL_USER, harness.SASL_PASSWORD))
    assert b"ESMTPA" in d.received
    assert d.added_names() == ["dkim-signature", "dkim-signature"], d.raw
    dkimpy_verify_all(w, d.message, 2)


def test_MILTER_CONV_10_one_log_line_per_signed_message(w):
    """MILTER-CONV-10, MILTER-ERR-02 (DESIGN: logging): one log line per
    message with the queue id (fetched at EOM), d=, s=, the result and
    milliseconds."""
    mid = unique_id("log-sign")
    qid, d, _ = w.deliver(make_message(mid), source=LOCAL)
    assert qid
    line = one_log_line(w, qid)
    assert "d=example.com" in line, line
    assert re.search(r"\bs=(rsa|ed)\b", line), line
    assert re.search(r"\d+(\.\d+)?\s*ms\b", line), line


def test_MILTER_CONV_10_one_log_line_per_verified_message(w):
    """MILTER-CONV-10: a verified message also gets exactly one line with its
    queue id, d=, s=, the result word and milliseconds."""
    mid = unique_id("log-verify")
    signed = w.sign(make_message(mid), selector="rsa")
    qid, d, _ = w.deliver(signed, source=OUTSIDE)
    line = one_log_line(w, qid)
    assert "d=example.com" in line and re.search(r"\bs=rsa\b", line), line
    assert re.search(r"\bpass\b", line), line
    assert re.search(r"\d+(\.\d+)?\s*ms\b", line), line


def test_MILTER_PFX_06_one_mib_body_signed_across_chunks(w):
    """MILTER-PFX-06, MILTER-CONV-08, MILTER-WIRE-02: a 1 MiB body reaches
    signetd in 65535-byte BODY chunks with CRLF line ends (chunk borders
    mid-line); the signatures over it verify and the body is delivered
    unchanged."""
    mid = unique_id("big")
    line = b"0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;\n"
    body = line * (1024 * 1024 // len(line) + 1)
    msg = make_message(mid, body=body)
    _, d, _ = w.deliver(msg, source=LOCAL)
    assert d.added_names() == ["dkim-signature", "dkim-signature"], d.added_names()
    assert d.rest == msg
    dkimpy_verify_all(w, d.message, 2)


def test_MILTER_NEG_03_header_spacing_variants_signed_and_kept(w):
    """MILTER-NEG-03, MILTER-CONV-06, MILTER-CONV-07: fields written as
    `Subject:x`, `X-A:  two spaces`, `X-B:\ttab`, an empty value and a
    folded value are signed, verify downstream, and are delivered byte for
    byte (signetd never rewrites them)."""
    mid = unique_id("spacing")
    msg = make_message(mid, subject="ignored", extra_headers=[
        "X-A:  two spaces", "X-B:\ttab", "X-Empty:", "X-Fold: a", " \tb", "Subject:x"])
    msg = msg.replace(b"Subject: ignored\n", b"")
    _, d, _ = w.deliver(msg, source=LOCAL)
    assert d.added_names() == ["dkim-signature", "dkim-signature"], d.added_names()
    assert d.rest == msg
    dkimpy_verify_all(w, d.message, 2)


def test_MILTER_CONV_01_several_messages_and_rset_on_one_connection(w):
    """MILTER-CONV-01, MILTER-PFX-09: on one SMTP connection (one milter
    connection): a local message, a transaction abandoned with RSET after
    RCPT (milter ABORT), then two more messages; each delivered message is
    signed exactly once and verifies (no state leaks between messages)."""
    mids = [unique_id(f"conn-{i}") for i in range(3)]
    s = w.postfix.session(source=LOCAL)
    try:
        w.postfix.send_on(s, make_message(mids[0]))
        code, _ = s.mail("sender@example.com")
        assert code == 250
        code, _ = s.rcpt("user@dest.test")
        assert code == 250
        code, _ = s.rset()
        assert code == 250
        w.postfix.send_on(s, make_message(mids[1], subject="second"))
        w.postfix.send_on(s, make_message(mids[2], subject="third", body=b""))
        s.quit()
    finally:
        s.close()
    for mid in mids:
        d = Delivered(w.postfix.wait_delivery(mid))
        assert d.added_names() == ["dkim-signature", "dkim-signature"], (mid, d.added_names())
        dkimpy_verify_all(w, d.message, 2)


# --------------------------------------------------------------------------
# Verification

def test_AR_SYN_02_outside_unsigned_mail_gets_dkim_none(w):
    """AR-SYN-02, AR-POS-01, MILTER-NEG-06: unsigned mail from outside gets
    `Authentication-Results: mx.signet.test; dkim=none` as the first field,
    and is not signed."""
    mid = unique_id("unsigned")
    msg = make_message(mid)
    _, d, _ = w.deliver(msg, source=OUTSIDE)
    assert "dkim-signature" not in d.added_names(), "outside mail must not be signed"
    res = dkim_results(d)
    assert [r["result"] for r in res] == ["none"], res
    assert d.rest == msg


@pytest.mark.parametrize("selector,algo", [("rsa", "rsa-sha256"), ("ed", "ed25519-sha256")])
def test_AR_DKIM_04_outside_signed_mail_passes(w, selector, algo):
    """AR-DKIM-02, AR-DKIM-04, DKIM-KEY-01 (the RSA record is split into
    255-octet strings): mail signed with `signet sign` and the published
    key gets dkim=pass with header.d, header.s and header.b (the first 8+
    characters of b=); the message itself is delivered unchanged."""
    mid = unique_id(f"pass-{selector}")
    signed = w.sign(make_message(mid), selector=selector)
    _, d, _ = w.deliver(signed, source=OUTSIDE)
    res = dkim_results(d)
    assert [r["result"] for r in res] == ["pass"], res
    p = res[0]["props"]
    sig = tags(harness.fields(signed)[0][0][1])
    assert p.get("header.d") == "example.com", p
    assert p.get("header.s") == selector, p
    assert "header.b" in p and len(p["header.b"]) >= 8 and sig["b"].startswith(p["header.b"]), \
        (p, sig["b"][:20])
    if "header.a" in p:
        assert p["header.a"] == algo, p
    assert d.rest == harness.lf(signed)


def test_DKIM_VER_02_MILTER_EOM_07_tampered_mail_fails_and_is_delivered(w):
    """DKIM-VER-02, DKIM-VER-03, MILTER-EOM-07, DKIM-VER-10: a signed
    message altered after signing (body, then Subject) gets dkim=fail and
    is still delivered."""
    mid = unique_id("tampered-body")
    signed = w.sign(make_message(mid), selector="rsa")
    _, d, _ = w.deliver(signed.replace(b"this is a test", b"this is a TEST"), source=OUTSIDE)
    assert [r["result"] for r in dkim_results(d)] == ["fail"], dkim_results(d)
    mid = unique_id("tampered-subject")
    signed = w.sign(make_message(mid), selector="ed")
    _, d, _ = w.deliver(signed.replace(b"Subject: signet", b"Subject: Signet"), source=OUTSIDE)
    assert [r["result"] for r in dkim_results(d)] == ["fail"], dkim_results(d)


def test_AR_DEL_01_02_03_forged_ar_removed_foreign_kept(w):
    """AR-DEL-01, AR-DEL-02, AR-DEL-03, AR-DEL-04, AR-POS-01, MILTER-EOM-02: incoming
    Authentication-Results claiming our authserv-id (any case, with leading
    CFWS, followed by a comment, a version or `;` directly, or as a
    quoted-string) are removed; ones with another id, or a look-alike id,
    and an ARC-Authentication-Results with our id are kept byte for byte;
    ours is the first field."""
    forged = [
        "Authentication-Results: mx.signet.test; dkim=pass header.d=example.com",
        "Authentication-Results: MX.Signet.TEST (x) 1; dkim=pass",
        "Authentication-Results:   mx.signet.test ; dkim=pass",
        "Authentication-Results: (leading comment) mx.signet.test;dkim=pass",
        "Authentication-Results: mx.signet.test 1; dkim=pass",
        'Authentication-Results: "mx.signet.test"; dkim=pass',
    ]
    kept = [
        "Authentication-Results: other.example.net; dkim=pass header.d=example.com",
        "Authentication-Results: mx.signet.test.evil.test; dkim=pass",
        "Authentication-Results: xmx.signet.test; dkim=pass",
    ]
    # interleave so removal has to pick indices in the middle
    extra = [forged[0], kept[0], forged[1], forged[2], kept[1], forged[3], forged[4],
             kept[2], forged[5]]
    # AR-DEL-04: an ARC-Authentication-Results with our id is ARC-signed: kept
    aar = "ARC-Authentication-Results: i=1; mx.signet.test; dkim=pass header.d=example.com"
    extra.insert(3, aar)
    mid = unique_id("forged-ar")
    msg = make_message(mid, extra_headers=extra)
    _, d, _ = w.deliver(msg, source=OUTSIDE)
    assert [r["result"] for r in dkim_results(d)] == ["none"]
    below = [harness.unfold(f).decode() for n, f in harness.fields(d.rest)[0]
             if n == "authentication-results"]
    left_forged = [f for f in forged if f in below]
    assert not left_forged, f"AR-DEL-01/03: forged AR not removed: {left_forged}"
    assert below == kept, f"AR-DEL-02: foreign/look-alike AR changed or lost: {below}"
    # nothing else changed below Received
    assert aar.encode() + b"\n" in d.rest, "AR-DEL-04: ARC-Authentication-Results removed"
    expect = make_message(mid, extra_headers=[x for x in extra if x in kept or x == aar])
    assert d.rest == expect


# --------------------------------------------------------------------------
# DNS faults (DKIM-KEY-11, AR-DKIM-02)

def signed_for(w, domain, selector, tag):
    mid = unique_id(tag)
    msg = make_message(mid, from_addr=f"user@{domain}")
    return w.sign(msg, selector=selector, domain=domain, algo="rsa-sha256")


def test_DKIM_KEY_11_nxdomain_is_permerror(w):
    """DKIM-KEY-11, AR-DKIM-02: no record at s._domainkey.d (NXDOMAIN from
    a static zone) → dkim=permerror; delivered."""
    _, d, _ = w.deliver(signed_for(w, "example.com", "nx", "nxdomain"), source=OUTSIDE)
    res = dkim_results(d)
    assert [r["result"] for r in res] == ["permerror"], res


def test_DKIM_KEY_11_nodata_is_permerror(w):
    """DKIM-KEY-11: the name exists but has no TXT (NODATA) → permerror."""
    _, d, _ = w.deliver(signed_for(w, "example.com", "nodata", "nodata"), source=OUTSIDE)
    assert [r["result"] for r in dkim_results(d)] == ["permerror"], dkim_results(d)


def test_DKIM_KEY_11_servfail_is_temperror(w):
    """DKIM-KEY-11, AR-DKIM-02, MILTER-ERR-01: SERVFAIL (unbound's forwarder
    for servfail.example.net is a dead port) → dkim=temperror; delivered."""
    _, d, _ = w.deliver(signed_for(w, "servfail.example.net", "sel", "servfail"), source=OUTSIDE)
    res = dkim_results(d)
    assert [r["result"] for r in res] == ["temperror"], res
    assert res[0]["props"].get("header.d") == "servfail.example.net", res


def test_DKIM_KEY_11_MILTER_CONV_03_dns_timeout_is_temperror_within_timeout(w):
    """DKIM-KEY-11, MILTER-CONV-03, MILTER-ERR-01: a key lookup nobody
    answers (unbound drops timeout.example.net queries) → dkim=temperror, and the
    SMTP transaction ends within dns.timeout (2 s) plus a margin. The margin
    is wide (8 s) because the machine may be loaded (ASan, parallel work):
    what it must catch is a lookup without a timeout, which would hold the
    message until Postfix's milter_content_timeout (300 s)."""
    _, d, took = w.deliver(signed_for(w, "timeout.example.net", "sel", "timeout"), source=OUTSIDE)
    res = dkim_results(d)
    assert [r["result"] for r in res] == ["temperror"], res
    assert took < DNS_TIMEOUT_S + 8.0, f"took {took:.2f}s with dns.timeout={DNS_TIMEOUT_S}s"


def test_DKIM_KEY_11_garbage_txt_is_permerror(w):
    """DKIM-KEY-04, DKIM-VER-13, AR-DKIM-02: a TXT record that is not a
    usable key (p= not base64) → dkim=permerror; delivered."""
    _, d, _ = w.deliver(signed_for(w, "example.com", "garbage", "garbage"), source=OUTSIDE)
    assert [r["result"] for r in dkim_results(d)] == ["permerror"], dkim_results(d)


def test_DKIM_KEY_02_several_txt_records_first_usable_key_wins(w):
    """DKIM-KEY-02: two TXT RRs at the key name, one garbage and one the
    real key → pass (we use the first one that parses as a key)."""
    mid = unique_id("multi")
    signed = w.sign(make_message(mid), selector="multi", algo="rsa-sha256")
    _, d, _ = w.deliver(signed, source=OUTSIDE)
    assert [r["result"] for r in dkim_results(d)] == ["pass"], dkim_results(d)


# --------------------------------------------------------------------------
# Last in this module: signetd survived everything and stops cleanly.

def test_signetd_clean_shutdown_after_all_tests(world):
    """(DESIGN: signetd) After every test above: signetd is still running,
    no sanitizer report is in its log, and SIGTERM ends it with status 0."""
    assert world.signetd.alive(), f"signetd died:\n{world.signetd.log_text()[-4000:]}"
    # let Postfix close its milter connections first
    world.postfix.stop()
    status = world.signetd.stop()
    log = world.signetd.log_text()
    assert not world.signetd.sanitizer_reports(), f"sanitizer report:\n{log[-6000:]}"
    assert status == 0, f"signetd exit status {status} after SIGTERM:\n{log[-4000:]}"
