# test_ar_position.py: AR-POS-02 with a real Postfix (harness.Postfix),
# signetd as its milter and a real unbound serving the keys. A message that
# carries several DKIM signatures, and an Authentication-Results field of
# another host, arrives from an outside client: the delivered message has
# exactly one Authentication-Results field from signetd, on top (AR-POS-01),
# holding one dkim result per signature in header order; the foreign field
# is kept below. Two such messages on one SMTP connection (one milter
# connection) get one field each. signetd reports the dkim method only (no
# SPF), so "all its methods" is every dkim result.
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
OUTSIDE = "127.0.0.3"
FOREIGN_AR = "Authentication-Results: other.example; dkim=pass header.d=example.org"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.POSTQUEUE,
                                    harness.SENDMAIL, harness.UNBOUND)
    if missing:
        pytest.skip(f"Postfix/unbound tools missing: {', '.join(missing)} "
                    "(install them with scripts/deps.sh)")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")
    signet, signetd = harness.signet_path(), harness.signetd_path()
    if harness.missing_tools(signet, signetd):
        pytest.skip(f"not built: {harness.missing_tools(signet, signetd)} (set SIGNET_BIN)")
    tmp = tmp_path_factory.mktemp("ar-position")
    tmp.chmod(0o755)
    w = {"signet": signet, "keys": {}, "records": {}}
    for sel, typ in (("rsa", "rsa"), ("ed", "ed25519")):
        key = tmp / f"{sel}.key"
        r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", sel, "-t", typ,
                            "-k", str(key), "--format", "txt"], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        w["keys"][sel] = key
        w["records"][f"{sel}._domainkey.example.com"] = r.stdout.decode().strip()
    ub = harness.Unbound({"example.com": {n: [v] for n, v in w["records"].items()}})
    sd = pf = None
    try:
        ub.start()
        sd = harness.Signetd(signetd, [ub.forwarder()], [("example.com", "rsa", w["keys"]["rsa"])],
                             authserv_id=AUTHSERV)
        sd.start()
        pf = harness.Postfix(milter=sd.milter())
        pf.start()
        w.update(ub=ub, sd=sd, pf=pf)
        yield w
    finally:
        if pf:
            pf.cleanup()
        if sd:
            sd.cleanup()
        ub.cleanup()


def sign(w, msg, selector, key):
    r = subprocess.run([str(w["signet"]), "sign", "-d", "example.com", "-s", selector, "-k",
                        str(w["keys"][key])], input=msg, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def three_signatures(w, tag):
    """From the top: s=nokey (no key published: permerror), s=ed and s=rsa
    (pass); a foreign Authentication-Results below them."""
    msg = make_message(unique_id(tag), from_addr="user@example.com",
                       extra_headers=[FOREIGN_AR])
    for selector, key in (("rsa", "rsa"), ("ed", "ed"), ("nokey", "rsa")):
        msg = sign(w, msg, selector, key)
    return msg


def our_fields(d):
    """Every Authentication-Results of the delivered message naming our id."""
    return [v for v in d.all_values("Authentication-Results")
            if parse_ar(v)[0].lower() == AUTHSERV]


def check_one_ar(d):
    ours = our_fields(d)
    assert len(ours) == 1, f"AR-POS-02: want exactly one field from us: {ours}"
    assert d.added_names() == ["authentication-results"], d.added_names()
    assert d.added_values("Authentication-Results")[0] == ours[0]
    sid, res = parse_ar(ours[0])
    assert sid == AUTHSERV
    # AR-POS-02 "Test: DKIM + later SPF appear in one header": the SPF
    # checks (issue #13: MAIL FROM and HELO, neither publishes a record
    # here) follow the dkim results in the same field, then arc (issue #16).
    assert [(r["method"], r["result"], r["props"].get("header.s")) for r in res] == [
        ("dkim", "permerror", "nokey"), ("dkim", "pass", "ed"), ("dkim", "pass", "rsa"),
        ("spf", "none", None), ("spf", "none", None), ("arc", "none", None)], res
    assert [r["props"] for r in res[3:]] == [{"smtp.mailfrom": "sender@example.com"},
                                             {"smtp.helo": "client.signet.test"},
                                             {"smtp.remote-ip": OUTSIDE}], res
    # the foreign field is kept, below Postfix's Received
    assert [v for v in d.all_values("Authentication-Results") if v not in ours] == [
        FOREIGN_AR.split(":", 1)[1].encode()]


def test_AR_POS_02_one_field_holds_every_dkim_result(world):
    """AR-POS-02 "Exactly one AR header from us per message, holding all
    our methods": three signatures (permerror, pass, pass) → one field with
    three dkim results, in header order, on top; the foreign AR stays."""
    msg = three_signatures(world, "ar-pos-02")
    mid = re.search(rb"^Message-ID: <([^>]+)>", msg, re.M).group(1).decode()
    world["pf"].submit(msg, source=OUTSIDE)
    d = Delivered(world["pf"].wait_delivery(mid))
    check_one_ar(d)
    assert d.rest == harness.lf(msg)


def test_AR_POS_02_one_field_per_message_on_one_connection(world):
    """AR-POS-02: two messages on one SMTP connection (so one milter
    connection) each get exactly one field of ours, not one per message so far."""
    msgs = [three_signatures(world, f"ar-pos-02-conn{k}") for k in range(2)]
    s = world["pf"].session(source=OUTSIDE)
    try:
        for m in msgs:
            world["pf"].send_on(s, m)
    finally:
        s.quit()
    for m in msgs:
        mid = re.search(rb"^Message-ID: <([^>]+)>", m, re.M).group(1).decode()
        check_one_ar(Delivered(world["pf"].wait_delivery(mid)))
