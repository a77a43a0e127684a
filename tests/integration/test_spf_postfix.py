# test_spf_postfix.py: SPF (RFC 7208) in signetd (issue #13), through a real
# Postfix with signetd as its milter and a real unbound serving the SPF
# records (TXT, A, MX). Outside clients connect from 127.0.0.3 (signetd's
# local_addrs is 127.0.0.1/32, see harness.Postfix), so 127.0.0.3 is the
# address every check is about. Each test reads the Authentication-Results
# signetd added (spf=<result> smtp.mailfrom= / smtp.helo=, RFC 7208 9.2,
# SPF-RES-02) and the one log line per message.
# Environment: SIGNET_BIN (signet CLI, for keygen), SIGNETD_BIN.
import contextlib
import os
import re
import subprocess
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, make_message, parse_ar, unique_id  # noqa: E402

AUTHSERV = "mx.signet.test"
LOCAL = "127.0.0.1"
OUTSIDE = "127.0.0.3"
DNS_TIMEOUT_S = 2
# Wide margin over dns.timeout for a loaded machine (ASan, parallel work):
# what must be caught is a check without a bound, which would hold the
# message until Postfix's milter_content_timeout (300 s).
MARGIN_S = 8.0
HELO = "client.signet.test"  # harness.Postfix.submit's EHLO name

ZONE = {
    "pass.example.org": ["v=spf1 ip4:127.0.0.3 -all"],
    "fail.example.org": ["v=spf1 ip4:192.0.2.1 -all"],
    "soft.example.org": ["v=spf1 ip4:192.0.2.1 ~all"],
    # mx: the MX lookup, then the A of its exchange (typed lookups)
    "mx.example.org": ["v=spf1 mx -all", ("MX", "10 mail.example.org.")],
    "mail.example.org": [("A", "127.0.0.3")],
    # include + a: several levels of typed lookups
    "inc.example.org": ["v=spf1 include:a.example.org -all"],
    "a.example.org": ["v=spf1 a:host.example.org -all"],
    "host.example.org": [("A", "192.0.2.9"), ("A", "127.0.0.3")],
    # RFC 7208 4.6.4: 10 and 11 terms that query DNS (each name exists: no
    # void lookups), none matching 127.0.0.3
    "ten.example.org": ["v=spf1 " + " ".join(f"a:h{i}.example.org" for i in range(10))
                        + " -all"],
    "toomany.example.org": ["v=spf1 " + " ".join(f"a:h{i}.example.org" for i in range(11))
                            + " -all"],
    # the HELO name of the null-sender test
    "relay.example.org": ["v=spf1 ip4:127.0.0.3 -all"],
    # hostile: 1,000 a terms (one record, under SIGNET_SPF_MAX_RECORD) ...
    "thousand.example.org": ["v=spf1 " + "a " * 1000 + "-all", ("A", "192.0.2.1")],
    # ... and a TXT record of 12,000 bytes (over SIGNET_SPF_MAX_RECORD 4096)
    "huge.example.org": ["v=spf1 " + "ip4:192.0.2.1 " * 856 + "-all"],
}
for _i in range(11):
    ZONE[f"h{_i}.example.org"] = [("A", f"192.0.2.{_i + 10}")]


class World(harness.Mta):
    def send(self, sender, helo=HELO, source=OUTSIDE, auth=None, from_addr="user@example.com"):
        """One message over SMTP; returns (queue id, Delivered, seconds the
        SMTP transaction took)."""
        mid = unique_id("spf")
        code, text, took = self.transact(make_message(mid, from_addr=from_addr), sender,
                                         helo=helo, source=source, auth=auth)
        assert code == 250, (code, text)
        qid = re.search(r"queued as ([0-9A-Za-z]+)", text).group(1)
        return qid, Delivered(self.postfix.wait_delivery(mid)), took


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    why = harness.world_unavailable(sasl=True)
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("signetd-spf")
    tmp.chmod(0o755)
    key = tmp / "example.com.ed.key"
    harness.keygen(key, "example.com", "ed")
    with contextlib.ExitStack() as stack:
        ub = harness.started(stack, harness.Unbound({"example.org": ZONE},
                                                    deny_zones=["slow.example.net"]))
        yield harness.started(stack, World([ub.forwarder()], [("example.com", "ed", key)],
                                           sasl=True, local_addrs=["127.0.0.1/32"],
                                           dns_timeout=f"{DNS_TIMEOUT_S}s",
                                           authserv_id=AUTHSERV))


@pytest.fixture
def w(world):
    world.check_before()
    yield world
    world.check_after()


def our_ar(d):
    ars = [f for n, f in d.added if n == "authentication-results"]
    assert len(ars) == 1, f"AR-POS-02: want one Authentication-Results from us: {d.added}"
    sid, res = parse_ar(harness.unfold(ars[0]).split(b":", 1)[1])
    assert sid == AUTHSERV, sid
    return res


def spf(d):
    """{identity: (result, value, reason)} of our spf= results."""
    out = {}
    for r in our_ar(d):
        if r["method"] != "spf":
            continue
        ((ptype, value),) = r["props"].items()
        out[ptype] = (r["result"], value, r["reason"])
    return out


# --------------------------------------------------------------------------

@pytest.mark.parametrize("domain,want", [("pass.example.org", "pass"),
                                         ("fail.example.org", "fail"),
                                         ("soft.example.org", "softfail"),
                                         ("mx.example.org", "pass"),
                                         ("inc.example.org", "pass")])
def test_SPF_RES_02_mailfrom_result_in_ar_and_log(w, domain, want):
    """SPF-RES-01/02 (RFC 7208 2.6, 9.2): an authorized client (ip4, mx with
    its exchange's A, include + a) passes, an unauthorized one fails (-all)
    or softfails (~all); Authentication-Results says
    `spf=<result> smtp.mailfrom=<addr>` (and `smtp.helo=` for the HELO,
    which has no record: none), after dkim=none in the same field; the one
    log line per message carries spf=<result>; mail is delivered."""
    sender = f"alice@{domain}"
    qid, d, _ = w.send(sender)
    got = spf(d)
    assert got["smtp.mailfrom"][:2] == (want, sender), got
    assert got["smtp.helo"][:2] == ("none", HELO), got
    assert [r["method"] for r in our_ar(d)] == ["dkim", "spf", "spf", "arc"], our_ar(d)
    line = w.log_line(qid)
    assert f"spf={want} smtp.mailfrom={sender}" in line, line
    assert "dkim-signature" not in d.added_names()


def test_SPF_LIM_01_too_many_lookups_is_permerror(w):
    """SPF-LIM-01 (RFC 7208 4.6.4): a record with 10 DNS-querying terms is
    evaluated to its end (-all: fail); with 11 it is permerror, with the
    reason written."""
    _, d, _ = w.send("bob@ten.example.org")
    assert spf(d)["smtp.mailfrom"][:2] == ("fail", "bob@ten.example.org"), spf(d)
    qid, d, _ = w.send("bob@toomany.example.org")
    res, value, reason = spf(d)["smtp.mailfrom"]
    assert (res, value) == ("permerror", "bob@toomany.example.org"), spf(d)
    assert reason and "10" in reason, reason
    assert "spf=permerror" in w.log_line(qid)


def test_SPF_LIM_04_dns_timeout_is_temperror_within_the_timeout(w):
    """SPF-LIM-04, MILTER-CONV-03: the SPF record lookup nobody answers
    (unbound drops slow.example.net) gives spf=temperror, and the SMTP
    transaction ends within dns.timeout plus a margin: Postfix is not
    stalled, the message is delivered."""
    qid, d, took = w.send("carol@slow.example.net")
    assert spf(d)["smtp.mailfrom"][:2] == ("temperror", "carol@slow.example.net"), spf(d)
    assert took < DNS_TIMEOUT_S + MARGIN_S, f"took {took:.2f}s with dns.timeout={DNS_TIMEOUT_S}s"
    assert "spf=temperror" in w.log_line(qid)


def test_SPF_RFC7208_2_4_null_sender_checked_as_postmaster_at_helo(w):
    """RFC 7208 2.4: with MAIL FROM:<> the MAIL FROM identity is
    postmaster@<HELO name>; the HELO check (2.3) of that name passes too."""
    _, d, _ = w.send("", helo="relay.example.org")
    got = spf(d)
    assert got["smtp.mailfrom"][:2] == ("pass", "postmaster@relay.example.org"), got
    assert got["smtp.helo"][:2] == ("pass", "relay.example.org"), got


def test_SPF_local_and_authenticated_mail_not_checked(w):
    """Issue #13: mail from a local_addrs client or an SMTP AUTH client
    from outside is ours to sign, not to SPF-check: no spf= in what is
    added or logged, although the sender's record would fail it. (The
    envelope domain differs from From: example.com, so signetd does not
    sign it either, allow_hdrfrom_mismatch; it verifies: dkim=none.) With
    the envelope in From's domain the same clients are signed."""
    for kw in ({"source": LOCAL},
               {"source": OUTSIDE, "auth": (harness.SASL_USER, harness.SASL_PASSWORD)}):
        qid, d, _ = w.send("alice@fail.example.org", **kw)
        assert [r["method"] for r in our_ar(d)] == ["dkim", "arc"], (kw, our_ar(d))
        line = w.log_line(qid)
        assert "spf=" not in line, line
        qid, d, _ = w.send("alice@example.com", **kw)
        assert d.added_names() == ["dkim-signature"], (kw, d.added_names())
        assert "spf=" not in w.log_line(qid)


@pytest.mark.parametrize("domain", ["thousand.example.org", "huge.example.org"])
def test_SPF_LIM_hostile_records_give_a_result_with_bounded_work(w, domain):
    """Bad input at the daemon level: a record with 1,000 `a` terms stops at
    the 11th DNS-querying term (SPF-LIM-01); a 12,000-byte TXT record is
    over SIGNET_SPF_MAX_RECORD (4096). Both are permerror, quickly, and
    signetd stays up (the fixture checks it and its sanitizer output)."""
    qid, d, took = w.send(f"eve@{domain}")
    assert spf(d)["smtp.mailfrom"][0] == "permerror", spf(d)
    assert took < MARGIN_S, f"took {took:.2f}s"
    assert "spf=permerror" in w.log_line(qid)


def test_SPF_config_signetd_t_and_dump_config(tmp_path):
    """DESIGN.md "signetd config additions": `spf { enabled; helo; }` is
    checked by `signetd -t` (a non-boolean and an unknown key are refused
    with file:line:col) and printed by --dump-config, defaults included."""
    signetd_bin = harness.signetd_path()
    if not harness.executable(signetd_bin):
        pytest.skip(f"signetd not built at {signetd_bin} (build it, or set SIGNETD_BIN)")
    cases = [("", 0, None), ("spf { helo = false; }\n", 0, None),
             ('spf { enabled = "no"; }\n', 78, "spf.enabled must be a boolean"),
             ("spf { mfrom = true; }\n", 78, "unknown key 'mfrom' in spf")]
    for extra, want_rc, want_text in cases:
        sd = harness.Signetd(signetd_bin, ["127.0.0.1@53"], [], extra=extra)
        try:
            rc, out = sd.check_config()
            assert rc == want_rc, (extra, rc, out)
            if want_text:
                assert want_text in out and f"{sd.conf}:" in out, out
            else:
                r = subprocess.run([str(signetd_bin), "--dump-config", "-c", str(sd.conf)],
                                   capture_output=True, timeout=30)
                want = "spf { enabled = true; helo = %s; }" % ("false" if extra else "true")
                assert want in r.stdout.decode(), r.stdout.decode()
        finally:
            sd.cleanup()
