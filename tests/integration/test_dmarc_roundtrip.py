# test_dmarc_roundtrip.py: DMARC aggregate reports end to end (issue #15):
# signetd in a real Postfix, with dmarc.reports on, evaluates mail from an
# outside client (a real unbound serves SPF and _dmarc records), records one
# observation per message through its writer thread into the SQLite store;
# `signet dmarc report -c signetd.conf --out DIR` (what the daily timer runs,
# the store, sender and organisation taken from the config) writes the
# reports; the RFC 7489 form validates with xmllint against the Appendix C
# schema, the counts are those of the mail sent from two sources (one SPF
# authorizes, one it does not), and `signet dmarc digest` reads the report
# back with the same counts. A domain with no aligned pass that day gets no
# report (only_authenticated, the default).
# Environment: SIGNET_BIN, SIGNETD_BIN.
import gzip
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import crlf, make_message, unique_id  # noqa: E402

OUTSIDE = "127.0.0.3"   # pass.example.org's SPF authorizes it
OTHER = "127.0.0.4"     # and not this one
FROM = "dmarc-reports@mx.signet.test"
ZONE = {
    "pass.example.org": ["v=spf1 ip4:127.0.0.3 -all"],
    "_dmarc.pass.example.org": ["v=DMARC1; p=reject; rua=mailto:agg@pass.example.org"],
    "fail.example.org": ["v=spf1 ip4:192.0.2.1 -all"],
    "_dmarc.fail.example.org": ["v=DMARC1; p=none; rua=mailto:agg@fail.example.org"],
}


def require_tools():
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.UNBOUND)
    if missing:
        pytest.skip(f"Postfix/unbound tools missing: {', '.join(missing)}")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")


def send(postfix, from_addr, n, source=OUTSIDE, expect=250):
    for _ in range(n):
        mid = unique_id("rt")
        with smtplib.SMTP("127.0.0.1", postfix.smtp_port, source_address=(source, 0),
                          timeout=60) as s:
            s.ehlo("client.signet.test")
            assert s.mail(from_addr)[0] == 250
            assert s.rcpt("user@dest.test")[0] in (250, 251)
            code, resp = s.data(crlf(make_message(mid, from_addr=from_addr)))
            assert code == expect, (code, resp)
        if expect == 250:
            postfix.wait_delivery(mid)


def test_DMARC_RPT_roundtrip_signetd_to_report(tmp_path, testdata):
    require_tools()
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        pytest.skip("xmllint not installed (Debian libxml2-utils; scripts/deps.sh)")
    tmp_path.chmod(0o755)
    db = tmp_path / "dmarc.db"
    unbound = harness.Unbound({"example.org": ZONE})
    sd = postfix = None
    try:
        unbound.start()
        sd = harness.Signetd(harness.signetd_path(), [unbound.forwarder()], [], dmarc=True,
                             extra=(f'dmarc {{ reports {{ enabled = true; db = "{db}"; '
                                    f'from = "{FROM}"; org_name = "Signet Test"; }} }}\n'))
        sd.start()
        assert sd.log_lines_with(f"DMARC report data recorded in {db}"), sd.log_text()
        postfix = harness.Postfix(milter=sd.milter())
        postfix.start()
        send(postfix, "a@pass.example.org", 3)
        send(postfix, "c@pass.example.org", 2, source=OTHER, expect=550)  # DMARC fail, p=reject
        send(postfix, "b@fail.example.org", 2)
        # SIGTERM: the writer writes what is queued before signetd exits
        assert sd.stop() == 0, sd.log_text()[-3000:]
        out = tmp_path / "out"
        out.mkdir()
        zone = tmp_path / "zone.txt"
        zone.write_text("")  # rua in the domain itself: no authorization lookup
        r = subprocess.run([str(harness.signet_path()), "dmarc", "report", "-c", str(sd.conf),
                            "--out", str(out), "--zone", str(zone), "--format", "rfc7489",
                            "--day", time.strftime("%Y-%m-%d", time.gmtime())],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        files = sorted(out.glob("*.xml.gz"))
        assert [f.name.split("!")[1] for f in files] == ["pass.example.org"], \
            (files, r.stdout)
        assert "fail.example.org" in r.stdout, r.stdout  # said why it was skipped
        xml = gzip.decompress(files[0].read_bytes())
        xsd = (testdata / "dmarc" / "rfc7489-rua.xsd").read_text()
        (tmp_path / "rua.xsd").write_text(re.sub(r'\s+targetNamespace="[^"]*"', "", xsd,
                                                 count=1))
        (tmp_path / "r.xml").write_bytes(xml)
        v = subprocess.run([xmllint, "--noout", "--schema", str(tmp_path / "rua.xsd"),
                            str(tmp_path / "r.xml")], capture_output=True, text=True)
        assert v.returncode == 0, v.stderr + xml.decode()
        root = ET.fromstring(xml)
        assert root.findtext("report_metadata/org_name") == "Signet Test"
        assert root.findtext("report_metadata/email") == FROM
        assert root.findtext("policy_published/domain") == "pass.example.org"
        assert root.findtext("policy_published/p") == "reject"
        recs = {r.findtext("row/source_ip"): r for r in root.findall("record")}
        assert sorted(recs) == [OUTSIDE, OTHER], xml.decode()
        rec = recs[OUTSIDE]
        assert rec.findtext("row/count") == "3"
        assert rec.findtext("row/policy_evaluated/disposition") == "none"
        assert rec.findtext("row/policy_evaluated/spf") == "pass"
        assert rec.findtext("identifiers/header_from") == "pass.example.org"
        assert rec.findtext("identifiers/envelope_to") == "dest.test"
        assert rec.findtext("auth_results/spf/domain") == "pass.example.org"
        assert rec.findtext("auth_results/spf/result") == "pass"
        bad = recs[OTHER]
        assert bad.findtext("row/count") == "2"  # rejected with 550: recorded too
        assert bad.findtext("row/policy_evaluated/disposition") == "reject"
        assert bad.findtext("row/policy_evaluated/spf") == "fail"
        assert bad.findtext("auth_results/spf/result") == "fail"
        # the digest reads the report back with the same counts
        d = subprocess.run([str(harness.signet_path()), "dmarc", "digest", "--json",
                            str(files[0])], capture_output=True, text=True, timeout=60)
        assert d.returncode == 0, d.stdout + d.stderr
        dj = json.loads(d.stdout)
        assert (dj["messages"], dj["dmarc_pass"], dj["spf_pass"]) == (5, 3, 3), dj
        src = {x["ip"]: x for x in dj["sources"]}
        assert src[OUTSIDE]["messages"] == 3 and src[OUTSIDE]["dispositions"] == {"none": 3}
        assert src[OTHER]["messages"] == 2 and src[OTHER]["dispositions"] == {"reject": 2}
    finally:
        for x in (postfix, sd, unbound):
            if x:
                x.cleanup()
