# test_verify_policy.py: verify.on_fail = reject and verify.on_temperror =
# tempfail through a real Postfix, a real signetd and a real unbound
# (DKIM-VER-16, RFC 6376 6.3): a signature that does not verify may get a
# 5xx, never a 4xx; only a temporary key lookup failure may get a 4xx; one
# passing signature is enough to accept; permerror and unsigned mail are
# never refused. With the defaults (accept, accept) nothing is refused.
import os
import re
import smtplib
import subprocess
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, make_message, parse_ar, unique_id  # noqa: E402
from test_postfix import AUTHSERV, OUTSIDE, require_root_and_tools  # noqa: E402

POLICY = 'verify { on_fail = "reject"; on_temperror = "tempfail"; }\n'


class World:
    def __init__(self, tmp, signet):
        self.tmp, self.signet = tmp, signet
        self.key = tmp / "rsa.key"
        r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", "good", "-t", "rsa",
                            "-k", str(self.key), "--format", "txt"], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        self.record = r.stdout.decode().strip()
        self.unbound = harness.Unbound({"example.com": {"good._domainkey.example.com": [self.record]}},
                                       deny_zones=["timeout.example.net"])
        self.daemons = {}  # name -> (signetd, postfix)

    def start(self, name, extra):
        sd = harness.Signetd(harness.signetd_path(), [self.unbound.forwarder()],
                             [("example.com", "good", self.key)], authserv_id=AUTHSERV,
                             dns_timeout="2s", extra=extra)
        self.daemons[name] = (sd, None)
        sd.start()
        pf = harness.Postfix(milter=sd.milter())
        self.daemons[name] = (sd, pf)
        pf.start()

    def sign(self, msg, domain="example.com", selector="good"):
        r = subprocess.run([str(self.signet), "sign", "-d", domain, "-s", selector, "-k",
                            str(self.key)], input=msg, capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def send(self, name, msg):
        """(SMTP code at end of DATA, delivered message or None)."""
        sd, pf = self.daemons[name]
        mid = re.search(rb"^Message-ID: <([^>]+)>", msg, re.M).group(1).decode()
        try:
            pf.submit(msg, source=OUTSIDE)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode(), None
        return 250, "", Delivered(pf.wait_delivery(mid))

    def cleanup(self):
        for sd, pf in self.daemons.values():
            if pf:
                pf.cleanup()
            sd.cleanup()
        self.unbound.cleanup()


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    require_root_and_tools()
    for b in (harness.signetd_path(), harness.signet_path()):
        if not harness.executable(b):
            pytest.skip(f"{b} not built (set SIGNETD_BIN / SIGNET_BIN)")
    tmp = tmp_path_factory.mktemp("verify-policy")
    tmp.chmod(0o755)
    world = World(tmp, harness.signet_path())
    try:
        world.unbound.start()
        world.start("strict", POLICY)
        world.start("default", "")
        yield world
    finally:
        world.cleanup()


def message(w, kind):
    """A message whose one (or two) signatures give the named outcome."""
    mid = unique_id(kind)
    msg = make_message(mid, from_addr="user@example.com")
    if kind == "unsigned":
        return msg
    if kind == "temperror":  # unbound never answers for timeout.example.net
        return w.sign(msg, domain="timeout.example.net", selector="sel")
    if kind == "permerror":  # no record at nx._domainkey.example.com (NXDOMAIN)
        return w.sign(msg, selector="nx")
    signed = w.sign(msg)
    if kind == "pass":
        return signed
    broken = signed + b"A line added after signing.\r\n"
    if kind == "fail":
        return broken
    if kind == "pass+fail":  # a new signature above one the added line broke
        return w.sign(broken)
    if kind == "fail+temperror":
        return w.sign(broken, domain="timeout.example.net", selector="sel")
    raise ValueError(kind)


def ar_results(d):
    ars = [f for n, f in d.added if n == "authentication-results"]
    assert len(ars) == 1, d.added_names()
    sid, res = parse_ar(harness.unfold(ars[0]).split(b":", 1)[1])
    assert sid == AUTHSERV
    return sorted(r["result"] for r in res if r["method"] == "dkim")


def test_DKIM_VER_16_fail_is_rejected_5xx_never_4xx(w):
    """DKIM-VER-16: "crypto failures must never lead to a 4xx SMTP reply";
    with verify.on_fail = reject a signature that does not verify (and no
    other that passes) gets 550 5.7.20 (RFC 7372 3.1)."""
    code, text, d = w.send("strict", message(w, "fail"))
    assert (code, d) == (550, None), (code, text)
    assert "5.7.20" in text, text
    sd, _ = w.daemons["strict"]
    assert "message rejected (verify.on_fail = reject)" in sd.log_text()


def test_DKIM_VER_16_temperror_is_deferred_4xx(w):
    """DKIM-VER-16: "only temporary key lookup failures may" lead to a 4xx:
    with verify.on_temperror = tempfail a DNS timeout gets 451 4.4.3."""
    code, text, d = w.send("strict", message(w, "temperror"))
    assert (code, d) == (451, None), (code, text)
    assert "4.4.3" in text, text


def test_DKIM_VER_16_fail_beside_temperror_is_deferred_not_rejected(w):
    """A failed signature beside one whose key lookup failed temporarily: a
    retry may pass, so 4xx (the lookup), never a permanent 5xx."""
    code, text, d = w.send("strict", message(w, "fail+temperror"))
    assert (code, d) == (451, None), (code, text)


@pytest.mark.parametrize("kind,want", [
    ("pass", ["pass"]),
    ("pass+fail", ["fail", "pass"]),
    ("permerror", ["permerror"]),
])
def test_DKIM_VER_16_pass_and_permerror_accepted_under_strict_policy(w, kind, want):
    """A passing signature is accepted, also beside one that fails (one good
    signature is enough); permerror (no key record) is not a crypto failure:
    it only goes into Authentication-Results."""
    code, text, d = w.send("strict", message(w, kind))
    assert code == 250, (code, text)
    assert ar_results(d) == want


def test_DKIM_VER_16_unsigned_accepted_under_strict_policy(w):
    code, text, d = w.send("strict", message(w, "unsigned"))
    assert code == 250, (code, text)
    assert ar_results(d) == ["none"]


@pytest.mark.parametrize("kind,want", [
    ("fail", ["fail"]),
    ("temperror", ["temperror"]),
])
def test_DKIM_VER_16_defaults_never_refuse(w, kind, want):
    """Defaults (on_fail = accept, on_temperror = accept): every message is
    delivered, the result is in Authentication-Results (3.9: d= and result)."""
    code, text, d = w.send("default", message(w, kind))
    assert code == 250, (code, text)
    assert ar_results(d) == want


def test_DKIM_VER_16_config_dump_and_bad_value(w, tmp_path):
    sd, _ = w.daemons["strict"]
    r = subprocess.run([str(harness.signetd_path()), "--dump-config", "-c", str(sd.conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert 'verify { on_fail = "reject"; on_temperror = "tempfail"; }' in r.stdout, r.stdout
    bad = tmp_path / "bad.conf"
    bad.write_text(sd.conf.read_text() + 'verify { on_fail = "tempfail"; }\n')
    r = subprocess.run([str(harness.signetd_path()), "-t", "-c", str(bad)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "verify.on_fail must be \"accept\" or \"reject\", not 'tempfail'" in r.stderr + r.stdout
