# test_spf_cli.py: `signet spf` as DESIGN.md specifies it ("Receiving-side
# checks"): the result word first, --explain's terms with their lookups and
# counts, --json's object, the exit codes, the ZONEFILE format (TXT with
# \DDD, A, AAAA, MX, PTR, CNAME, TIMEOUT, names absent = NXDOMAIN), usage and
# zone-file errors; and --dns --server against a real unbound on loopback.
import json
import os
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ZONE = """\
# a company with its own servers and a mail provider
example.com TXT v=spf1 ip4:192.0.2.0/24 include:_spf.provider.example mx -all
example.com MX 10 mx.example.com
mx.example.com A 198.51.100.25
mx.example.com AAAA 2001:db8::25
_spf.provider.example TXT v=spf1 a:out.provider.example ~all
out.provider.example CNAME relay.provider.example
relay.provider.example A 203.0.113.7
soft.example TXT v=spf1 ~all
neutral.example TXT v=spf1 ?all
slow.example TIMEOUT
escaped.example TXT v=spf1\\032-all
tab.example TXT v=spf1\\009-all
loop.example TXT v=spf1 include:loop.example
helo.example.net TXT v=spf1 a -all
helo.example.net A 192.0.2.99
"""


@pytest.fixture
def zone(tmp_path):
    z = tmp_path / "zone"
    z.write_text(ZONE)
    return str(z)


def spf(signet, zone, ip, mail_from=None, helo=None, *extra):
    args = ["spf", "--ip", ip, "--zone", zone]
    if mail_from is not None:
        args += ["--mail-from", mail_from]
    if helo is not None:
        args += ["--helo", helo]
    return signet.run(*args, *extra)


@pytest.mark.parametrize("ip,result,rc", [
    ("192.0.2.10", "pass", 0),          # ip4
    ("203.0.113.7", "pass", 0),         # include -> a -> CNAME -> A
    ("198.51.100.25", "pass", 0),       # mx
    ("2001:db8::25", "pass", 0),        # mx over IPv6 (AAAA)
    ("198.51.100.1", "fail", 1),        # -all
])
def test_SPF_RES_01_results_and_exit_codes(signet, zone, ip, result, rc):
    r = spf(signet, zone, ip, "user@example.com")
    assert r.rc == rc, r
    assert r.text.splitlines()[0] == result, r


def test_SPF_RES_01_every_word(signet, zone):
    cases = [("a@soft.example", "softfail", 1), ("a@neutral.example", "neutral", 1),
             ("a@slow.example", "temperror", 3), ("a@nothing.example", "none", 2),
             ("a@loop.example", "permerror", 1),
             # \032 is a space: an SPF record; \009 a tab: not one (RFC 7208 4.5)
             ("a@escaped.example", "fail", 1), ("a@tab.example", "none", 2)]
    for sender, word, rc in cases:
        r = spf(signet, zone, "192.0.2.1", sender)
        assert (r.text.splitlines()[0], r.rc) == (word, rc), (sender, r)


def test_SPF_ID_01_null_sender_and_helo_identity(signet, zone):
    r = spf(signet, zone, "192.0.2.99", "", "helo.example.net", "--json")
    out = json.loads(r.out)
    assert (out["result"], out["identity"], out["domain"]) == ("pass", "mailfrom", "helo.example.net")
    r = spf(signet, zone, "192.0.2.98", None, "helo.example.net", "--json")
    out = json.loads(r.out)
    assert (out["result"], out["identity"]) == ("fail", "helo")
    assert r.rc == 1


def test_explain_walks_terms_and_counts(signet, zone):
    r = spf(signet, zone, "198.51.100.25", "user@example.com", None, "--explain")
    assert r.rc == 0, r
    text = r.text
    assert text.splitlines()[0] == "pass"
    for want in ['example.com: "v=spf1 ip4:192.0.2.0/24 include:_spf.provider.example mx -all"',
                 "ip4:192.0.2.0/24: no match",
                 "include:_spf.provider.example [lookup 1/10]: TXT _spf.provider.example",
                 "a:out.provider.example [lookup 2/10]: A out.provider.example",
                 "mx [lookup 3/10]: MX example.com",
                 "mx: matches",
                 "DNS-querying terms: 3 of 10; void lookups: 0 of 2"]:
        assert want in text, text


def test_json_object(signet, zone):
    r = spf(signet, zone, "198.51.100.1", "user@example.com", None, "--json")
    out = json.loads(r.out)
    assert set(out) == {"result", "domain", "identity", "lookups", "void_lookups", "explanation",
                        "reason", "trace"}
    assert out["result"] == "fail" and out["lookups"] == 3 and out["void_lookups"] == 0
    assert out["reason"] == "-all matched"
    assert out["explanation"] is None
    assert any("-all: matches" in t for t in out["trace"])


def test_SPF_LIM_01_too_many_lookups_named(signet, tmp_path):
    names = " ".join(f"include:i{k}.example" for k in range(11))
    lines = [f"big.example TXT v=spf1 {names} -all"]
    lines += [f"i{k}.example TXT v=spf1 ?all" for k in range(11)]
    z = tmp_path / "z"
    z.write_text("\n".join(lines) + "\n")
    r = spf(signet, str(z), "192.0.2.1", "a@big.example", None, "--json")
    out = json.loads(r.out)
    assert out["result"] == "permerror", out
    assert out["reason"] == ("include:i10.example is DNS-querying term 11: more than 10 "
                             "(RFC 7208 4.6.4)")


def test_zone_file_errors_name_the_line(signet, tmp_path):
    for bad, why in [("a.example A 300.1.1.1", "A data must be an IPv4 address"),
                     ("a.example MX mx.example", "MX data must be PREF HOST"),
                     ("a.example TXT bad\\9", "bad \\DDD escape in TXT data")]:
        z = tmp_path / "bad"
        z.write_text("# comment\n" + bad + "\n")
        r = spf(signet, str(z), "192.0.2.1", "a@a.example")
        assert r.rc == 4, r
        assert f"{z} line 2: {why}" in r.err, r


def test_usage_errors(signet, zone):
    for args, msg in [(["spf", "--mail-from", "a@b.example", "--zone", zone], "--ip ADDR is required"),
                      (["spf", "--ip", "1.2.3.4", "--zone", zone], "give --mail-from ADDR or --helo NAME"),
                      (["spf", "--ip", "1.2.3.4", "--mail-from", "a@b.example"],
                       "give one of --zone ZONEFILE and --dns"),
                      (["spf", "--ip", "1.2.3", "--mail-from", "a@b.example", "--zone", zone],
                       "is not an IPv4 or IPv6 address"),
                      (["spf", "--ip", "1.2.3.4", "--mail-from", "", "--zone", zone],
                       "give --helo NAME")]:
        r = signet.run(*args)
        assert r.rc == 64 and msg in r.err, (args, r)


@pytest.fixture(scope="module")
def unbound():
    ub = harness.Unbound({"example.org": {
        "example.org": ["v=spf1 a:mail.example.org mx:example.org -all", ("MX", "10 mx.example.org.")],
        "mail.example.org": [("A", "192.0.2.7")],
        "mx.example.org": [("A", "192.0.2.8"), ("AAAA", "2001:db8::8")],
        "_spf.example.org": [["v=spf1 ip4:198.51.100.0/24", " -all"]],  # two strings, joined
        "split.example.org": ["v=spf1 include:_spf.example.org -all"],
    }})
    ub.start()
    yield ub
    ub.cleanup()


@pytest.mark.parametrize("ip,sender,result", [
    ("192.0.2.7", "a@example.org", "pass"),
    ("192.0.2.8", "a@example.org", "pass"),
    ("2001:db8::8", "a@example.org", "pass"),
    ("192.0.2.9", "a@example.org", "fail"),
    ("198.51.100.9", "a@split.example.org", "pass"),
    ("192.0.2.1", "a@absent.example.org", "none"),
])
def test_dns_against_real_unbound(signet, unbound, ip, sender, result):
    r = signet.run("spf", "--ip", ip, "--mail-from", sender, "--dns", "--server",
                   unbound.forwarder(), "--json")
    out = json.loads(r.out)
    assert out["result"] == result, (r, out)
