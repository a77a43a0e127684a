# test_dmarc_postfix.py: DMARC (RFC 9989) in signetd (issue #14), through a
# real Postfix with signetd as its milter and a real unbound serving the
# _dmarc policy records, the SPF records and the DKIM key. Outside clients
# connect from 127.0.0.3 (signetd's local_addrs is 127.0.0.1/32). Two
# worlds: signetd with the dmarc defaults (enforce, quarantine = "header",
# on_temperror = "accept"), and one with quarantine = "hold" and
# on_temperror = "tempfail". Each test reads what the SMTP client was
# told, the Authentication-Results signetd added (dmarc=<result> (p= sp=
# dis=) header.from=, DMARC-RES-03), Postfix's hold queue, and the one log
# line per message.
# Environment: SIGNET_BIN (signet CLI, for keygen), SIGNETD_BIN.
import contextlib
import json
import os
import re
import subprocess
import sys
import time

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, make_message, parse_ar, unique_id  # noqa: E402

AUTHSERV = "mx.signet.test"
LOCAL = "127.0.0.1"
OUTSIDE = "127.0.0.3"
DNS_TIMEOUT_S = 2
MARGIN_S = 8.0  # over dns.timeout, for a loaded machine (ASan, parallel work)

SPF_FAIL = "v=spf1 ip4:192.0.2.1 -all"
SPF_PASS = "v=spf1 ip4:127.0.0.3 -all"
ORG = {
    # author domains, each with its policy; their SPF never authorizes 127.0.0.3
    "reject.example.org": [SPF_FAIL],
    "_dmarc.reject.example.org": ["v=DMARC1; p=reject"],
    "quar.example.org": [SPF_FAIL],
    "_dmarc.quar.example.org": ["v=DMARC1; p=quarantine"],
    "none.example.org": [SPF_FAIL],
    "_dmarc.none.example.org": ["v=DMARC1; p=none"],
    # an author domain whose SPF passes for 127.0.0.3 (aligned SPF)
    "spfpass.example.org": [SPF_PASS],
    "_dmarc.spfpass.example.org": ["v=DMARC1; p=reject"],
    # the forwarder's envelope domain: SPF fails for 127.0.0.3
    "forwarder.example.org": [SPF_FAIL],
}


class World(harness.Mta):
    def send(self, from_addr, sender, **kw):
        """A message From: from_addr, accepted (250); (queue id, Delivered)."""
        mid = unique_id("dmarc")
        code, text, _ = self.transact(make_message(mid, from_addr=from_addr), sender, **kw)
        assert code == 250, (code, text, self.diagnostics())
        qid = re.search(r"queued as ([0-9A-Za-z]+)", text).group(1)
        return qid, Delivered(self.postfix.wait_delivery(mid))

    def hold_queue(self):
        """Queue ids in Postfix's hold queue (postqueue -j)."""
        r = subprocess.run([harness.POSTQUEUE, "-c", str(self.postfix.etc), "-j"],
                           capture_output=True, timeout=20)
        out = []
        for line in r.stdout.decode().splitlines():
            if line.strip():
                j = json.loads(line)
                if j.get("queue_name") == "hold":
                    out.append(j["queue_id"])
        return out


@pytest.fixture(scope="module")
def dns_and_key(tmp_path_factory):
    why = harness.world_unavailable(sasl=True)
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("signetd-dmarc")
    tmp.chmod(0o755)
    key = tmp / "example.com.ed.key"
    record = harness.keygen(key, "example.com", "ed")
    zones = {
        "example.org": ORG,
        "example.com": {"ed._domainkey.example.com": [record],
                        "_dmarc.example.com": ["v=DMARC1; p=reject"]},
        # the rest of org, net and com: NXDOMAIN here, never the Internet
        "org": {}, "net": {}, "com": {},
    }
    with contextlib.ExitStack() as stack:
        # slow.example.net: queries dropped, the resolver times out
        ub = harness.started(stack, harness.Unbound(zones, deny_zones=["slow.example.net"]))
        yield ub, key


def started_world(dns_and_key, extra):
    """A module's world on the shared unbound: signetd with dmarc on and
    extra, and its Postfix, stopped when the generator is closed."""
    ub, key = dns_and_key
    with contextlib.ExitStack() as stack:
        yield harness.started(stack, World([ub.forwarder()], [("example.com", "ed", key)],
                                           sasl=True, local_addrs=["127.0.0.1/32"],
                                           dns_timeout=f"{DNS_TIMEOUT_S}s",
                                           authserv_id=AUTHSERV, extra=extra, dmarc=True))


@pytest.fixture(scope="module")
def world(dns_and_key):
    yield from started_world(dns_and_key, "")


@pytest.fixture(scope="module")
def world_hold(dns_and_key):
    yield from started_world(dns_and_key,
                             'dmarc { quarantine = "hold"; on_temperror = "tempfail"; }\n')


@pytest.fixture
def w(world):
    world.check_before()
    yield world
    world.check_after()


@pytest.fixture
def wh(world_hold):
    world_hold.check_before()
    yield world_hold
    world_hold.check_after()


def our_ar(d):
    ars = [f for n, f in d.added if n == "authentication-results"]
    assert len(ars) == 1, f"AR-POS-02: want one Authentication-Results from us: {d.added}"
    value = harness.unfold(ars[0]).split(b":", 1)[1]
    sid, res = parse_ar(value)
    assert sid == AUTHSERV, sid
    return value.decode(), res


def dmarc(d):
    """(result, header.from, the whole unfolded AR value) of our dmarc=.
    Read with a pattern, not parse_ar: its reason="..." may hold a ';'."""
    value, _ = our_ar(d)
    m = re.findall(r";\s*dmarc=(\w+)\s.*?header\.from=([^\s;]+)", value)
    assert len(m) == 1, value
    return m[0][0], m[0][1], value


# --------------------------------------------------------------------------

def test_DMARC_ENF_01_spoofed_p_reject_is_rejected_with_550(w):
    """DMARC-ENF-01: a message From: a p=reject domain that neither DKIM
    nor SPF authenticates (SPF fails for the client, no signature) is
    refused at the end of DATA with 550 5.7.1 naming the domain and the
    policy; it is not delivered; the log line says dmarc=fail and why."""
    msg = make_message(unique_id("dmarc"), from_addr="ceo@reject.example.org")
    code, text, _ = w.transact(msg, "ceo@reject.example.org")
    assert code == 550, (code, text)
    assert text.startswith("5.7.1 Rejected by the DMARC policy of reject.example.org "
                           "(p=reject)"), text
    line = w.log_line("header.from=reject.example.org")
    assert "dmarc=fail (p=reject sp=reject dis=reject)" in line, line
    assert "message rejected (DMARC)" in line, line


def test_DMARC_RES_03_p_quarantine_header_and_p_none_delivered_with_fail(w):
    """DMARC-ENF-02, DMARC-RES-03: with quarantine = "header" (the default)
    a p=quarantine failure is delivered, marked in Authentication-Results
    (dis=quarantine) for Sieve or a spam filter; a p=none failure is
    delivered with dmarc=fail (p=none)."""
    _, d = w.send("a@quar.example.org", "a@quar.example.org")
    result, hfrom, value = dmarc(d)
    assert (result, hfrom) == ("fail", "quar.example.org"), value
    assert "(p=quarantine sp=quarantine dis=quarantine)" in value, value
    _, d = w.send("a@none.example.org", "a@none.example.org")
    result, hfrom, value = dmarc(d)
    assert (result, hfrom) == ("fail", "none.example.org"), value
    assert "(p=none sp=none dis=none)" in value, value


def test_DMARC_ENF_02_p_quarantine_hold_goes_to_the_hold_queue(wh):
    """DMARC-ENF-02: with quarantine = "hold" the p=quarantine failure is
    accepted (250) and Postfix puts it in its hold queue (the milter
    quarantine action), not delivered; a p=none failure is still
    delivered."""
    mid = unique_id("dmarc")
    code, text, _ = wh.transact(make_message(mid, from_addr="a@quar.example.org"),
                                "a@quar.example.org")
    assert code == 250, (code, text)
    qid = re.search(r"queued as ([0-9A-Za-z]+)", text).group(1)
    deadline = time.monotonic() + 10
    while qid not in wh.hold_queue() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert qid in wh.hold_queue(), wh.diagnostics()
    assert not any(mid.encode() in f.read_bytes() for f in wh.postfix.delivered())
    assert "held (dmarc.quarantine = hold)" in wh.log_line(qid)
    _, d = wh.send("a@none.example.org", "a@none.example.org")
    assert dmarc(d)[0] == "fail"


def test_DMARC_RES_01_aligned_spf_passes(w):
    """DMARC-RES-01, DMARC-ALIGN-02: SPF passing for the From domain's own
    envelope aligns: dmarc=pass although the policy is p=reject."""
    _, d = w.send("a@spfpass.example.org", "bounce@spfpass.example.org")
    result, hfrom, value = dmarc(d)
    assert (result, hfrom) == ("pass", "spfpass.example.org"), value


def test_DMARC_ALIGN_01_forwarded_mail_failing_spf_passes_by_aligned_dkim(w):
    """DMARC-ALIGN-01: a message signed by example.com (signetd signs it
    for the local client) is forwarded from outside with the forwarder's
    envelope, whose SPF fails for the client: the aligned DKIM signature
    makes dmarc=pass under example.com's p=reject, and it is delivered."""
    _, d = w.send("user@example.com", "user@example.com", source=LOCAL)
    assert d.added_names() == ["dkim-signature"], d.added_names()
    forwarded = d.message  # as the first hop delivered it: signature, Received, ...
    mid = re.search(rb"Message-ID: <([^>]+)>", forwarded).group(1).decode()
    code, text, _ = w.transact(forwarded, "fwd@forwarder.example.org")
    assert code == 250, (code, text, w.diagnostics())
    deadline = time.monotonic() + 20
    got = None
    while got is None and time.monotonic() < deadline:
        for f in w.postfix.delivered():
            data = f.read_bytes()
            if mid.encode() in data and b"dmarc=" in data:
                got = data
        time.sleep(0.05)
    assert got is not None, w.diagnostics()
    result, hfrom, value = dmarc(Delivered(got))
    assert "dkim=pass" in value and "header.d=example.com" in value, value
    assert re.search(r"spf=fail\s.*smtp\.mailfrom=fwd@forwarder\.example\.org", value), value
    assert (result, hfrom) == ("pass", "example.com"), value


def test_DMARC_ENF_03_local_and_authenticated_mail_never_rejected(w):
    """DMARC-ENF-03: From: a p=reject domain, not authenticated by it, sent
    by a local_addrs client or an SMTP AUTH client from outside: accepted
    and delivered, no DMARC check (nothing in the log line or the AR)."""
    for kw in ({"source": LOCAL},
               {"source": OUTSIDE, "auth": (harness.SASL_USER, harness.SASL_PASSWORD)}):
        qid, d = w.send("ceo@reject.example.org", "ceo@reject.example.org", **kw)
        assert b"dmarc=" not in b"".join(f for _, f in d.added), (kw, d.added)
        line = w.log_line(qid)
        assert "dmarc" not in line, line


def test_DMARC_DISC_03_dns_timeout_is_temperror_accepted_within_the_timeout(w):
    """DMARC-DISC-03, DMARC-ENF-04: the _dmarc lookup nobody answers
    (unbound drops slow.example.net) gives dmarc=temperror; with
    on_temperror = "accept" (the default) the message is delivered, and the
    SMTP transaction ends within dns.timeout plus a margin."""
    t = time.monotonic()
    qid, d = w.send("a@slow.example.net", "a@spfpass.example.org")
    took = time.monotonic() - t
    result, hfrom, value = dmarc(d)
    assert (result, hfrom) == ("temperror", "slow.example.net"), value
    assert took < DNS_TIMEOUT_S + MARGIN_S, f"took {took:.2f}s with dns.timeout={DNS_TIMEOUT_S}s"
    assert "temperror, dmarc.on_temperror = accept" in w.log_line(qid)


def test_DMARC_ENF_04_dns_timeout_with_tempfail_is_451(wh):
    """DMARC-ENF-04: with on_temperror = "tempfail" the same message is
    deferred with 451 4.4.3, within dns.timeout plus a margin."""
    msg = make_message(unique_id("dmarc"), from_addr="a@slow.example.net")
    code, text, took = wh.transact(msg, "a@spfpass.example.org")
    assert code == 451, (code, text)
    assert text.startswith("4.4.3 DMARC policy lookup for slow.example.net failed"), text
    assert took < DNS_TIMEOUT_S + MARGIN_S, f"took {took:.2f}s"
    assert "message deferred (DMARC temperror)" in wh.log_line("header.from=slow.example.net")


def test_DMARC_config_signetd_t_and_dump_config(tmp_path):
    """DESIGN.md "signetd config additions": `dmarc { }` is checked by
    `signetd -t` (bad values refused with file:line:col) and printed by
    --dump-config with its defaults."""
    signetd_bin = harness.signetd_path()
    if not harness.executable(signetd_bin):
        pytest.skip(f"signetd not built at {signetd_bin} (build it, or set SIGNETD_BIN)")
    cases = [("", 0, None),
             ('dmarc { trusted_arc_sealers = ["google.com"]; quarantine = "hold"; }\n', 0, None),
             ('verify { public_suffix_list = ""; }\ndmarc { discovery = "psl"; }\n', 0,
              'dmarc.discovery = "psl" without a public suffix list'),
             ('dmarc { discovery = "dns"; }\n', 78, "dmarc.discovery must be"),
             ('dmarc { trusted_arc_sealers = ["not a domain"]; }\n', 78,
              "dmarc.trusted_arc_sealers: 'not a domain' is not a domain name"),
             ("dmarc { reject = true; }\n", 78, "unknown key 'reject' in dmarc")]
    for extra, want_rc, want_text in cases:
        sd = harness.Signetd(signetd_bin, ["127.0.0.1@53"], [], extra=extra, dmarc=True)
        try:
            rc, out = sd.check_config()
            assert rc == want_rc, (extra, rc, out)
            if want_text:
                assert want_text in out, out
                assert want_rc == 0 or f"{sd.conf}:" in out, out
                continue
            r = subprocess.run([str(signetd_bin), "--dump-config", "-c", str(sd.conf)],
                               capture_output=True, timeout=30)
            dump = r.stdout.decode()
            assert '  enforce = true;\n' in dump, dump
            assert '  on_temperror = "accept";\n' in dump, dump
            if extra:
                assert '  trusted_arc_sealers = ["google.com"];\n' in dump, dump
                assert '  quarantine = "hold";\n' in dump, dump
            else:
                assert '  quarantine = "header";\n' in dump, dump
        finally:
            sd.cleanup()
