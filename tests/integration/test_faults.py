# test_faults.py: a real signetd whose signing fails, and a real signetd that
# stops answering, seen over the milter wire and through a real Postfix 3.7.
#
# Signing failure (MILTER-ERR-01): no configuration makes a loaded key fail
# to sign, so signetd runs with tests/fault/sign_fault.c preloaded
# (<builddir>/tests/sign_fault.so), which makes OpenSSL's EVP_PKEY_sign (RSA)
# and EVP_DigestSign (Ed25519) fail while SIGNET_FAULT_SIGN is set ("all" or
# "every=N"). With on_error.sign = tempfail the message must be refused with
# 451 4.7.0 and not delivered; with accept it goes on unsigned; both are
# logged. The same preloaded daemon without SIGNET_FAULT_SIGN signs.
#
# Stalled milter (MILTER-PFX-03): signetd stopped with SIGSTOP (the process is
# there, its listening socket still completes TCP handshakes, nothing
# answers); Postfix's milter timeouts lowered to 3 s; milter_default_action
# decides: tempfail -> 4xx to the client, nothing queued; accept -> delivered
# unsigned. After SIGCONT a new SMTP session is signed again.
#
# The build is found as in harness.py: SIGNETD_BIN / SIGNET_BIN, else
# <repo>/build (scripts/test.sh sets both for `build` and `build-asan`).
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, crlf, make_message, unique_id  # noqa: E402
# The MTA side of the milter protocol, as test_milter_wire.py speaks it.
from test_milter_wire import BODY, HEADERS, Milter, assemble, header_mods  # noqa: E402

try:
    import dkim  # dkimpy (Debian python3-dkim)
except ImportError:  # pragma: no cover - reported by the tests that need it
    dkim = None

LOCAL = "127.0.0.1"
OUTSIDE = "127.0.0.3"
WIRE_QID = "Q1234"  # the `i` macro Milter.message sends
TEMPFAIL_REPLY = b"451 4.7.0 DKIM signing failed, try again later\0"
FAULT_REASON = "(OpenSSL: fault injected by sign_fault.so (SIGNET_FAULT_SIGN))"
DEFERRED = "message deferred (on_error.sign = tempfail)"
ACCEPTED = "message accepted unsigned (on_error.sign = accept)"
# Postfix's milter timeouts for the stall tests (postconf(5): connect covers
# the TCP connect, command the negotiation and MAIL..., content header to EOM).
STALL_TIMEOUTS = {"milter_connect_timeout": "3s", "milter_command_timeout": "3s",
                  "milter_content_timeout": "3s"}


def build_dir():
    return harness.signetd_path().resolve().parent.parent


def shim_path():
    return build_dir() / "tests" / "sign_fault.so"


def fault_env(spec):
    """signetd's extra environment: the shim preloaded, failing per spec
    (None: preloaded but passing every call through)."""
    # In the ASan build libasan must be first in the initial library list
    # and ASan refuses to start when a preloaded library comes before it;
    # the check is only about link order (the shim is built with the same
    # sanitizer), so turn it off. The option means nothing without ASan.
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": str(shim_path()), "SIGNET_FAULT_SIGN": spec or "",
            "ASAN_OPTIONS": f"{asan}:verify_asan_link_order=0" if asan
            else "verify_asan_link_order=0"}


def require_binaries():
    signet, signetd = harness.signet_path(), harness.signetd_path()
    missing = harness.missing_tools(signet, signetd)
    if missing:
        pytest.skip(f"signet or signetd not built: {missing} (build, or set SIGNET_BIN)")
    if not shim_path().is_file():
        pytest.skip(f"fault shim not built at {shim_path()} (meson -Dtests=true builds it, "
                    "tests/meson.build)")
    return signet, signetd


def require_postfix():
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.POSTQUEUE,
                                    harness.SASLPASSWD2)
    if missing:
        pytest.skip(f"Postfix tools missing: {', '.join(missing)} (scripts/deps.sh)")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")


class Keys:
    """An RSA and an Ed25519 key for example.com and their key records."""

    def __init__(self, signet, d):
        self.dir = d
        self.files, self.records = {}, {}
        for sel, type_ in (("rsa", "rsa"), ("ed", "ed25519")):
            key = d / f"{sel}.key"
            r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", sel, "-t",
                                type_, "-k", str(key), "--format", "txt"],
                               capture_output=True, timeout=60)
            assert r.returncode == 0, r.stderr
            self.files[sel] = key
            self.records[f"{sel}._domainkey.example.com"] = r.stdout.decode().strip()

    def selectors(self, *sels):
        return [("example.com", s, self.files[s]) for s in sels]

    def dnsfunc(self, name, timeout=5):
        """dkimpy's DNS hook: our two records, nothing else."""
        n = name.decode() if isinstance(name, bytes) else name
        v = self.records.get(n.rstrip(".").lower())
        return v.encode() if v else None

    def verify(self, message, count):
        """Every one of `count` DKIM-Signatures in message verifies (dkimpy)."""
        assert dkim is not None, "python3-dkim (dkimpy) is not installed"
        d = dkim.DKIM(crlf(message))
        for i in range(count):
            assert d.verify(idx=i, dnsfunc=self.dnsfunc), \
                f"dkimpy: signature {i} does not verify:\n{message.decode(errors='replace')}"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    signet, _ = require_binaries()
    d = tmp_path_factory.mktemp("faults")
    d.chmod(0o755)
    return Keys(signet, d)


class Daemons:
    """Starts harness.Signetd instances; at teardown each one is resumed
    (SIGCONT, in case a test stopped it), stopped with SIGTERM and must exit
    0 with no sanitizer report in its log."""

    def __init__(self, keys):
        self.keys = keys
        self.started = []

    def start(self, sels=("rsa",), on_error_sign="tempfail", env=None):
        sd = harness.Signetd(harness.signetd_path(), ["127.0.0.1@9"],
                             self.keys.selectors(*sels), local_addrs=["127.0.0.1/32"],
                             on_error_sign=on_error_sign, env=env)
        self.started.append(sd)
        sd.start()
        return sd

    def close(self):
        problems = []
        for sd in self.started:
            if sd.proc is None:  # start() failed before the process existed
                sd.cleanup()
                continue
            if sd.proc.poll() is None:
                os.kill(sd.proc.pid, signal.SIGCONT)
            rc = sd.stop()
            text = sd.log_text()
            if rc != 0 or sd.sanitizer_reports():
                problems.append(f"signetd exit status {rc}, log:\n{text[-3000:]}")
            sd.cleanup()
        assert not problems, "\n".join(problems)


@pytest.fixture
def daemons(keys):
    d = Daemons(keys)
    try:
        yield d
    finally:
        d.close()


def wire(sd):
    """A negotiated milter connection to signetd, Postfix's offer."""
    m = Milter(socket.create_connection(("127.0.0.1", sd.port), timeout=10))
    m.negotiate()
    return m


def local_message(m):
    return m.message(HEADERS, BODY, client=("localhost", LOCAL))


def message_id(msg):
    return re.search(rb"^Message-ID: <([^>]+)>", msg, re.M).group(1).decode()


def log_lines(sd, needle, count):
    lines = sd.log_lines_with(needle, count=count)
    assert len(lines) == count, f"want {count} log lines with {needle!r}, got {lines}\n" \
                                f"--- log:\n{sd.log_text()[-3000:]}"
    return lines


# --------------------------------------------------------------------------
# MILTER-ERR-01 over the milter wire

@pytest.mark.parametrize("sel,what", [("rsa", "RSA signing failed"),
                                      ("ed", "Ed25519 signing failed")])
def test_MILTER_ERR_01_signing_failure_tempfail_on_the_wire(daemons, sel, what):
    """MILTER-ERR-01: on_error.sign = tempfail (the default)
    and the OpenSSL signing call failing (RSA: EVP_PKEY_sign; Ed25519:
    EVP_DigestSign): the EOM answer is the one reply-code packet
    "451 4.7.0 ...", no DKIM-Signature insert and no other modification;
    one error line with the queue id names the failure and says deferred.
    The next message on the same connection gets the same answer."""
    sd = daemons.start(sels=(sel,), env=fault_env("all"))
    m = wire(sd)
    for n in (1, 2):
        mods, verdict, data = local_message(m)
        assert (verdict, data) == (b"y", TEMPFAIL_REPLY), (verdict, data)
        assert mods == [], f"no modification may come with the tempfail: {mods}"
        line = log_lines(sd, "signing failed", n)[-1]
        assert f"{WIRE_QID}: signing failed: {what} {FAULT_REASON}; {DEFERRED}" in line, line
        assert "signetd[error]: " in line, line
    m.s.close()
    assert not sd.log_lines_with(" signed (", timeout=0), sd.log_text()


@pytest.mark.parametrize("sel,what", [("rsa", "RSA signing failed"),
                                      ("ed", "Ed25519 signing failed")])
def test_MILTER_ERR_01_signing_failure_accept_on_the_wire(daemons, sel, what):
    """MILTER-ERR-01: on_error.sign = accept and the signing call failing:
    EOM is answered with continue, no DKIM-Signature (no modification at
    all), and the error line says the message was accepted unsigned."""
    sd = daemons.start(sels=(sel,), on_error_sign="accept", env=fault_env("all"))
    m = wire(sd)
    mods, verdict, data = local_message(m)
    assert (verdict, data) == (b"c", b""), (verdict, data)
    assert mods == [], f"accepted unsigned means no DKIM-Signature: {header_mods(mods)}"
    line = log_lines(sd, "signing failed", 1)[0]
    assert f"{WIRE_QID}: signing failed: {what} {FAULT_REASON}; {ACCEPTED}" in line, line
    m.s.close()


def test_MILTER_ERR_01_shim_loaded_without_fault_signs(daemons, keys):
    """The control for the two tests above: the same daemon and config, the
    shim preloaded but SIGNET_FAULT_SIGN empty, signs with both keys (both
    interposed calls pass through to OpenSSL) and both signatures verify;
    nothing about a failure is logged."""
    sd = daemons.start(sels=("rsa", "ed"), env=fault_env(None))
    m = wire(sd)
    mods, verdict, _ = local_message(m)
    assert verdict == b"c", verdict
    hm = header_mods(mods)
    assert [(c, i, n) for c, i, n, _ in hm] == [(b"i", 0, "DKIM-Signature")] * 2, hm
    keys.verify(assemble(mods), 2)
    m.s.close()
    assert not sd.log_lines_with("signing failed", timeout=0), sd.log_text()


def test_MILTER_ERR_01_every_second_signature_fails_in_one_daemon(daemons, keys):
    """SIGNET_FAULT_SIGN=every=2 with one RSA key: on one connection the
    messages alternate signed, 451 4.7.0, signed, 451 4.7.0: the shim is
    what makes signing fail, and a failure leaves no state behind that
    stops the next message from being signed."""
    sd = daemons.start(sels=("rsa",), env=fault_env("every=2"))
    m = wire(sd)
    for n in range(4):
        mods, verdict, data = local_message(m)
        if n % 2 == 0:
            assert verdict == b"c", (n, verdict, data)
            assert [x[2] for x in header_mods(mods)] == ["DKIM-Signature"], n
            keys.verify(assemble(mods), 1)
        else:
            assert (verdict, data, mods) == (b"y", TEMPFAIL_REPLY, []), (n, verdict, mods)
    m.s.close()
    assert len(log_lines(sd, DEFERRED, 2)) == 2
    assert len(log_lines(sd, " signed (d=example.com s=rsa", 2)) == 2


# --------------------------------------------------------------------------
# Through a real Postfix

class Mta:
    """One signetd and one private Postfix (SASL on) using it as milter."""

    def __init__(self, sd, extra_main=None):
        self.sd = sd
        self.pf = harness.Postfix(milter=sd.milter(), sasl=True, extra_main=extra_main)
        self.pf.start()

    def diagnostics(self):
        return (f"{self.pf.diagnostics()}\n--- signetd log (last lines):\n"
                + "\n".join(self.sd.log_text().splitlines()[-30:]))

    def refused(self, msg, **kw):
        """Submits msg, which must be refused: the exception of the refusal."""
        try:
            qid = self.pf.submit(msg, **kw)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as e:
            return e
        raise AssertionError(f"message accepted as {qid}, want a refusal\n{self.diagnostics()}")

    def delivered(self, msg, **kw):
        mid = message_id(msg)
        try:
            qid = self.pf.submit(msg, **kw)
        except smtplib.SMTPException as e:
            raise AssertionError(f"SMTP submission failed: {e!r}\n{self.diagnostics()}")
        return qid, Delivered(self.pf.wait_delivery(mid))

    def assert_nothing_queued_or_delivered(self, *mids):
        q = self.pf.queue()
        assert "Mail queue is empty" in q, f"something was queued:\n{self.diagnostics()}"
        for f in self.pf.delivered():
            data = f.read_bytes()
            for mid in mids:
                assert mid.encode() not in data, f"{mid} was delivered:\n{data[:2000]!r}"


@pytest.fixture
def mtas(daemons):
    """Starts Mta instances for a test and stops their Postfix at teardown
    (signetd is stopped by `daemons`, after this)."""
    require_postfix()
    started = []

    def start(sd, extra_main=None):
        mta = Mta(sd, extra_main)
        started.append(mta)
        return mta
    try:
        yield start
    finally:
        for mta in started:
            mta.pf.cleanup()


def dkim_fields(d):
    return [f for n, f in harness.fields(d.message)[0] if n == "dkim-signature"]


def test_MILTER_ERR_01_signing_failure_through_postfix_tempfail(daemons, mtas):
    """MILTER-ERR-01: Postfix + signetd (on_error.sign = tempfail) whose
    signing fails: a local client (127.0.0.1) and a SASL-authenticated one
    (127.0.0.3) each get 451 4.7.0 at the end of DATA; Postfix logs the
    milter-reject, nothing is queued or delivered, signetd logs each
    deferral with the queue id. An outside unauthenticated message (verified,
    not signed) still goes through the same Postfix and signetd."""
    sd = daemons.start(sels=("rsa",), env=fault_env("all"))
    mta = mtas(sd)
    mids = []
    for source, auth in ((LOCAL, None), (OUTSIDE, (harness.SASL_USER, harness.SASL_PASSWORD))):
        mid = unique_id("err01-tempfail")
        mids.append(mid)
        e = mta.refused(make_message(mid), source=source, auth=auth)
        assert isinstance(e, smtplib.SMTPDataError), repr(e)
        want = (451, b"4.7.0 DKIM signing failed, try again later")
        assert (e.smtp_code, e.smtp_error) == want, repr(e)
        qid = mta.pf.queue_id_for(mid)
        assert qid, mta.diagnostics()
        pattern = (rf"{qid}: milter-reject: END-OF-MESSAGE from \S+: 4\.7\.0 DKIM signing "
                   r"failed, try again later;")
        assert re.search(pattern, mta.pf.wait_log(pattern)), mta.diagnostics()
        log_lines(sd, f"{qid}: signing failed: RSA signing failed {FAULT_REASON}; {DEFERRED}", 1)
    mta.assert_nothing_queued_or_delivered(*mids)
    # The same path still delivers what it does not sign.
    _, d = mta.delivered(make_message(unique_id("err01-outside")), source=OUTSIDE)
    assert d.added_names() == ["authentication-results"], d.added_names()
    mta.assert_nothing_queued_or_delivered(*mids)


def test_MILTER_ERR_01_signing_failure_through_postfix_accept(daemons, mtas):
    """MILTER-ERR-01: Postfix + signetd (on_error.sign = accept) whose
    signing fails: local and SASL-authenticated mail is accepted (250) and
    delivered without a DKIM-Signature and unchanged below Postfix's
    Received; signetd logs "accepted unsigned" with each queue id."""
    sd = daemons.start(sels=("rsa",), on_error_sign="accept", env=fault_env("all"))
    mta = mtas(sd)
    for source, auth in ((LOCAL, None), (OUTSIDE, (harness.SASL_USER, harness.SASL_PASSWORD))):
        msg = make_message(unique_id("err01-accept"))
        qid, d = mta.delivered(msg, source=source, auth=auth)
        assert d.added == [], d.added_names()
        assert dkim_fields(d) == [], d.raw
        assert d.rest == msg, d.raw
        log_lines(sd, f"{qid}: signing failed: RSA signing failed {FAULT_REASON}; {ACCEPTED}", 1)


# --------------------------------------------------------------------------
# MILTER-PFX-03: a stalled signetd and milter_default_action

def all_threads_stopped(pid):
    """True when every thread of pid is in state T (stopped by a signal)."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            states.append((task / "stat").read_text().rsplit(") ", 1)[1][:1])
        except (OSError, IndexError):
            continue  # the thread just ended
    return bool(states) and all(st == "T" for st in states)


class Stopped:
    """SIGSTOP on entry, SIGCONT on exit, whatever happens in between."""

    def __init__(self, sd):
        self.sd = sd

    def __enter__(self):
        pid = self.sd.proc.pid
        os.kill(pid, signal.SIGSTOP)
        # kill() returns before every thread has stopped; a worker still
        # running could answer Postfix's next packet. Wait until all are.
        deadline = time.monotonic() + 10
        while not all_threads_stopped(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGCONT)
                raise AssertionError(f"signetd {pid} did not stop after SIGSTOP")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        if self.sd.proc.poll() is None:
            os.kill(self.sd.proc.pid, signal.SIGCONT)
        return False


def signed_and_verified(mta, keys, tag):
    msg = make_message(unique_id(tag))
    _, d = mta.delivered(msg, source=LOCAL)
    assert len(dkim_fields(d)) == 1 and d.added_names() == ["dkim-signature"], d.added_names()
    keys.verify(d.message, 1)
    return d


def stall_mta(daemons, mtas, action):
    sd = daemons.start(sels=("rsa",))
    return mtas(sd, dict(STALL_TIMEOUTS, milter_default_action=action))


def test_MILTER_PFX_03_stalled_milter_tempfail(daemons, mtas, keys):
    """MILTER-PFX-03 with milter_default_action = tempfail and 3 s milter
    timeouts: signing works; then signetd is SIGSTOPped. A new SMTP session
    (stall during the milter negotiation) is refused with 451 4.7.1 at MAIL;
    a session opened before the stall, stalled at end of message (content
    timeout), gets 451 4.7.1 at the end of DATA; nothing is queued or
    delivered. After SIGCONT a new session is signed again and signetd
    survived the connections Postfix abandoned."""
    mta = stall_mta(daemons, mtas, "tempfail")
    signed_and_verified(mta, keys, "pfx03-before")
    s = mta.pf.session(source=LOCAL)
    try:
        assert s.mail("sender@example.com")[0] == 250
        assert s.rcpt("user@dest.test")[0] == 250
        with Stopped(mta.sd):
            mid1 = unique_id("pfx03-stalled-connect")
            e = mta.refused(make_message(mid1), source=LOCAL)
            assert isinstance(e, smtplib.SMTPSenderRefused), repr(e)
            assert (e.smtp_code, e.smtp_error) == (451, b"4.7.1 Service unavailable - try again "
                                                   b"later"), repr(e)
            mid2 = unique_id("pfx03-stalled-eom")
            code, resp = s.data(crlf(make_message(mid2)))
            assert (code, resp) == (451, b"4.7.1 Service unavailable - try again later"), \
                (code, resp, mta.diagnostics())
            mta.assert_nothing_queued_or_delivered(mid1, mid2)
    finally:
        s.close()
    log = mta.pf.wait_log("can't read SMFIC_BODYEOB reply packet header")
    assert "can't read SMFIC_OPTNEG reply packet header" in log, mta.diagnostics()
    assert "can't read SMFIC_BODYEOB reply packet header" in log, mta.diagnostics()
    assert mta.sd.alive(), mta.diagnostics()
    signed_and_verified(mta, keys, "pfx03-after")
    mta.assert_nothing_queued_or_delivered(mid1, mid2)


def test_MILTER_PFX_03_stalled_milter_accept(daemons, mtas, keys):
    """MILTER-PFX-03 with milter_default_action = accept and 3 s milter
    timeouts: while signetd is SIGSTOPped, mail from a new session (stall in
    negotiation) and from a session opened before the stall (stall at end
    of message) is accepted and delivered unsigned, unchanged below
    Postfix's Received; after SIGCONT a new session is signed again."""
    mta = stall_mta(daemons, mtas, "accept")
    signed_and_verified(mta, keys, "pfx03a-before")
    s = mta.pf.session(source=LOCAL)
    try:
        assert s.mail("sender@example.com")[0] == 250
        assert s.rcpt("user@dest.test")[0] == 250
        with Stopped(mta.sd):
            msg1 = make_message(unique_id("pfx03a-stalled-connect"))
            _, d1 = mta.delivered(msg1, source=LOCAL)
            msg2 = make_message(unique_id("pfx03a-stalled-eom"))
            code, resp = s.data(crlf(msg2))
            assert code == 250, (code, resp, mta.diagnostics())
            d2 = Delivered(mta.pf.wait_delivery(message_id(msg2)))
            for d, msg in ((d1, msg1), (d2, msg2)):
                assert d.added == [], d.added_names()
                assert d.rest == msg, d.raw
    finally:
        s.close()
    log = mta.pf.wait_log("can't read SMFIC_BODYEOB reply packet header")
    assert "can't read SMFIC_OPTNEG reply packet header" in log, mta.diagnostics()
    assert "can't read SMFIC_BODYEOB reply packet header" in log, mta.diagnostics()
    assert mta.sd.alive(), mta.diagnostics()
    signed_and_verified(mta, keys, "pfx03a-after")
