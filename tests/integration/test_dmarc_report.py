# test_dmarc_report.py: `signet dmarc report` (issue #15, "Sending"). A
# report store is filled with known observations by tests/report_fill (a
# test-only program on conf/report_store.h, as signetd's writer would), and
# the reports are checked: the RFC 7489 form validates with xmllint against
# the Appendix C schema (targetNamespace removed on a temp copy, as
# ../shared/testdata/dmarc/README.md says), the RFC 9990 form has the
# elements of the RFC 9990 example report in its order, the message parses
# with python3's email package (subject, multipart/mixed, text part,
# application/gzip attachment named receiver!domain!begin!end.xml.gz).
# Sending goes to a fake sendmail script that records its arguments and
# input: it stands for Postfix's sendmail(1) in a test of the sending code.
# Safety: the authorization record (found, not found, temperror via a
# ZONEFILE TIMEOUT line), only authenticated domains, the daily cap, rua
# !size, idempotence and retry after a sendmail failure.
import datetime
import email
import email.policy
import gzip
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from conftest import signet_path  # noqa: E402

NS = "urn:ietf:params:xml:ns:dmarc-2.0"
FROM = "dmarc-reports@receiver.example"
DAY = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1))
DAY_S = DAY.isoformat()
BEGIN = int(datetime.datetime(DAY.year, DAY.month, DAY.day,
                              tzinfo=datetime.timezone.utc).timestamp())
END = BEGIN + 86399


def fill_path():
    return signet_path().resolve().parent.parent / "tests" / "report_fill"


def obs(domain="example.com", ip="192.0.2.1", dkim="example.com:s1:pass", spf="pass",
        dmarc="pass", dkim_al=1, spf_al=1, disp="none", otype="-", ocomment="-",
        rua="mailto:dmarc@example.com", p="reject", sp="-", count=1, day=DAY_S,
        env_from="bounce.example.com", env_to="example.net"):
    cols = [day, domain, ip, domain, env_from, env_to, dkim,
            env_from if spf != "-" else "-", "mfrom" if spf != "-" else "-", spf, dmarc,
            str(dkim_al), str(spf_al), disp, otype, ocomment, p, sp, "none", "r", "s", "n",
            "-", rua, str(count)]
    return "\t".join(cols) + "\n"


@pytest.fixture
def store(tmp_path):
    fill = fill_path()
    if not fill.is_file():
        pytest.fail(f"tests/report_fill not built at {fill} (bash scripts/build.sh)")
    db = tmp_path / "dmarc.db"

    def put(*lines):
        r = subprocess.run([str(fill), str(db)], input="".join(lines).encode(),
                           capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr.decode()
        return db
    return put


@pytest.fixture
def sendmail(tmp_path):
    """A fake sendmail: records argv and stdin as NNN.args / NNN.eml in a
    directory, and exits 75 (EX_TEMPFAIL) while a file 'fail' exists there."""
    d = tmp_path / "outbox"
    d.mkdir()
    script = tmp_path / "sendmail"
    script.write_text(f"""#!/bin/sh
d='{d}'
[ -e "$d/fail" ] && {{ cat >/dev/null; exit 75; }}
n=$(ls "$d" | grep -c '\\.eml$')
n=$(printf %03d "$n")
printf '%s\\n' "$@" > "$d/$n.args"
cat > "$d/$n.eml"
""")
    script.chmod(0o755)

    class Box:
        path = str(script)
        dir = d

        def messages(self):
            out = []
            for eml in sorted(d.glob("*.eml")):
                args = eml.with_suffix(".args").read_text().splitlines()
                out.append((args, eml.read_bytes()))
            return out

        def fail(self, on):
            f = d / "fail"
            if on:
                f.write_text("")
            elif f.exists():
                f.unlink()
    return Box()


def zonefile(tmp_path, text):
    z = tmp_path / "zone"
    z.write_text(text)
    return str(z)


def report(signet, db, *args, zone=None):
    return signet.run("dmarc", "report", "--db", db, "--from", FROM, "--day", DAY_S,
                      "--zone", zone, *args)


def rcpts(box):
    return [args[-1] for args, _ in box.messages()]


# ---- the XML ------------------------------------------------------------


def xml_of(out_dir, domain):
    files = list(Path(out_dir).glob(f"receiver.example!{domain}!*.xml.gz"))
    assert len(files) == 1, files
    return gzip.decompress(files[0].read_bytes())


def test_DMARC_RPT_15_rfc7489_form_validates_against_schema(signet, store, tmp_path, testdata):
    """RFC 7489 Appendix C: the report validates against the schema (with the
    targetNamespace fix of ../shared/testdata/dmarc/README.md)."""
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        pytest.skip("xmllint not installed (Debian libxml2-utils; scripts/deps.sh)")
    xsd = (testdata / "dmarc" / "rfc7489-rua.xsd").read_text()
    fixed = re.sub(r'\s+targetNamespace="[^"]*"', "", xsd, count=1)
    assert fixed != xsd
    (tmp_path / "rua.xsd").write_text(fixed)
    db = store(obs(count=3), obs(ip="2001:db8::7", dkim="-", spf="fail", dmarc="fail",
                                 dkim_al=0, spf_al=0, disp="reject"),
               obs(ip="198.51.100.9", dkim="example.com:s1:pass,third.example:-:fail",
                   otype="local_policy", ocomment="forwarded <list> & 'co'"))
    out = tmp_path / "out"
    out.mkdir()
    r = report(signet, db, "--out", out, "--format", "rfc7489", zone=zonefile(tmp_path, ""))
    assert r.rc == 0, r
    x = xml_of(out, "example.com")
    (tmp_path / "r.xml").write_bytes(x)
    v = subprocess.run([xmllint, "--noout", "--schema", str(tmp_path / "rua.xsd"),
                        str(tmp_path / "r.xml")], capture_output=True, text=True)
    assert v.returncode == 0, v.stderr + x.decode()
    # The schema is not decoration: the RFC 9990 form (namespace, np, no
    # pct) does not validate against it.
    out9 = tmp_path / "out9"
    out9.mkdir()
    assert report(signet, db, "--out", out9, zone=zonefile(tmp_path, "")).rc == 0
    (tmp_path / "r9.xml").write_bytes(xml_of(out9, "example.com"))
    v = subprocess.run([xmllint, "--noout", "--schema", str(tmp_path / "rua.xsd"),
                        str(tmp_path / "r9.xml")], capture_output=True, text=True)
    assert v.returncode != 0


def element_order(elem, path=""):
    """{parent path: [child tags in order, repeats collapsed]} of a tree."""
    out = {}
    tags = []
    for child in elem:
        tag = child.tag.split("}")[-1]
        if not tags or tags[-1] != tag:
            tags.append(tag)
        sub = element_order(child, f"{path}/{tag}")
        for k, v in sub.items():
            out.setdefault(k, v)
    out[path or "/feedback"] = tags
    return out


def test_DMARC_RPT_15_rfc9990_form_matches_example(signet, store, tmp_path, testdata):
    """RFC 9990: namespace urn:ietf:params:xml:ns:dmarc-2.0, <version>1.0,
    and every element of the RFC's example report, in its order."""
    example = ET.parse(testdata / "dmarc" / "aggregate" / "rfc9990-example.xml").getroot()
    db = store(obs(count=123, sp="none"))
    out = tmp_path / "out"
    out.mkdir()
    assert report(signet, db, "--out", out, zone=zonefile(tmp_path, "")).rc == 0
    ours = ET.fromstring(xml_of(out, "example.com"))
    assert ours.tag == f"{{{NS}}}feedback" == example.tag
    assert ours.find(f"{{{NS}}}version").text == "1.0"
    want, got = element_order(example), element_order(ours)
    optional = {"extra_contact_info"}  # the example's placeholder "..."
    for parent, tags in want.items():
        if parent.split("/")[-1] in optional:
            continue
        assert parent in got, f"{parent} missing"
        mine = [t for t in got[parent] if t in tags]
        assert mine == [t for t in tags if t not in optional], (parent, got[parent], tags)
    md = ours.find(f"{{{NS}}}report_metadata")
    assert md.find(f"{{{NS}}}email").text == FROM
    dr = md.find(f"{{{NS}}}date_range")
    assert (int(dr.find(f"{{{NS}}}begin").text), int(dr.find(f"{{{NS}}}end").text)) == (BEGIN, END)
    rec = ours.find(f"{{{NS}}}record")
    assert rec.find(f"{{{NS}}}row/{{{NS}}}count").text == "123"
    assert rec.find(f"{{{NS}}}auth_results/{{{NS}}}dkim/{{{NS}}}selector").text == "s1"
    assert rec.find(f"{{{NS}}}auth_results/{{{NS}}}spf/{{{NS}}}scope").text == "mfrom"
    assert rec.find(f"{{{NS}}}identifiers/{{{NS}}}envelope_from").text == "bounce.example.com"


def test_DMARC_RPT_15_xml_escaping(signet, store, tmp_path):
    """Texts are escaped: a comment with markup characters parses back intact."""
    db = store(obs(otype="other", ocomment="<x a=\"1\"> & 'y'"))
    out = tmp_path / "out"
    out.mkdir()
    assert report(signet, db, "--out", out, zone=zonefile(tmp_path, "")).rc == 0
    root = ET.fromstring(xml_of(out, "example.com"))
    c = root.find(f".//{{{NS}}}reason/{{{NS}}}comment")
    assert c.text == "<x a=\"1\"> & 'y'"


def test_DMARC_RPT_02_counts_aggregated_per_source_and_result(signet, store, tmp_path):
    db = store(obs(count=4), obs(count=2), obs(ip="192.0.2.2", count=1),
               obs(spf="fail", spf_al=0, count=3))
    out = tmp_path / "out"
    out.mkdir()
    assert report(signet, db, "--out", out, zone=zonefile(tmp_path, "")).rc == 0
    root = ET.fromstring(xml_of(out, "example.com"))
    rows = sorted((r.find(f"{{{NS}}}row/{{{NS}}}source_ip").text,
                   r.find(f".//{{{NS}}}spf/{{{NS}}}result").text,
                   int(r.find(f"{{{NS}}}row/{{{NS}}}count").text))
                  for r in root.findall(f"{{{NS}}}record"))
    assert rows == [("192.0.2.1", "fail", 3), ("192.0.2.1", "pass", 6), ("192.0.2.2", "pass", 1)]


# ---- the message --------------------------------------------------------


def test_DMARC_RPT_16_subject_and_mime_layout(signet, store, tmp_path, sendmail):
    """RFC 9990 / RFC 7489 7.2.1.1: Subject "Report Domain: D Submitter: S
    Report-ID: <id>"; multipart/mixed, a text part, the gzip attachment."""
    db = store(obs(count=2))
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=zonefile(tmp_path, ""))
    assert r.rc == 0, r
    msgs = sendmail.messages()
    assert len(msgs) == 1
    args, raw = msgs[0]
    assert args == ["-i", "-f", FROM, "--", "dmarc@example.com"]
    m = email.message_from_bytes(raw, policy=email.policy.default)
    rid = f"{DAY_S}.example.com@receiver.example"
    assert m["Subject"] == f"Report Domain: example.com Submitter: receiver.example Report-ID: <{rid}>"
    assert m["From"] == FROM and m["To"] == "dmarc@example.com"
    assert m.get_content_type() == "multipart/mixed"
    parts = list(m.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "application/gzip"]
    att = parts[1]
    assert att.get_filename() == f"receiver.example!example.com!{BEGIN}!{END}.xml.gz"
    assert att.get_content_disposition() == "attachment"
    root = ET.fromstring(gzip.decompress(att.get_content()))
    assert root.find(f"{{{NS}}}report_metadata/{{{NS}}}report_id").text == rid
    assert f"sent example.com -> dmarc@example.com: report {rid}" in r.text


def test_DMARC_RPT_16_out_writes_report_and_message(signet, store, tmp_path):
    db = store(obs())
    out = tmp_path / "out"
    out.mkdir()
    r = report(signet, db, "--out", out, zone=zonefile(tmp_path, ""))
    assert r.rc == 0, r
    names = sorted(p.name for p in out.iterdir())
    base = f"receiver.example!example.com!{BEGIN}!{END}"
    assert names == [f"{base}!dmarc@example.com.eml", f"{base}.xml.gz"]
    m = email.message_from_bytes((out / names[0]).read_bytes(), policy=email.policy.default)
    att = list(m.iter_parts())[1]
    assert att.get_content() == (out / names[1]).read_bytes()


# ---- safety ----------------------------------------------------------------

AUTH_ZONE = """\
example.com._report._dmarc.ok.example TXT v=DMARC1
example.com._report._dmarc.other.example TXT v=spf1 -all
example.com._report._dmarc.slow.example TIMEOUT
"""


def test_DMARC_RPT_11_external_destination_authorization(signet, store, tmp_path, sendmail):
    """RFC 7489 7.1: an external rua destination gets reports only when
    <domain>._report._dmarc.<dest> has a v=DMARC1 record; not found (no
    record, or only other TXT): skipped; temperror: skipped and retried on
    the next run. The domain's own addresses need no record."""
    rua = ("mailto:a@ok.example,mailto:b@missing.example,mailto:c@other.example,"
           "mailto:d@slow.example,mailto:e@sub.example.com")
    db = store(obs(rua=rua))
    z = zonefile(tmp_path, AUTH_ZONE)
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=z)
    assert r.rc == 0, r
    assert sorted(rcpts(sendmail)) == ["a@ok.example", "e@sub.example.com"]
    assert ("skip example.com -> b@missing.example: missing.example has not authorized reports "
            "for example.com (no v=DMARC1 record at example.com._report._dmarc.missing.example, "
            "RFC 7489 7.1)") in r.text
    assert "skip example.com -> c@other.example: other.example has not authorized" in r.text
    assert ("skip example.com -> d@slow.example: temporary DNS error looking up "
            "example.com._report._dmarc.slow.example; retried on the next run") in r.text
    # Next run: the DNS answers now; only the destination that had the
    # temporary error gets the report.
    z = zonefile(tmp_path, AUTH_ZONE.replace("slow.example TIMEOUT", "slow.example TXT v=DMARC1"))
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=z)
    assert r.rc == 0, r
    assert sorted(rcpts(sendmail)) == ["a@ok.example", "d@slow.example", "e@sub.example.com"]


def test_DMARC_RPT_10_only_authenticated_domains(signet, store, tmp_path, sendmail):
    """A domain with no aligned SPF or DKIM pass that day (a spammer's
    domain publishing rua=) gets no report unless --all-domains."""
    db = store(obs(domain="spam.test", dkim="-", spf="fail", dmarc="fail", dkim_al=0, spf_al=0,
                   rua="mailto:x@spam.test", count=50),
               obs(domain="example.com"))
    z = zonefile(tmp_path, "")
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=z)
    assert r.rc == 0, r
    assert rcpts(sendmail) == ["dmarc@example.com"]
    assert "skip spam.test: no mail that passed SPF or DKIM aligned with it" in r.text
    r = report(signet, db, "--send", "--all-domains", "--sendmail", sendmail.path, zone=z)
    assert r.rc == 0, r
    assert rcpts(sendmail) == ["dmarc@example.com", "x@spam.test"]


def test_DMARC_RPT_12_daily_cap_per_destination(signet, store, tmp_path, sendmail):
    rua = "mailto:agg@collector.example"
    z = zonefile(tmp_path, "".join(f"{d}._report._dmarc.collector.example TXT v=DMARC1\n"
                                   for d in ("a.example", "b.example", "c.example")))
    db = store(*(obs(domain=d, rua=rua) for d in ("a.example", "b.example", "c.example")))
    r = report(signet, db, "--send", "--max-per-destination", "2", "--sendmail", sendmail.path,
               zone=z)
    assert r.rc == 0, r
    assert len(sendmail.messages()) == 2  # at the cap
    assert ("skip c.example -> agg@collector.example: 2 reports today reach the cap per "
            "destination (--max-per-destination 2)") in r.text
    # A higher cap on the next run sends the one left, and only it.
    r = report(signet, db, "--send", "--max-per-destination", "3", "--sendmail", sendmail.path,
               zone=z)
    assert r.rc == 0, r
    subjects = [email.message_from_bytes(raw)["Subject"] for _, raw in sendmail.messages()]
    assert [s.split()[2] for s in subjects] == ["a.example", "b.example", "c.example"]
    # --dry-run counts what it would send against the cap as well.
    r = report(signet, db, "--dry-run", "--max-per-destination", "1", zone=z)
    assert r.rc == 0 and "send " not in r.text, r


def test_DMARC_RPT_13_rua_size_limit(signet, store, tmp_path, sendmail):
    """rua "!size" (RFC 7489 6.2, k = 2^10 bytes): a bigger report message is
    not sent; one under the limit is."""
    db = store(obs(rua="mailto:small@example.com!1k,mailto:big@example.com!64k"))
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=zonefile(tmp_path, ""))
    assert r.rc == 0, r
    assert rcpts(sendmail) == ["big@example.com"]
    m = re.search(r"skip example.com -> small@example.com: the report message is (\d+) bytes, "
                  r"over the destination's limit of 1024 \(rua !size\)", r.text)
    assert m and int(m.group(1)) > 1024, r.text
    # The size is the whole message's (the To: line differs by the address).
    assert len(sendmail.messages()[0][1]) + len("small") - len("big") == int(m.group(1))


def test_DMARC_RPT_14_idempotent_and_retried_after_failure(signet, store, tmp_path, sendmail):
    """Each report id is sent once per destination: a second run sends
    nothing; a sendmail failure is recorded and retried on the next run."""
    db = store(obs(domain="a.example", rua="mailto:r@a.example"),
               obs(domain="b.example", rua="mailto:r@b.example"))
    z = zonefile(tmp_path, "")
    sendmail.fail(True)
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=z)
    assert r.rc == 1, r
    assert "failed (exit status 75)" in r.err
    assert rcpts(sendmail) == []
    sendmail.fail(False)
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=z)
    assert r.rc == 0, r
    assert sorted(rcpts(sendmail)) == ["r@a.example", "r@b.example"]
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=z)
    assert r.rc == 0, r
    assert len(sendmail.messages()) == 2
    assert f"skip a.example -> r@a.example: report {DAY_S}.a.example@receiver.example already sent" in r.text


def test_DMARC_RPT_17_dry_run_says_what_and_why(signet, store, tmp_path, sendmail):
    db = store(obs(rua="mailto:dmarc@example.com,https://example.com/r,mailto:x@far.example"))
    r = report(signet, db, "--dry-run", zone=zonefile(tmp_path, ""))
    assert r.rc == 0, r
    assert re.search(r"^send example.com -> dmarc@example.com: report \S+ \(\d+ bytes, "
                     r"receiver.example!example.com!\d+!\d+.xml.gz\)$", r.text, re.M), r.text
    assert "skip example.com -> https://example.com/r: not a usable mailto: URI" in r.text
    assert "skip example.com -> x@far.example: far.example has not authorized" in r.text
    # Nothing is recorded: a real run afterwards still sends.
    r = report(signet, db, "--send", "--sendmail", sendmail.path, zone=zonefile(tmp_path, ""))
    assert rcpts(sendmail) == ["dmarc@example.com"]


def test_DMARC_RPT_17_usage_and_store_errors(signet, store, tmp_path):
    db = store(obs())
    z = zonefile(tmp_path, "")
    r = signet.run("dmarc", "report", "--db", db, "--from", FROM, "--zone", z)
    assert r.rc == 64 and "give one of --send, --out DIR and --dry-run" in r.err, r
    r = signet.run("dmarc", "report", "--db", db, "--dry-run", "--zone", z)
    assert r.rc == 64 and "--from ADDR" in r.err, r
    r = report(signet, db, "--dry-run", "--day", "2026-02-30", zone=z)
    assert r.rc == 64 and "is not a YYYY-MM-DD date" in r.err, r
    r = report(signet, db, "--dry-run", "--max-per-destination", "0", zone=z)
    assert r.rc == 64, r
    missing = tmp_path / "none" / "dmarc.db"
    r = report(signet, missing, "--send", zone=z)
    assert r.rc == 1 and f"no report store at {missing}" in r.err, r
    assert not missing.parent.exists()
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    r = report(signet, bad, "--send", zone=z)
    assert r.rc == 1 and str(bad) in r.err, r
    r = report(signet, db, "--dry-run", "--day", "2001-01-01", zone=z)
    assert r.rc == 0 and "no DMARC data for 2001-01-01" in r.text, r


# ---- through a real Postfix ------------------------------------------------


def test_DMARC_RPT_16_delivered_through_real_postfix(signet, store, tmp_path):
    """The report goes through a real Postfix (harness.py: a private
    instance, its own sendmail -C) and arrives intact: subject, attachment,
    the XML inside."""
    missing = harness.missing_tools(harness.POSTFIX, harness.SENDMAIL)
    if missing:
        pytest.skip(f"Postfix not installed: {missing} (scripts/deps.sh)")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (harness.py)")
    pf = harness.Postfix()
    try:
        pf.start()
        wrapper = tmp_path / "sendmail"
        wrapper.write_text(f"#!/bin/sh\nexec {harness.SENDMAIL} -C '{pf.etc}' \"$@\"\n")
        wrapper.chmod(0o755)
        db = store(obs(rua="mailto:dmarc@dest.test", count=7))
        z = zonefile(tmp_path, "example.com._report._dmarc.dest.test TXT v=DMARC1; \n")
        r = report(signet, db, "--send", "--sendmail", wrapper, zone=z)
        assert r.rc == 0, r
        rid = f"{DAY_S}.example.com@receiver.example"
        raw = pf.wait_delivery(f"Report-ID: <{rid}>")
        m = email.message_from_bytes(raw, policy=email.policy.default)
        assert m["Subject"] == (f"Report Domain: example.com Submitter: receiver.example "
                                f"Report-ID: <{rid}>")
        att = list(m.iter_parts())[1]
        root = ET.fromstring(gzip.decompress(att.get_content()))
        assert root.find(f".//{{{NS}}}record/{{{NS}}}row/{{{NS}}}count").text == "7"
    finally:
        pf.cleanup()


def test_DMARC_RPT_18_rua_limits(signet, store, tmp_path):
    """REPORT_MAIL_MAX_RUA (8) destinations per domain: the 9th is skipped
    with a line; %-encoded addresses (RFC 6068) are decoded; an address
    with a leading '-' (an option to sendmail) or a bad !size is not used."""
    rua = ",".join(f"mailto:r{k}@example.com" for k in range(2, 9))  # 7
    db = store(obs(domain="a.example",
                   rua=f"mailto:dmarc%2Breports@a.example,{rua},mailto:r9@example.com"),
               obs(domain="b.example", rua="mailto:-oQ@b.example,mailto:x@b.example!12q,"
                                          "mailto:y@b.example!99999999999999999999999k"))
    z = zonefile(tmp_path, "a.example._report._dmarc.example.com TXT v=DMARC1\n")
    r = report(signet, db, "--dry-run", zone=z)
    assert r.rc == 0, r
    sent = re.findall(r"^send a.example -> (\S+):", r.text, re.M)
    assert sent == ["dmarc+reports@a.example"] + [f"r{k}@example.com" for k in range(2, 9)], r.text
    assert ("skip a.example -> mailto:r9@example.com: more than REPORT_MAIL_MAX_RUA "
            "destinations") in r.text
    for uri in ("mailto:-oQ@b.example", "mailto:x@b.example!12q",
                "mailto:y@b.example!99999999999999999999999k"):
        assert f"skip b.example -> {uri}: not a usable mailto: URI" in r.text, r.text
    assert "skip b.example: its DMARC record has no usable rua= destination" in r.text


def test_DMARC_RPT_12_cap_option_limits(signet, store, tmp_path):
    db = store(obs())
    z = zonefile(tmp_path, "")
    assert report(signet, db, "--dry-run", "--max-per-destination", "100000", zone=z).rc == 0
    r = report(signet, db, "--dry-run", "--max-per-destination", "100001", zone=z)
    assert r.rc == 64 and "--max-per-destination must be 1..100000" in r.err, r


def test_DMARC_RPT_11_same_organizational_domain(signet, store, tmp_path, sendmail):
    """RFC 7489 7.1 compares organizational domains (RFC 7489 3.2, with the
    PRIVATE rules of the list): sub.example.com's reports may go to
    example.com and to other.example.com without a record, but
    x.github.io's may not go to github.io (a public suffix: another
    organization). Without a list (--psl ""), only the domain and its
    subdomains count as its own."""
    psl = tmp_path / "psl.dat"
    psl.write_text("// ===BEGIN ICANN DOMAINS===\ncom\nio\n// ===END ICANN DOMAINS===\n"
                   "// ===BEGIN PRIVATE DOMAINS===\ngithub.io\n// ===END PRIVATE DOMAINS===\n")
    db = store(obs(domain="sub.example.com",
                   rua="mailto:a@example.com,mailto:b@other.example.com,mailto:c@x.sub.example.com"),
               obs(domain="x.github.io", rua="mailto:d@github.io"))
    z = zonefile(tmp_path, "")
    r = report(signet, db, "--dry-run", "--psl", psl, zone=z)
    assert r.rc == 0, r
    assert sorted(re.findall(r"^send \S+ -> (\S+):", r.text, re.M)) == [
        "a@example.com", "b@other.example.com", "c@x.sub.example.com"], r.text
    assert "skip x.github.io -> d@github.io: github.io has not authorized reports" in r.text
    r = report(signet, db, "--dry-run", "--psl", "", zone=z)
    assert r.rc == 0, r
    assert re.findall(r"^send \S+ -> (\S+):", r.text, re.M) == ["c@x.sub.example.com"], r.text
    assert "skip sub.example.com -> a@example.com: example.com has not authorized" in r.text
    r = report(signet, db, "--dry-run", "--psl", tmp_path / "none.dat", zone=z)
    assert r.rc == 0 and "public suffix list" in r.err, r
    assert re.findall(r"^send \S+ -> (\S+):", r.text, re.M) == ["c@x.sub.example.com"], r.text


def test_DMARC_RPT_17_default_day_is_yesterday_utc(signet, store, tmp_path):
    db = store(obs(), obs(domain="today.example", day=(DAY + datetime.timedelta(days=1)).isoformat()))
    r = signet.run("dmarc", "report", "--db", db, "--from", FROM, "--dry-run",
                   "--zone", zonefile(tmp_path, ""))
    assert r.rc == 0, r
    assert re.search(r"^send example.com -> dmarc@example.com:", r.text, re.M), r.text
    assert "today.example" not in r.text
