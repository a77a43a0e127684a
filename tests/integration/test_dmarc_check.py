# test_dmarc_check.py: `signet dmarc check DOMAIN` (DESIGN.md "Receiving-side
# checks", issue #14): discovery by the RFC 9989 tree walk with the name that
# held the record, the findings of libsignet's record check, "what it means",
# external rua authorization (RFC 9990 3), --json, the exit codes (0 fine,
# 1 errors, 2 no record, 3 temperror), usage errors; and --dns --server
# against a real unbound on loopback.
import json
import os
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ZONE = """\
_dmarc.good.example TXT v=DMARC1; p=reject; rua=mailto:dmarc@good.example
_dmarc.monitor.example TXT v=DMARC1; p=none
_dmarc.ext.example TXT v=DMARC1; p=quarantine; rua=mailto:a@vendor.net
_dmarc.authext.example TXT v=DMARC1; p=reject; rua=mailto:a@vendor.net
authext.example._report._dmarc.vendor.net TXT v=DMARC1
_dmarc.two.example TXT v=DMARC1; p=reject
_dmarc.two.example TXT v=DMARC1; p=none
_dmarc.syntax.example TXT v=DMARC1; p=reject rua=mailto:a@syntax.example
_dmarc.broken.example TXT v=DMARC1; p=reject; rua=mailto:d@broken.example; oops
_dmarc.lower.example TXT v=dmarc1; p=reject
_dmarc.org.example TXT v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@org.example
mail.dept.org.example A 192.0.2.1
_dmarc.slow.example TIMEOUT
_dmarc.slowauth.example TXT v=DMARC1; p=reject; rua=mailto:a@slow.net
slowauth.example._report._dmarc.slow.net TIMEOUT
_dmarc.sub.corp.example TXT v=DMARC1; p=reject; rua=mailto:d@corp.example,mailto:e@x.corp.example
_dmarc.corp.example TXT v=DMARC1; p=reject; rua=mailto:d@corp.example
_dmarc.xn--bcher-kva.example TXT v=DMARC1; p=reject; rua=mailto:r@xn--bcher-kva.example
_dmarc.hostile.example TXT v=DMARC1; p=reject; rua=mailto:\\027[31m@evil.example; ruf=mailto:a@b\\155\\155
_dmarc.strict.corp.example TXT v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:d@corp.example
"""


@pytest.fixture
def zone(tmp_path):
    z = tmp_path / "zone"
    z.write_text(ZONE)
    return str(z)


def check(signet, zone, domain, *extra):
    return signet.run("dmarc", "check", domain, "--zone", zone, *extra)


def check_json(signet, zone, domain):
    r = check(signet, zone, domain, "--json")
    assert r.text.count("\n") == 1, r  # one object, one line
    return r, json.loads(r.text)


def codes(out):
    return [f["code"] for f in out["findings"]]


def test_DMARC9_CHK_01_good_record_exit_0(signet, zone):
    r = check(signet, zone, "good.example")
    assert r.rc == 0, r
    assert "record at _dmarc.good.example (the domain's own):" in r.text
    assert "v=DMARC1; p=reject; rua=mailto:dmarc@good.example" in r.text
    assert "mail From: good.example that fails DMARC is rejected (p=reject)" in r.text
    assert "inside good.example: no authorization needed" in r.text
    assert r.text.rstrip().endswith("ok: 0 errors, 0 warnings")


def test_DMARC9_CHK_01_p_none_without_rua(signet, zone):
    r, out = check_json(signet, zone, "monitor.example")
    assert r.rc == 0, r  # warnings only
    assert out["result"] == "ok"
    assert codes(out) == ["p-none-no-rua", "p-none"]
    assert out["policy"] == {"domain": "none", "subdomains": "none", "nonexistent": "none"}
    text = check(signet, zone, "monitor.example").text
    assert "read by no one" in text and "protects nothing yet" in text


def test_DMARC_RPT_01_external_rua_without_authorization(signet, zone):
    r, out = check_json(signet, zone, "ext.example")
    assert r.rc == 1, r
    # "asked" is policy discovery; the walk for vendor.net's org domain is not in it
    assert [a["name"] for a in out["asked"]] == ["_dmarc.ext.example"]
    assert out["rua"] == [{"uri": "mailto:a@vendor.net", "host": "vendor.net", "external": True,
                           "authorized": False,
                           "auth_name": "ext.example._report._dmarc.vendor.net"}]
    text = check(signet, zone, "ext.example").text
    assert "are NOT sent" in text and "ext.example._report._dmarc.vendor.net" in text


def test_DMARC_RPT_01_external_rua_with_authorization(signet, zone):
    r, out = check_json(signet, zone, "authext.example")
    assert r.rc == 0, r
    assert out["rua"][0]["external"] is True and out["rua"][0]["authorized"] is True
    assert "vendor.net authorizes them" in check(signet, zone, "authext.example").text


def test_DMARC_RPT_01_same_organization_needs_no_authorization(signet, zone):
    # RFC 9990 3: only destinations outside the policy domain's organizational
    # domain (RFC 9989 4.10.2, found by the tree walk) need the record.
    r, out = check_json(signet, zone, "sub.corp.example")
    assert r.rc == 0, r
    assert [(x["host"], x["external"]) for x in out["rua"]] == [
        ("corp.example", False), ("x.corp.example", False)]
    assert "inside corp.example: no authorization needed" in check(
        signet, zone, "sub.corp.example").text
    # strict both ways: no walk is made, so the parent counts as external
    r, out = check_json(signet, zone, "strict.corp.example")
    assert r.rc == 1 and out["rua"][0]["external"] is True, r


def test_DMARC_RPT_01_authorization_lookup_temperror(signet, zone):
    r, out = check_json(signet, zone, "slowauth.example")
    assert r.rc == 3, r
    assert out["rua"][0]["authorized"] is None


@pytest.mark.parametrize("n", [16, 17])
def test_DMARC_MAX_RUA_at_and_past_the_limit(signet, tmp_path, n):
    # DMARC_MAX_RUA (cli/cmd_dmarc.c): the authorization of at most 16 rua=
    # URIs is asked; the rest are counted and said, never dropped silently.
    uris = ",".join(f"mailto:r{k}@ext{k}.example.net" for k in range(n))
    z = tmp_path / "zone"
    z.write_text(f"_dmarc.many.example TXT v=DMARC1; p=reject; rua={uris}\n" +
                 "".join(f"many.example._report._dmarc.ext{k}.example.net TXT v=DMARC1\n"
                         for k in range(n)))
    r, out = check_json(signet, str(z), "many.example")
    assert r.rc == 0, r
    assert len(out["rua"]) == 16 and all(x["authorized"] for x in out["rua"])
    assert out["rua_unchecked"] == n - 16
    text = check(signet, str(z), "many.example").text
    assert ("(1 more rua= URI not checked: the CLI checks 16)" in text) == (n == 17), text


def test_DMARC9_CHK_02_two_records_all_ignored(signet, zone):
    r, out = check_json(signet, zone, "two.example")
    assert r.rc == 1, r
    assert "several-records" in codes(out)
    assert out["found_at"] is None
    text = check(signet, zone, "two.example").text
    assert "receivers discard them all" in text
    assert "no DMARC record applies to two.example" in text


def test_DMARC9_CHK_02_lower_case_version_skipped(signet, zone):
    r, out = check_json(signet, zone, "lower.example")
    assert r.rc == 1, r
    assert codes(out) == ["v-not-first"]


def test_DMARC9_CHK_01_syntax_error_record_ignored(signet, zone):
    r, out = check_json(signet, zone, "syntax.example")
    assert r.rc == 1, r
    assert codes(out)[:2] == ["record-ignored", "bad-value"]
    assert "put a ';' between the tags" in check(signet, zone, "syntax.example").text


def test_DMARC9_REC_02_broken_part_discarded_record_stands(signet, zone):
    r, out = check_json(signet, zone, "broken.example")
    assert r.rc == 1, r  # receivers ignore a part of it
    assert codes(out) == ["broken-part"]
    assert out["policy"]["domain"] == "reject"


def test_DMARC9_WALK_02_tree_walk_finds_org_record(signet, zone):
    r, out = check_json(signet, zone, "mail.dept.org.example")
    assert r.rc == 0, r
    assert [a["name"] for a in out["asked"]][:3] == [
        "_dmarc.mail.dept.org.example", "_dmarc.dept.org.example", "_dmarc.org.example"]
    assert out["found_at"] == "_dmarc.org.example"
    assert codes(out) == ["sp-weaker"]
    assert out["policy"]["subdomains"] == "quarantine"
    text = check(signet, zone, "mail.dept.org.example").text
    assert "the record of org.example covers it as a subdomain" in text


def test_no_record_exit_2(signet, zone):
    r, out = check_json(signet, zone, "nothing.example")
    assert r.rc == 2, r
    assert out["result"] == "no-record" and out["found_at"] is None
    assert "publish one at _dmarc.nothing.example" in check(signet, zone, "nothing.example").text


def test_DMARC_DISC_03_temperror_exit_3(signet, zone):
    r, out = check_json(signet, zone, "slow.example")
    assert r.rc == 3, r
    assert out["result"] == "temperror"
    assert "try again later" in check(signet, zone, "slow.example").text


def test_DMARC9_IDN_01_u_label_domain(signet, zone):
    # RFC 9989 5.3.1: a U-label domain is looked up as its A-label.
    r, out = check_json(signet, zone, "B\u00fccher.example")
    assert r.rc == 0, r
    assert out["domain"] == "xn--bcher-kva.example"
    assert out["found_at"] == "_dmarc.xn--bcher-kva.example"
    r = check(signet, zone, "b\u00fc..example")
    assert r.rc == 64 and "not a domain DMARC can check" in r.err, r


def test_hostile_record_bytes_are_escaped(signet, zone):
    r = check(signet, zone, "hostile.example")
    assert b"\x1b" not in r.out and b"\x9b" not in r.out, r
    assert "mailto:\\027[31m@evil.example" in r.text
    assert "ruf=mailto:a@b\\155\\155" in r.text
    assert "'rua=mailto:?[31m@evil.example' is not a tag=value pair" in r.text


@pytest.mark.parametrize("args,msg", [
    (["dmarc"], "give a subcommand"),
    (["dmarc", "nope"], "unknown subcommand 'nope'"),
    (["dmarc", "check"], "give one DOMAIN"),
    (["dmarc", "check", "a.example", "b.example"], "unexpected argument 'b.example'"),
    (["dmarc", "check", "a.example", "--zone", "z", "--dns"], "does not go with"),
    (["dmarc", "check", "bad..example", "--zone", "z"], "domain"),
])
def test_usage_errors(signet, args, msg):
    r = signet.run(*args)
    assert r.rc == 64 and msg in r.err, (args, r)


@pytest.fixture(scope="module")
def unbound():
    ub = harness.Unbound({"test": {
        "_dmarc.example.test": ["v=DMARC1; p=reject; rua=mailto:d@example.test,mailto:x@ext.test"],
        "example.test._report._dmarc.ext.test": ["v=DMARC1"],
        "_dmarc.split.test": [["v=DMARC1; ", "p=quarantine"]],  # two strings, joined
        "host.sub.example.test": [("A", "192.0.2.1")],
    }})
    ub.start()
    yield ub
    ub.cleanup()


def test_dns_against_real_unbound(signet, unbound):
    r = signet.run("dmarc", "check", "sub.example.test", "--dns", "--server",
                   unbound.forwarder(), "--json")
    out = json.loads(r.text)
    assert r.rc == 0, r
    assert out["found_at"] == "_dmarc.example.test"
    assert [x["authorized"] for x in out["rua"]] == [True, True]
    assert out["rua"][1]["external"] is True
    r = signet.run("dmarc", "check", "split.test", "--dns", "--server", unbound.forwarder(),
                   "--json")
    out = json.loads(r.text)
    assert out["record"] == "v=DMARC1; p=quarantine" and out["policy"]["domain"] == "quarantine"
    r = signet.run("dmarc", "check", "absent.test", "--dns", "--server", unbound.forwarder())
    assert r.rc == 2, r
