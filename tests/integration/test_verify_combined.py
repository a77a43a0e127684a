# test_verify_combined.py: `signet verify` as the receiving-side walk-through
# of DESIGN.md ("Receiving-side checks"; issues #13, #14, #16): SPF, every
# DKIM signature, DMARC (RFC 9989 tree walk; RFC 7489 with --rfc7489) and ARC
# (--arc), printed as --json's extra line, --explain's steps and --ar's
# Authentication-Results; and `signet arc seal` through the CLI. Zone files
# are written here; messages are signed with `signet sign`.
import json
import os
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

AUTHSERV = "mx.example.net"
GOOD_IP = "192.0.2.10"    # in example.com's SPF record
BAD_IP = "198.51.100.66"  # in nobody's

ZONE = """\
example.com TXT v=spf1 ip4:192.0.2.0/24 -all
_dmarc.example.com TXT v=DMARC1; p=reject; rua=mailto:dmarc@example.com
bank.example TXT v=spf1 -all
_dmarc.bank.example TXT v=DMARC1; p=reject
strict.example TXT v=spf1 -all
_dmarc.strict.example TXT v=DMARC1; p=quarantine; adkim=s; aspf=s
nodmarc.example TXT v=spf1 ip4:192.0.2.0/24 -all
_dmarc.slow.example TIMEOUT
slow.example A 192.0.2.1
_dmarc.bad.example TXT v=DMARC1; p=bogus
_dmarc.pct.example TXT v=DMARC1; p=reject; pct=0
_dmarc.np.example TXT v=DMARC1; p=none; np=reject
real.np.example TXT not an A record: the name exists (NODATA for A)
mx.bounce.example TXT v=spf1 ip4:192.0.2.0/24 -all
_dmarc.bounce.example TXT v=DMARC1; p=reject; aspf=r
_dmarc.long.example TXT v=DMARC1; p=none; rua=mailto:""" + "r" * 600 + """@long.example
"""


def message(frm="Alice <alice@example.com>", body="Hello, Bob.\n"):
    return (f"From: {frm}\nTo: bob@example.net\nSubject: combined\n"
            f"Date: Mon, 7 Dec 2026 20:00:00 +0000\nMessage-ID: <c1@example.com>\n\n{body}").encode()


@pytest.fixture(scope="module")
def kit(signet, tmp_path_factory):
    """Two ed25519 keys (d=example.com and d=mail.example.com, also used for
    strict.example's subdomain) and a zone with their records and ZONE."""
    d = tmp_path_factory.mktemp("combined")
    lines = [ZONE]
    keys = {}
    for dom in ("example.com", "mail.example.com", "mail.strict.example"):
        k = d / f"{dom}.pem"
        r = signet.keygen(str(k), domain=dom, selector="sel", type_="ed25519")
        keys[dom] = str(k)
        lines.append(f"sel._domainkey.{dom} TXT {r.text.strip()}\n")
    zone = d / "zone"
    zone.write_text("".join(lines))
    return {"dir": d, "zone": str(zone), "keys": keys, "records": lines}


def signed(signet, kit, msg, domain="example.com"):
    return signet.sign(msg, kit["keys"][domain], domain=domain, extra=("--time", "1765130000")).out


def verify(signet, kit, msg, *extra):
    return signet.run("verify", "--zone", kit["zone"], *extra, input=msg)


def checks(r):
    """The extra JSON line after the per-signature lines."""
    rows = r.json()
    assert "dmarc" in rows[-1] and "spf" in rows[-1], r
    return rows[-1]


def spf_args(ip=GOOD_IP, mail_from="alice@example.com", helo="mail.example.com"):
    return ("--ip", ip, "--mail-from", mail_from, "--helo", helo)


def test_DMARC_RES_01_all_aligned_passes(signet, kit):
    r = verify(signet, kit, signed(signet, kit, message()), *spf_args(), "--json")
    assert r.rc == 0, r
    c = checks(r)
    assert c["spf"]["result"] == "pass" and c["spf"]["identity"] == "mailfrom", c
    assert c["spf_helo"]["identity"] == "helo", c
    d = c["dmarc"]
    assert (d["result"], d["policy"], d["disposition"], d["header_from"]) == \
        ("pass", "reject", "none", "example.com"), d
    assert sorted(a["method"] for a in d["aligned"]) == ["dkim", "spf"], d
    assert c["arc"] is None


def test_DMARC_RES_01_spoofed_from_p_reject(signet, kit):
    """From bank.example, signed by example.com from example.com's IP: DKIM
    and SPF pass for example.com, neither aligns with bank.example."""
    msg = signed(signet, kit, message(frm="CEO <ceo@bank.example>"))
    r = verify(signet, kit, msg, *spf_args(), "--json")
    assert r.rc == 0, r  # exit codes stay DKIM's: the signature passes
    d = checks(r)["dmarc"]
    assert (d["result"], d["policy"], d["disposition"]) == ("fail", "reject", "reject"), d
    assert d["aligned"] == [], d
    assert {(i["method"], i["state"]) for i in d["identifiers"]} == \
        {("dkim", "not aligned"), ("spf", "not aligned")}, d


def test_DMARC_ALIGN_relaxed_vs_strict_subdomain_d(signet, kit):
    """d=mail.example.com aligns with From example.com under adkim=r; under
    strict.example's adkim=s, d=mail.strict.example does not."""
    r = verify(signet, kit, signed(signet, kit, message(), "mail.example.com"), "--dmarc", "--json")
    d = checks(r)["dmarc"]
    assert d["result"] == "pass" and d["aligned"][0]["domain"] == "mail.example.com", d
    assert checks(r)["spf"] is None  # no --ip: no SPF identifier
    msg = signed(signet, kit, message(frm="a@strict.example"), "mail.strict.example")
    r = verify(signet, kit, msg, "--dmarc", "--json", "--explain")
    d = checks(r)["dmarc"]
    assert (d["result"], d["policy"], d["disposition"]) == ("fail", "quarantine", "quarantine"), d
    assert d["identifiers"][0]["state"] == "not aligned", d
    t = verify(signet, kit, msg, "--dmarc", "--explain").text
    assert "adkim=s: DKIM d= must equal the From domain" in t, t
    assert "dkim d=mail.strict.example s=sel: not aligned (strict: not equal to the From domain)" in t, t


def test_DMARC_DISC_no_record_is_none(signet, kit):
    msg = signed(signet, kit, message(frm="a@nodmarc.example"))
    r = verify(signet, kit, msg, *spf_args(mail_from="a@nodmarc.example"), "--json")
    d = checks(r)["dmarc"]
    assert (d["result"], d["policy"], d["policy_domain"]) == ("none", None, None), d
    # the tree walk goes on to the top (RFC 9989 4.10)
    assert d["queried"] == ["_dmarc.nodmarc.example", "_dmarc.example"], d


def test_DMARC_DISC_tree_walk_finds_org_record(signet, kit):
    msg = signed(signet, kit, message(frm="a@deep.sub.example.com"))
    r = verify(signet, kit, msg, "--dmarc", "--json")
    d = checks(r)["dmarc"]
    assert d["policy_domain"] == "example.com" and d["result"] == "pass", d
    assert d["queried"][:3] == ["_dmarc.deep.sub.example.com", "_dmarc.sub.example.com",
                                "_dmarc.example.com"], d
    t = verify(signet, kit, msg, "--dmarc", "--explain").text
    for name in d["queried"]:
        assert f"    {name} TXT: " in t, (name, t)
    assert "_dmarc.deep.sub.example.com TXT: no such name (NXDOMAIN)" in t, t
    assert 'record at _dmarc.example.com: usable' in t, t


def test_DMARC_TEMP_timeout_on_dmarc_name(signet, kit):
    msg = signed(signet, kit, message(frm="a@slow.example"))
    r = verify(signet, kit, msg, "--dmarc", "--json")
    assert r.rc == 0, r
    d = checks(r)["dmarc"]
    assert d["result"] == "temperror", d
    t = verify(signet, kit, msg, "--dmarc", "--explain").text
    assert "_dmarc.slow.example TXT: temporary failure" in t, t


def test_DMARC_REC_malformed_record(signet, kit):
    """p=bogus with no valid rua=: the record is rejected; RFC 9989 9.2
    makes that permerror (the library's judgment, shown as is)."""
    msg = signed(signet, kit, message(frm="a@bad.example"))
    d = checks(verify(signet, kit, msg, "--dmarc", "--json"))["dmarc"]
    assert d["result"] == "permerror" and "p=" in d["reason"], d
    t = verify(signet, kit, msg, "--dmarc", "--explain").text
    assert "record at _dmarc.bad.example: rejected" in t, t


def test_DMARC_7489_pct_0_sampled_out(signet, kit):
    msg = signed(signet, kit, message(frm="a@pct.example"))
    d = checks(verify(signet, kit, msg, "--rfc7489", "--json"))["dmarc"]
    assert (d["mode"], d["result"], d["policy"], d["disposition"], d["override"]) == \
        ("rfc7489", "fail", "reject", "quarantine", "sampled-out"), d
    # the same record in RFC 9989 mode: pct= is not a tag there
    d = checks(verify(signet, kit, msg, "--dmarc", "--json"))["dmarc"]
    assert (d["mode"], d["disposition"], d["override"]) == ("rfc9989", "reject", None), d
    t = verify(signet, kit, msg, "--rfc7489", "--explain").text
    assert "pct=0: the policy applies to 0% of failing mail" in t, t
    assert "disposition: quarantine, moved by sampled-out" in t, t
    r = verify(signet, kit, msg, "--rfc7489", "--psl", "")
    assert r.rc == 4 and "--rfc7489 needs the public suffix list" in r.err, r


def authres_module():
    try:
        import authres  # noqa: F401  (python3-authres)
        return authres
    except ImportError:
        pytest.skip("python3-authres is not installed (scripts/deps.sh installs it)")


def ar_value(text):
    """The folded Authentication-Results field printed last by --ar, unfolded."""
    lines = text.splitlines()
    k = max(i for i, line in enumerate(lines) if line.startswith("Authentication-Results:"))
    return " ".join(x.strip() for x in lines[k:])[len("Authentication-Results:"):]


def test_AR_methods_parsed_by_authres(signet, kit, tmp_path):
    authres = authres_module()
    sealed = signet.run("arc", "seal", "-d", "example.com", "-s", "sel", "-k",
                        kit["keys"]["example.com"], "--zone", kit["zone"], "--authserv-id",
                        "fwd.example.com", input=signed(signet, kit, message()))
    assert sealed.rc == 0, sealed
    r = verify(signet, kit, sealed.out, *spf_args(), "--arc", "--ar", AUTHSERV)
    h = authres.AuthenticationResultsHeader.parse("Authentication-Results:" + ar_value(r.text))
    assert h.authserv_id == AUTHSERV
    got = [(res.method, res.result) for res in h.results]
    # spf twice: MAIL FROM (pass), then HELO (mail.example.com has no record)
    assert got == [("dkim", "pass"), ("spf", "pass"), ("spf", "none"), ("arc", "pass"),
                   ("dmarc", "pass")], (got, r.text)
    props = {(res.method, p.type, p.name): p.value for res in h.results for p in res.properties}
    assert props[("dmarc", "header", "from")] == "example.com", props
    assert props[("spf", "smtp", "mailfrom")] == "alice@example.com", props
    assert props[("spf", "smtp", "helo")] == "mail.example.com", props
    # plain --ar: DKIM only, as before
    r = signet.run("verify", "--keys", kit["zone"], "--ar", AUTHSERV,
                   input=signed(signet, kit, message()))
    h = authres.AuthenticationResultsHeader.parse("Authentication-Results:" + ar_value(r.text))
    assert [res.method for res in h.results] == ["dkim"], r.text


def test_explain_walks_every_step_in_order(signet, kit):
    msg = signed(signet, kit, message(frm="a@deep.sub.example.com"))
    t = verify(signet, kit, msg, *spf_args(), "--arc", "--explain").text
    steps = ["SPF (RFC 7208), MAIL FROM identity: pass", "ip4:192.0.2.0/24: matches",
             "DNS-querying terms: 0 of 10", "SPF (RFC 7208), HELO identity: none",
             "signature 1: d=example.com s=sel a=ed25519-sha256: pass", "  signature   ok",
             "DMARC (RFC 9989, DNS tree walk):", "author domain (From): deep.sub.example.com",
             "_dmarc.deep.sub.example.com TXT", "record at _dmarc.example.com: usable",
             "p=reject: refuse failing mail", "organizational domain: example.com",
             "alignment with deep.sub.example.com:",
             "dkim d=example.com s=sel: aligned (relaxed: same organizational domain)",
             "spf example.com: aligned (relaxed: same organizational domain)",
             "result: pass", "policy: reject (from p=)", "disposition: none",
             "ARC (RFC 8617): 0 sets", "chain: none"]
    pos = 0
    for s in steps:
        k = t.find(s, pos)
        assert k >= 0, (s, t[pos:])
        pos = k + len(s)


def test_plain_verify_output_unchanged(signet, kit):
    """Without --ip/--mail-from/--helo/--dmarc/--arc, nothing is added."""
    msg = signed(signet, kit, message())
    r = verify(signet, kit, msg)
    assert r.rc == 0 and r.text == "signature 1: d=example.com s=sel a=ed25519-sha256: pass\n", r
    r = verify(signet, kit, msg, "--json")
    assert len(r.json()) == 1 and "dmarc" not in r.json()[0], r
    # --zone and --keys are the same source for keys
    assert verify(signet, kit, msg).out == signet.run("verify", "--keys", kit["zone"], input=msg).out


@pytest.mark.parametrize("args,msg", [
    (("--mail-from", "a@example.com"), "--mail-from and --helo go with --ip"),
    (("--ip", "192.0.2.1"), "--ip goes with --mail-from or --helo"),
    (("--ip", "192.0.2.1", "--mail-from", ""), "give --helo NAME"),
    (("--zone", "z", "--keys", "z"), "give one of --keys, --zone and --dns"),
])
def test_usage_errors(signet, args, msg):
    r = signet.run("verify", *args)
    assert r.rc == 64 and msg in r.err, r


def test_bad_ip_is_an_error_not_a_crash(signet, kit):
    r = verify(signet, kit, signed(signet, kit, message()), "--ip", "not-an-ip",
               "--mail-from", "a@example.com")
    assert r.rc == 4 and "--ip 'not-an-ip' is not an IPv4 or IPv6 address" in r.err, r


def test_spf_fail_does_not_change_exit(signet, kit):
    r = verify(signet, kit, signed(signet, kit, message()), *spf_args(ip=BAD_IP), "--json")
    assert r.rc == 0, r
    c = checks(r)
    assert c["spf"]["result"] == "fail" and c["dmarc"]["result"] == "pass", c
    assert [a["method"] for a in c["dmarc"]["aligned"]] == ["dkim"], c


@pytest.mark.parametrize("author,exists,policy,applied", [
    ("ghost.np.example", "no (NXDOMAIN)", "reject", "np"),
    ("real.np.example", "yes", "none", "p"),
])
def test_DMARC_NP_existence_question(signet, kit, author, exists, policy, applied):
    """np= applies to a non-existent author domain (RFC 9989 4.7, RFC 8020):
    the existence question is answered from the zone (NODATA exists)."""
    msg = signed(signet, kit, message(frm=f"a@{author}"))
    d = checks(verify(signet, kit, msg, "--dmarc", "--json"))["dmarc"]
    assert (d["result"], d["policy"], d["applied"]) == ("fail", policy, applied), d
    t = verify(signet, kit, msg, "--dmarc", "--explain").text
    assert f"does {author} exist (np=, RFC 8020)? {exists}" in t, t


def test_DMARC_SPF_null_sender_uses_postmaster_at_helo(signet, kit):
    """MAIL FROM <>: SPF checks postmaster@HELO (RFC 7208 2.4) and DMARC
    aligns that domain (RFC 9989 4.4); unsigned, so SPF alone decides."""
    msg = message(frm="Mailer <mailer-daemon@bounce.example>")
    r = verify(signet, kit, msg, *spf_args(mail_from="", helo="mx.bounce.example"), "--json")
    assert r.rc == 2, r  # no DKIM-Signature
    c = checks(r)
    assert (c["spf"]["result"], c["spf"]["domain"]) == ("pass", "mx.bounce.example"), c
    d = c["dmarc"]
    assert d["result"] == "pass" and d["aligned"] == \
        [{"method": "spf", "domain": "mx.bounce.example", "state": "aligned"}], d
    # HELO alone: shown, but not a DMARC identifier
    r = verify(signet, kit, msg, "--ip", GOOD_IP, "--helo", "mx.bounce.example", "--json")
    c = checks(r)
    assert c["spf"] is None and c["spf_helo"]["result"] == "pass", c
    assert c["dmarc"]["result"] == "fail" and c["dmarc"]["identifiers"] == [], c


@pytest.mark.parametrize("header,why", [
    ("", "no From"),
    ("From: a@example.com\nFrom: b@example.com\n", "more than one From field"),
    # EVAL_MAX_FROM_FIELDS (4) kept; the fifth and sixth are counted
    ("".join(f"From: u{k}@example.com\n" for k in range(6)), "more than one From field"),
    ("From: not an address\n", None),
])
def test_DMARC_FROM_unusable_from_is_a_result(signet, kit, header, why):
    msg = (header + "To: b@example.net\nSubject: x\n\nbody\n").encode()
    r = verify(signet, kit, msg, "--dmarc", "--json")
    assert r.rc == 2, r
    d = checks(r)["dmarc"]
    assert d["result"] == "none" and d["header_from"] is None and d["queried"] == [], d
    if why:
        assert why in d["reason"], d
    t = verify(signet, kit, msg, "--dmarc", "--explain").text
    assert "author domain (From): (none)" in t, t


def test_DMARC_explain_cuts_a_long_record(signet, kit):
    """EVAL_MAX_SHOWN_TXT (512 bytes) of an answer are shown, then [...]."""
    msg = signed(signet, kit, message(frm="a@long.example"))
    t = verify(signet, kit, msg, "--dmarc", "--explain").text
    line = [x for x in t.splitlines() if x.startswith("    _dmarc.long.example TXT: ")][0]
    shown = line.split('first: "', 1)[1]
    assert shown.endswith('" [...]') and len(shown) == 511 + len('" [...]'), line
    # the record itself is read whole: rua= as written
    assert "@long.example: aggregate reports go there" in t, t


# ---- ARC through the CLI ------------------------------------------------

def seal(signet, kit, msg, t, *extra, ok=True):
    r = signet.run("arc", "seal", "-d", "example.com", "-s", "sel", "-k",
                   kit["keys"]["example.com"], "--zone", kit["zone"], "--authserv-id",
                   "fwd.example.com", "--time", str(t), *extra, input=msg)
    if ok:
        assert r.rc == 0, r
    return r


def arc_of(signet, kit, msg):
    return checks(verify(signet, kit, msg, "--arc", "--json"))["arc"]


def test_ARC_SEAL_cli_seal_verify_modify_reseal(signet, kit):
    msg = signed(signet, kit, message())
    one = seal(signet, kit, msg, 1765130100, *spf_args()).out
    head = one.split(b"\n", 3)
    assert head[0].startswith(b"ARC-Seal:") and b"cv=none" in one.split(b"ARC-Message")[0], one
    assert b"ARC-Authentication-Results: i=1; fwd.example.com; dkim=pass" in one, one
    assert b"dmarc=pass" in one and b"spf=pass" in one, one
    a = arc_of(signet, kit, one)
    assert (a["result"], a["oldest_pass"], a["sets"], a["cv"]) == ("pass", 0, 1, ["none"]), a
    # body changed after sealing: the newest AMS fails
    broken = one.replace(b"Hello, Bob.", b"Hello, Eve.")
    a = arc_of(signet, kit, broken)
    assert a["result"] == "fail" and a["reason"], a
    # sealed twice: i=2, cv=pass
    two = seal(signet, kit, one, 1765130200).out
    a = arc_of(signet, kit, two)
    assert (a["result"], a["sets"], a["cv"]) == ("pass", 2, ["pass", "none"]), a
    t = verify(signet, kit, two, "--arc", "--explain").text
    assert "set i=2: d=example.com s=sel cv=pass" in t and "set i=1: d=example.com s=sel cv=none" in t, t


def test_ARC_SEAL_failed_chain_never_sealed_as_pass(signet, kit):
    one = seal(signet, kit, signed(signet, kit, message()), 1765130100).out
    broken = one.replace(b"Hello, Bob.", b"Hello, Eve.")
    r = seal(signet, kit, broken, 1765130200)
    top = r.out.split(b"ARC-Message-Signature:")[0]
    assert b"i=2" in top and b"cv=fail" in top, r
    a = arc_of(signet, kit, r.out)
    assert a["result"] == "fail", a
    # a chain whose newest seal says cv=fail is not sealed again (RFC 8617 5.1.2)
    r2 = seal(signet, kit, r.out, 1765130300)
    assert r2.out == r.out and "cv=fail" in r2.err, r2


def test_ARC_SEAL_temperror_chain_is_not_sealed(signet, kit, tmp_path):
    one = seal(signet, kit, signed(signet, kit, message()), 1765130100).out
    z = tmp_path / "zone"
    z.write_text("".join(kit["records"]).replace("sel._domainkey.example.com TXT",
                                                 "sel._domainkey.example.com TIMEOUT\n#"))
    r = signet.run("arc", "seal", "-d", "example.com", "-s", "sel", "-k",
                   kit["keys"]["example.com"], "--zone", str(z), "--authserv-id", "x.example",
                   input=one)
    assert r.rc == 1 and r.out == b"" and "cannot seal" in r.err, r


def test_ARC_SEAL_line_ends_follow_the_message(signet, kit, tmp_path):
    """RFC 8617 5.1: the three fields go on top, in the message's own line
    ends (CRLF stays CRLF, LF stays LF), and the message follows unchanged."""
    lf = signed(signet, kit, message())
    crlf = lf.replace(b"\n", b"\r\n")
    for msg, end in ((lf, b"\n"), (crlf, b"\r\n")):
        f = tmp_path / "m.eml"
        f.write_bytes(msg)
        r = signet.run("arc", "seal", "-d", "example.com", "-s", "sel", "-k",
                       kit["keys"]["example.com"], "--zone", kit["zone"], "--authserv-id",
                       "fwd.example.com", "--time", "1765130100", str(f))
        assert r.rc == 0 and r.out.endswith(msg), r
        top = r.out[:len(r.out) - len(msg)]
        names = [x.split(b":")[0] for x in top.split(end) if x and x[:1] not in (b" ", b"\t")]
        assert names == [b"ARC-Seal", b"ARC-Message-Signature", b"ARC-Authentication-Results"], top
        # every line end is the message's: no bare LF in CRLF, no CR in LF
        assert top.count(b"\n") == top.count(end), top
        assert top.count(b"\r") == (top.count(b"\n") if end == b"\r\n" else 0), top
        assert arc_of(signet, kit, r.out)["result"] == "pass"


def test_ARC_malformed_sets_are_a_result(signet, kit):
    """Garbage ARC fields and more than SIGNET_ARC_MAX_INSTANCES sets: arc
    fail with the library's reason, verify exits with DKIM's code, and
    arc seal refuses a chain already at the limit."""
    msg = signed(signet, kit, message())
    junk = b"ARC-Seal: junk\nARC-Message-Signature: \n" + msg
    r = verify(signet, kit, junk, "--arc", "--json")
    assert r.rc == 0 and r.json()[-1]["arc"]["result"] == "fail", r
    t = verify(signet, kit, junk, "--arc", "--explain").text
    assert "  set i=?: d= s= cv=?" in t and "why: ARC-Seal:" in t, t
    many = b"".join(b"ARC-Seal: i=%d; a=ed25519-sha256; cv=pass; d=example.com; s=sel; b=; t=1\n"
                    % i for i in range(1, 52)) + msg
    a = verify(signet, kit, many, "--arc", "--json").json()[-1]["arc"]
    assert a["result"] == "fail" and "SIGNET_ARC_MAX_INSTANCES (50)" in a["reason"], a
    r = seal(signet, kit, many, 1765130100, ok=False)
    assert r.rc == 1 and r.out == b"" and "SIGNET_ARC_MAX_INSTANCES" in r.err, r


def test_arc_seal_usage(signet, kit):
    r = signet.run("arc", "seal", "-d", "example.com")
    assert r.rc == 64 and "-d DOMAIN, -s SELECTOR and -k KEYFILE are required" in r.err, r
    r = signet.run("arc", "frob")
    assert r.rc == 64 and "give a subcommand: seal" in r.err, r


# ---- real DNS --------------------------------------------------------------

@pytest.fixture(scope="module")
def unbound(kit):
    key = [x for x in kit["records"] if x.startswith("sel._domainkey.example.com ")][0]
    ub = harness.Unbound({"com": {  # static: _dmarc.com is NXDOMAIN, not recursed
        "example.com": ["v=spf1 ip4:192.0.2.0/24 -all"],
        "_dmarc.example.com": ["v=DMARC1; p=reject"],
        "sel._domainkey.example.com": [key.split(" TXT ", 1)[1].strip()],
    }, "net": {  # np.example.net is its own organizational domain (RFC 9989 4.10.2)
        "_dmarc.np.example.net": ["v=DMARC1; p=none; np=reject"],
        "real.np.example.net": ["exists, no A record"],
    }})
    ub.start()
    yield ub
    ub.cleanup()


def test_dns_server_against_real_unbound(signet, kit, unbound):
    msg = signed(signet, kit, message(frm="a@sub.example.com"))
    r = signet.run("verify", "--dns", "--server", unbound.forwarder(), *spf_args(), "--json",
                   input=msg)
    assert r.rc == 0, r
    c = checks(r)
    assert c["spf"]["result"] == "pass", c
    d = c["dmarc"]
    assert (d["result"], d["policy_domain"]) == ("pass", "example.com"), d
    assert d["queried"][:2] == ["_dmarc.sub.example.com", "_dmarc.example.com"], d


@pytest.mark.parametrize("author,policy", [("ghost.np.example.net", "reject"),
                                           ("real.np.example.net", "none")])
def test_dns_server_existence_question(signet, kit, unbound, author, policy):
    """Through the resolver, NODATA (a name with only TXT) is an existing
    name and NXDOMAIN is not: np= applies to the first only."""
    msg = message(frm=f"a@{author}")
    r = signet.run("verify", "--dns", "--server", unbound.forwarder(), "--dmarc", "--json",
                   input=msg)
    d = checks(r)["dmarc"]
    assert (d["result"], d["policy"], d["policy_domain"]) == ("fail", policy, "np.example.net"), d
