# test_arc_postfix.py: ARC (RFC 8617) in signetd (issue #16) with two real
# Postfix instances, each with its own signetd, and one real unbound serving
# the keys. The mailing-list case end to end:
#
#   outside (127.0.0.3) --SMTP--> hop 1 (Postfix + signetd mx1, lists.example.net)
#     a DKIM-signed message from outside.example, already carrying an ARC
#     set (i=1) made by dkimpy for the sender's relay; mx1 verifies it
#     (dkim=pass, arc=pass) and it is delivered to the list's mailbox;
#   the "list" (this test) takes it, appends a footer (DKIM breaks) and
#     reinjects it through hop 1's sendmail(1) to user@dest.test; mx1
#     (arc.seal = "forwarded") seals it with lists.example.net's key, the AAR
#     carrying its own Authentication-Results from reception (ARC-SEAL-03);
#   hop 1's smtp(8) (bound to 127.0.0.3) --SMTP--> hop 2 (Postfix + signetd
#     mx2): dkim=fail, arc=pass header.oldest-pass=2 smtp.remote-ip.
#
# dkimpy's arc_verify accepts what hop 2 received (our seal, i=2), and a
# chain forged in lists.example.net's name is arc=fail at hop 2.
# Environment: SIGNET_BIN (signet CLI, for keygen), SIGNETD_BIN.
import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, make_message, parse_ar, unique_id  # noqa: E402

try:
    import dkim  # python3-dkim (scripts/deps.sh)
except ImportError:  # pragma: no cover - reported by the fixture
    dkim = None

OUTSIDE = "127.0.0.3"
MX1, MX2 = "mx1.signet.test", "mx2.signet.test"
LIST_DOMAIN = "lists.example.net"
LIST_ADDR = f"list@{LIST_DOMAIN}"
BOUNCES = f"list-bounces@{LIST_DOMAIN}"
FOOTER = b"-- \nTo unsubscribe, write to list-request@lists.example.net\n"


def require_world():
    why = harness.world_unavailable()
    if why:
        pytest.skip(why)
    if dkim is None:
        pytest.skip("python3-dkim missing (dkimpy signs the outside message and checks "
                    "our seal; install it with scripts/deps.sh)")


def rsa_key(path):
    """A PKCS#1 RSA key (dkimpy reads it) and its DKIM key record."""
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(path), "2048"],
                   check=True, capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=60).stdout
    import base64
    return path.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


class World:
    """Two MTAs on one unbound: mta1 (hop1 = its Postfix, mx1 = its signetd)
    and mta2 (hop2, mx2)."""

    def __init__(self):
        self.mta1 = self.mta2 = None
        self.records = {}

    # what the tests use: the two Postfix instances and their signetd
    hop1 = property(lambda self: self.mta1.postfix)
    mx1 = property(lambda self: self.mta1.signetd)
    hop2 = property(lambda self: self.mta2.postfix)
    mx2 = property(lambda self: self.mta2.signetd)

    def dnsfunc(self, name, timeout=5):
        """dkimpy's TXT lookup, from the zone unbound serves."""
        n = name.decode() if isinstance(name, bytes) else name
        rec = self.records.get(n.rstrip("."))
        return rec.encode() if rec else None

    def diagnostics(self):
        return "\n".join(["--- hop 1", self.mta1.diagnostics(30),
                          "--- hop 2", self.mta2.diagnostics(30)])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    require_world()
    tmp = tmp_path_factory.mktemp("signetd-arc")
    tmp.chmod(0o755)
    w = World()
    # the list's key (dkim_signing of mx1, which seals with it)
    list_key = tmp / "lists.example.net.arc.key"
    w.records[f"arc._domainkey.{LIST_DOMAIN}"] = harness.keygen(list_key, LIST_DOMAIN, "arc",
                                                                "rsa")
    # the outside sender's key (DKIM and its relay's ARC set), and a key
    # nobody published (the forger's)
    w.out_key, w.records["out._domainkey.outside.example"] = rsa_key(tmp / "out.key")
    w.forger_key, _ = rsa_key(tmp / "forger.key")
    zones = {}
    for name, rec in w.records.items():
        zone = name.split("._domainkey.", 1)[1]
        zones.setdefault(zone, {})[name] = [rec]
    # the author's DMARC policy (issue #16: a trusted sealer overrides it)
    zones["outside.example"]["_dmarc.outside.example"] = ["v=DMARC1; p=reject"]
    with contextlib.ExitStack() as stack:
        fwd = [harness.started(stack, harness.Unbound(zones)).forwarder()]
        w.mta2 = harness.started(stack, harness.Mta(
            fwd, [], authserv_id=MX2,
            extra='arc { enabled = true; seal = "none"; }\n' "spf { enabled = false; }\n",
            extra_main={"myhostname": "mx2.signet.test"}))
        w.mta1 = harness.started(stack, harness.Mta(
            fwd, [(LIST_DOMAIN, "arc", list_key)], authserv_id=MX1,
            extra='arc { enabled = true; seal = "forwarded"; }\n' "spf { enabled = false; }\n",
            extra_main={
                "virtual_mailbox_domains": LIST_DOMAIN,
                # the next hop for dest.test is hop 2, reached from 127.0.0.3
                # so that mx2 sees an outside client
                "transport_maps": f"inline:{{dest.test=smtp:[127.0.0.1]:{w.hop2.smtp_port}}}",
                "smtp_bind_address": OUTSIDE,
            }))
        yield w


@pytest.fixture
def w(world):
    for m in (world.mta1, world.mta2):
        m.check_before()
    yield world
    for m in (world.mta1, world.mta2):
        m.check_after(world.diagnostics)


def outside_message(w, mid):
    """A message from alice@outside.example: DKIM-signed by outside.example,
    then sealed (i=1) by its relay with dkimpy, as it leaves its domain."""
    msg = harness.crlf(make_message(mid, from_addr="alice@outside.example",
                                    subject="ARC through a list"))
    msg = msg.replace(b"To: Recipient <user@dest.test>", f"To: <{LIST_ADDR}>".encode())
    sig = dkim.sign(msg, b"out", b"outside.example", w.out_key,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    msg = sig + msg
    msg = b"Authentication-Results: relay.outside.example; dkim=pass " \
          b"header.d=outside.example\r\n" + msg
    arc = dkim.arc_sign(msg, b"out", b"outside.example", w.out_key, b"relay.outside.example",
                        timestamp=None)
    return b"".join(arc) + msg


def header_values(raw, name):
    flds, _ = harness.fields(raw)
    return [harness.unfold(f).split(b":", 1)[1] for n, f in flds if n == name.lower()]


def ar_of(raw, authserv):
    """The results of the Authentication-Results claiming authserv."""
    got = []
    for v in header_values(raw, "authentication-results"):
        sid, res = parse_ar(v)
        if sid == authserv:
            got.append(res)
    assert len(got) == 1, f"want one AR by {authserv}: {header_values(raw, 'authentication-results')}"
    return {r["method"]: r for r in got[0]}


def strip_delivery(raw):
    """The message without virtual(8)'s Return-Path, X-Original-To, Delivered-To."""
    flds, tail = harness.fields(raw)
    return b"".join(f for n, f in flds if n not in harness.DELIVERY_FIELDS) + tail


def through_the_list(w):
    """Outside -> hop 1 (the list's mailbox) -> footer -> hop 1's sendmail ->
    hop 2. Returns (what the list got, what hop 2 delivered, message id)."""
    mid = unique_id("arc")
    w.hop1.submit(outside_message(w, mid), sender="alice@outside.example",
                  rcpts=(LIST_ADDR,), source=OUTSIDE)
    got = Delivered(w.hop1.wait_delivery(mid))
    # the list: the message as received, a footer at the end of the body
    reinjected = strip_delivery(got.raw) + FOOTER
    w.hop1.sendmail(reinjected, sender=BOUNCES, rcpts=("user@dest.test",))
    try:
        final = strip_delivery(harness.lf(w.hop2.wait_delivery(mid, timeout=60)))
    except AssertionError as e:
        raise AssertionError(f"{e}\n{w.diagnostics()}") from None
    return got, final, mid


def test_ARC_SEAL_03_list_footer_sealed_by_hop1_passes_at_hop2(w):
    """ARC-AR-01, ARC-SEAL-02/03 end to end. At reception mx1 writes dkim=pass
    and arc=pass (dkimpy's set i=1 verifies) with smtp.remote-ip, and does
    not seal (the recipient is its own list). After the footer, mx1 seals
    the reinjected message (i=2, cv=pass, d=lists.example.net) with its
    reception results as the AAR. At hop 2: dkim=fail, arc=pass with
    header.oldest-pass=2 (the footer broke AMS i=1) and smtp.remote-ip of
    hop 1's client address; the log lines say so."""
    got, final, mid = through_the_list(w)
    rec = ar_of(got.message, MX1)
    assert rec["dkim"]["result"] == "pass", rec
    assert rec["arc"]["result"] == "pass", rec
    assert rec["arc"]["props"].get("smtp.remote-ip") == OUTSIDE, rec
    assert "arc-seal" not in got.added_names(), got.added_names()
    # hop 2
    res = ar_of(final, MX2)
    assert res["dkim"]["result"] == "fail", res
    assert res["arc"]["result"] == "pass", f"{res}\n{w.diagnostics()}"
    assert res["arc"]["props"].get("header.oldest-pass") == "2", res
    assert res["arc"]["props"].get("smtp.remote-ip") == OUTSIDE, res
    seals = header_values(final, "arc-seal")
    assert len(seals) == 2, seals
    ours = [s for s in seals if b"i=2" in s]
    assert ours and b"cv=pass" in ours[0] and b"d=lists.example.net" in ours[0], seals
    aar = [a for a in header_values(final, "arc-authentication-results") if b"i=2" in a]
    assert aar and f"i=2; {MX1};".encode() in aar[0], aar
    assert b"arc=pass" in aar[0], aar  # the results from reception, not after the footer
    # the log lines of both hops
    sealed = w.mx1.log_lines_with("sealed i=2 d=lists.example.net s=arc cv=pass "
                                  "(results from reception)")
    assert len(sealed) >= 1, w.mx1.log_text()[-3000:]
    assert "arc=fail" in sealed[-1], sealed[-1]  # mx1's own view after the footer
    lines = w.mx2.log_lines_with("arc=pass (oldest-pass=2)")
    assert lines, w.mx2.log_text()[-3000:]


def test_ARC_interop_dkimpy_verifies_hop1_seal(w):
    """Interop: dkimpy's arc_verify accepts the chain hop 2 received: its own
    set i=1 and our set i=2 (RSA, relaxed)."""
    _, final, _ = through_the_list(w)
    cv, results, reason = dkim.arc_verify(final, dnsfunc=w.dnsfunc)
    assert cv == dkim.CV_Pass, (cv, reason, results)
    assert [r["instance"] for r in results] == [2, 1], results


def test_ARC_VAL_01_forged_chain_fails_at_hop2(w):
    """A chain sealed in lists.example.net's name with a key nobody
    published, sent straight to hop 2 from outside: arc=fail with the
    reason, and the message is still delivered (ARC alone decides nothing)."""
    mid = unique_id("arcforged")
    msg = harness.crlf(make_message(mid, from_addr="alice@outside.example"))
    msg = b"Authentication-Results: mx1.signet.test; dkim=pass header.d=outside.example\r\n" \
          + msg
    arc = dkim.arc_sign(msg, b"arc", LIST_DOMAIN.encode(), w.forger_key, MX1.encode())
    w.hop2.submit(b"".join(arc) + msg, sender="alice@outside.example",
                  rcpts=("user@dest.test",), source=OUTSIDE)
    final = strip_delivery(harness.lf(w.hop2.wait_delivery(mid)))
    res = ar_of(final, MX2)
    assert res["arc"]["result"] == "fail", res
    assert res["arc"]["reason"], res
    assert "header.oldest-pass" not in res["arc"]["props"], res


def test_ARC_config_signetd_t_and_dump_config(tmp_path):
    """`signetd -t` refuses a bad arc.seal and an unknown arc key with the
    file position; --dump-config prints the arc section."""
    signetd_bin = harness.signetd_path()
    if not harness.executable(signetd_bin):
        pytest.skip(f"signetd not built at {signetd_bin} (build it, or set SIGNETD_BIN)")
    conf = tmp_path / "s.conf"
    conf.write_text('arc { seal = "sometimes"; }\n')
    r = subprocess.run([signetd_bin, "-t", "-c", str(conf)], capture_output=True, timeout=30)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode != 0, out
    assert re.search(r's\.conf:1:7: arc\.seal must be "none", "forwarded" or "all", '
                     r"not 'sometimes'", out), out
    conf.write_text('arc { seal = "all"; sael = 1; }\n')
    r = subprocess.run([signetd_bin, "-t", "-c", str(conf)], capture_output=True, timeout=30)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode != 0 and "unknown key 'sael' in arc" in out, out
    conf.write_text('arc { seal = "forwarded"; local_domains = ["example.org"]; }\n')
    r = subprocess.run([signetd_bin, "--dump-config", "-c", str(conf)], capture_output=True,
                       timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert 'arc {\n  enabled = true;\n  seal = "forwarded";\n' in out, out
    assert 'local_domains = ["example.org"];' in out, out


def mx2_dmarc(w, trusted):
    """mx2 with DMARC on and trusted_arc_sealers = trusted, reloaded (SIGHUP)."""
    w.mx2.dmarc = True
    sealers = ", ".join(f'"{d}"' for d in trusted)
    w.mx2.extra = ('arc { enabled = true; seal = "none"; }\n' "spf { enabled = false; }\n"
                   f"dmarc {{ trusted_arc_sealers = [{sealers}]; }}\n")
    before = len(w.mx2.log_lines_with("reload done", timeout=0))
    w.mx2.conf.write_text(w.mx2.config())
    w.mx2.proc.send_signal(signal.SIGHUP)
    assert len(w.mx2.log_lines_with("reload done", count=before + 1, timeout=10)) > before


def test_DMARC_ARC_override_every_sealer_trusted(w):
    """Issue #16: outside.example publishes p=reject; after the list's footer
    DKIM fails and the list's bounce address is not aligned, so DMARC fails
    at hop 2. With both sealers of the chain (outside.example i=1,
    lists.example.net i=2) in dmarc.trusted_arc_sealers the failure is not
    enforced: delivered, dis=none arc-override, and the reason and the log
    name the sealers."""
    mx2_dmarc(w, ["outside.example", LIST_DOMAIN])
    try:
        _, final, mid = through_the_list(w)
        res = ar_of(final, MX2)
        assert res["arc"]["result"] == "pass", res
        assert res["dmarc"]["result"] == "fail", res
        raw = b"".join(header_values(final, "authentication-results"))
        assert b"dis=none arc-override" in raw, raw
        assert b"arc-override: sealed by outside.example, lists.example.net" in raw, raw
        lines = w.mx2.log_lines_with("arc-override")
        assert lines, w.mx2.log_text()[-3000:]
    finally:
        mx2_dmarc(w, [])


def test_DMARC_ARC_one_untrusted_sealer_is_enforced(w):
    """Only the list is trusted, not the sender's relay that sealed i=1: the
    p=reject failure is enforced at hop 2 (550 5.7.1 to hop 1)."""
    mx2_dmarc(w, [LIST_DOMAIN])
    try:
        mid = unique_id("arcuntrusted")
        w.hop1.submit(outside_message(w, mid), sender="alice@outside.example",
                      rcpts=(LIST_ADDR,), source=OUTSIDE)
        got = Delivered(w.hop1.wait_delivery(mid))
        w.hop1.sendmail(strip_delivery(got.raw) + FOOTER, sender=BOUNCES,
                        rcpts=("user@dest.test",))
        lines = w.mx2.log_lines_with("rejected (DMARC)", timeout=30)
        assert lines, w.diagnostics()
        assert "arc-override" not in lines[-1], lines[-1]
        deadline = time.monotonic() + 30
        while "5.7.1 Rejected by the DMARC policy of outside.example" not in \
                w.hop1.log_text():
            assert time.monotonic() < deadline, w.diagnostics()
            time.sleep(0.1)
    finally:
        mx2_dmarc(w, [])
