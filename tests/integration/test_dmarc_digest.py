# test_dmarc_digest.py: `signet dmarc digest` (issue #15, "Reading").
# Requirement IDs (new, proposed for spec/roadmap.md):
#   DMARC-DIGEST-01 reports are read from XML, .gz, .zip, messages, Maildirs,
#                   mboxes and directories, recognised by content;
#   DMARC-DIGEST-02 the real-world deviations of ../shared/testdata/dmarc/
#                   aggregate/ are read and noted; not well-formed XML is a
#                   clear message for that file and the rest are read (exit 2);
#   DMARC-DIGEST-03 each named limit (cli/report_read.h, cli/report_parse.h)
#                   holds at the limit and refuses limit+1 with its name;
#   DMARC-DIGEST-04 a report seen twice (org_name + report_id) counts once;
#   DMARC-DIGEST-05 counts per organisation and source IP, and the findings;
#   DMARC-DIGEST-06 --html is one self-contained page that renders (Chromium).
# Expected counts below were read off the sample XML by hand.
import gzip
import json
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import TESTDATA, TESTDATA_MISSING

AGG = TESTDATA / "dmarc" / "aggregate"
REPORT_MAX_XML = 32 * 1024 * 1024
REPORT_MAX_COMPRESSED = 16 * 1024 * 1024
REPORT_MAX_RECORDS = 65536
REPORT_MAX_XML_DEPTH = 32
REPORT_MAX_TEXT = 1024
REPORT_MAX_FILES = 10000
REPORT_MAX_ZIP_ENTRIES = 16
REPORT_MAX_MIME_PARTS = 64
REPORT_MAX_MIME_DEPTH = 8
EXIT_SKIPPED = 2

# sample file -> (org, report_id, format, records, messages,
#                 {ip: (messages, dkim aligned pass, spf aligned pass, {disposition: n})},
#                 notes that must be present)
SAMPLES = {
    "outlook-2024.xml": ("Outlook.com", "cfeafefe4129445e8c81018bd9177197", "rfc7489", 1, 1,
                         {"100.24.188.149": (1, 0, 0, {"none": 1})}, []),
    "fastmail-2018.xml.gz": ("FastMail Pty Ltd", "102675056", "rfc7489", 1, 1,
                             {"104.195.80.20": (1, 0, 0, {"none": 1})}, []),
    "fastmail-2022.xml": ("Fastmail Pty Ltd", "758848224", "rfc7489", 4, 9,
                          {"64.147.108.117": (3, 0, 0, {"none": 3}),
                           "173.228.157.66": (4, 0, 0, {"none": 4}),
                           "64.147.108.173": (1, 0, 0, {"none": 1}),
                           "54.240.8.13": (1, 1, 0, {"none": 1})}, []),
    "google-2022.xml": ("google.com", "2122885654478337555", "rfc7489", 1, 2,
                        {"209.85.220.41": (2, 0, 2, {"none": 2})}, ["no <version>"]),
    "veeam-2018-noversion.xml": ("veeam.com", "sonexushealth.com:1530233361", "rfc7489", 1, 1,
                                 {"199.230.200.36": (1, 0, 0, {"none": 1})}, ["no <version>"]),
    "addisonfoods-2018-no-spf.xml": ("addisonfoods.com", "3ceb5548498640beaeb47327e202b0b9",
                                     "rfc7489", 1, 1,
                                     {"109.203.100.17": (1, 0, 0, {"none": 1})},
                                     ["no <spf> in <auth_results>"]),
    "ikea-2018-xsd-prefix.xml": ("ikea.com", "aggr_report_2018_10_05_5bc7e9b4f3e8a", "rfc7489", 1,
                                 1, {"234.234.234.234": (1, 0, 0, {"none": 1})},
                                 ["<feedback> is not the root element", "no <version>"]),
    "rfc9990-example.xml": ("Sample Reporter", "3v98abbp8ya9n3va8yr8oa3ya", "rfc9990", 1, 123,
                            {"192.0.2.123": (123, 123, 0, {"pass": 123})}, []),
}


@pytest.fixture(scope="module")
def agg():
    if not AGG.is_dir():
        pytest.skip(TESTDATA_MISSING)
    return AGG


def digest(signet, *args, timeout=60):
    return signet.run("dmarc", "digest", *args, timeout=timeout)


def jdigest(signet, *args, rc=0, timeout=60):
    r = digest(signet, "--json", *args, timeout=timeout)
    assert r.rc == rc, r
    return json.loads(r.text), r


def report_xml(org="example.net", rid="r1", ip="192.0.2.1", count=1, dkim="pass", spf="fail",
               begin=1700000000, records=None, pad=""):
    rec = records if records is not None else (
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated>"
        f"</row><identifiers><header_from>example.com</header_from></identifiers><auth_results>"
        f"<dkim><domain>example.com</domain><selector>s1</selector><result>{dkim}</result></dkim>"
        f"<spf><domain>example.com</domain><result>{spf}</result></spf></auth_results></record>")
    return (f'<?xml version="1.0"?>\n<feedback><version>1.0</version><report_metadata>'
            f"<org_name>{org}</org_name><email>a@{org}</email><report_id>{rid}</report_id>"
            f"<date_range><begin>{begin}</begin><end>{begin + 86399}</end></date_range>"
            f"</report_metadata><policy_published><domain>example.com</domain><p>reject</p>"
            f"</policy_published>{rec}{pad}</feedback>\n").encode()


def report_mail(attachments, subject="Report domain: example.com"):
    m = EmailMessage()
    m["From"] = "dmarc@reporter.example"
    m["To"] = "rua@example.com"
    m["Subject"] = subject
    m.set_content("This is a DMARC aggregate report.")
    for name, data, (maintype, subtype) in attachments:
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(m)


def sources(j):
    return {(s["org"], s["ip"]): s for s in j["sources"]}


# --- DMARC-DIGEST-02/05: every sample, exact counts ---

@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_DMARC_DIGEST_02_sample_counts(signet, agg, name):
    org, rid, fmt, nrec, msgs, ips, notes = SAMPLES[name]
    j, r = jdigest(signet, agg / name)
    assert j["reports_read"] == 1 and j["messages"] == msgs, r
    rep = j["reports"][0]
    assert (rep["org"], rep["report_id"], rep["format"], rep["records"], rep["messages"]) == \
        (org, rid, fmt, nrec, msgs)
    for n in notes:
        assert any(n in x for x in rep["notes"]), rep["notes"]
        assert n in r.err  # each deviation is also said on stderr
    if not notes:
        assert rep["notes"] == [] and "warning" not in r.err
    got = {s["ip"]: (s["messages"], s["dkim_pass"], s["spf_pass"], s["dispositions"])
           for s in j["sources"]}
    assert got == ips
    for s in j["sources"]:
        assert s["org"] == org
        assert s["dkim_fail"] == s["messages"] - s["dkim_pass"]
        assert s["spf_fail"] == s["messages"] - s["spf_pass"]


def test_DMARC_DIGEST_05_all_samples_text_and_findings(signet, agg):
    j, _ = jdigest(signet, agg)
    assert j["reports_read"] == 8 and j["organisations"] == 8
    assert j["messages"] == 139 and j["dmarc_pass"] == 126  # 1 + 2 + 123 pass
    assert j["dkim_pass"] == 124 and j["spf_pass"] == 2
    s = sources(j)
    amazon = s[("Fastmail Pty Ltd", "54.240.8.13")]
    assert amazon["dkim"] == [
        {"domain": "stalw.art", "selector": "kvoujh5guu2jpweurhpt2ioscpkpukc3"},
        {"domain": "amazonses.com", "selector": "6gbrjpgwjskckoa6a5zn6fwqkn67xbtw"}]
    assert amazon["spf"] == ["amazonses.com"] and amazon["header_from"] == ["stalw.art"]
    fixes = {(f["ip"], f["kind"]): f for f in j["fix"]}
    # Google passes SPF aligned only: sign it.
    assert fixes[("209.85.220.41", "spf-only")]["messages"] == 2
    assert "sign its mail with DKIM (d=example.org)" in fixes[("209.85.220.41", "spf-only")]["advice"]
    # topicbox fails DMARC, and Fastmail's <reason><type> says trusted_forwarder: nothing to fix.
    assert fixes[("173.228.157.66", "forwarded")]["messages"] == 4
    assert fixes[("173.228.157.66", "forwarded")]["advice"] == (
        "173.228.157.66 sends as stalw.art and fails DMARC (4 messages), but the receiver "
        "judged it forwarded (trusted_forwarder): nothing to fix")
    # A DKIM pass for another domain only, no override: not aligned.
    assert fixes[("109.203.100.17", "not-aligned")]["messages"] == 1
    assert "toptierhighticket.club dkim" in fixes[("109.203.100.17", "not-aligned")]["advice"]
    # Nothing passes, one message: yours (add to SPF or sign) or spoofing.
    assert "add it to SPF or sign its mail" in fixes[("199.230.200.36", "unknown-source")]["advice"]
    # DKIM aligned sources need nothing.
    assert not any(ip in ("192.0.2.123", "54.240.8.13") for ip, _ in fixes)
    assert len(j["fix"]) == 9
    r = digest(signet, agg)
    assert r.rc == 0, r
    assert r.text.startswith("8 reports from 8 organisations, 1979-08-07 to 2024-03-31 (UTC): "
                             "139 messages, DMARC pass 126, fail 13"), r
    assert ("  209.85.220.41: 2 messages; DKIM aligned 0 pass, 2 fail; SPF aligned 2 pass, "
            "0 fail; disposition none 2\n") in r.text
    assert "\nWhat to fix\n" in r.text


def test_DMARC_DIGEST_05_spoofing_and_policy(signet, tmp_path):
    """Failing both with nothing passing, at DIGEST_SPOOF_MIN_MESSAGES (10): spoofing; with
    p=reject "nothing to fix, your policy is working". 9 messages: maybe a source of yours."""
    rec = lambda ip, n: (  # noqa: E731
        f"<record><row><source_ip>{ip}</source_ip><count>{n}</count><policy_evaluated>"
        "<disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated>"
        "</row><identifiers><header_from>example.com</header_from></identifiers><auth_results>"
        "<spf><domain>spoof.example</domain><result>fail</result></spf></auth_results></record>")
    (tmp_path / "a.xml").write_bytes(report_xml(records=rec("198.51.100.7", 10) +
                                                rec("198.51.100.8", 9)))
    j, _ = jdigest(signet, tmp_path / "a.xml")
    kinds = {f["ip"]: f for f in j["fix"]}
    assert kinds["198.51.100.7"]["kind"] == "spoofing"
    assert "nothing to fix, your policy is working (p=reject)" in kinds["198.51.100.7"]["advice"]
    assert kinds["198.51.100.8"]["kind"] == "unknown-source"
    assert j["sources"][0]["dispositions"] == {"reject": 10}
    # With p=none the same source is spoofing that the policy does not stop yet.
    (tmp_path / "a.xml").write_bytes(report_xml(records=rec("198.51.100.7", 10)).replace(
        b"<p>reject</p>", b"<p>none</p>"))
    j, _ = jdigest(signet, tmp_path / "a.xml")
    assert j["fix"][0]["advice"] == (
        "198.51.100.7 looks like spoofing of example.com (10 messages fail SPF and DKIM): once "
        "your own sources pass, p=reject stops it (now p=none)")


# --- DMARC-DIGEST-01: containers ---

def test_DMARC_DIGEST_01_gzip_zip_message_maildir_mbox(signet, agg, tmp_path):
    google = (agg / "google-2022.xml").read_bytes()
    outlook = (agg / "outlook-2024.xml").read_bytes()
    r9990 = (agg / "rfc9990-example.xml").read_bytes()
    with zipfile.ZipFile(tmp_path / "google.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("google.com!example.org!1661558400!1661644799.xml", google)
    (tmp_path / "outlook.xml.gz").write_bytes(gzip.compress(outlook))
    (tmp_path / "rfc.eml").write_bytes(report_mail(
        [("rfc.xml.gz", gzip.compress(r9990), ("application", "gzip"))]))
    j, r = jdigest(signet, tmp_path / "google.zip", tmp_path / "outlook.xml.gz", tmp_path / "rfc.eml")
    assert j["reports_read"] == 3 and j["messages"] == 2 + 1 + 123, r
    files = sorted(x["file"] for x in j["reports"])
    assert files == sorted([f"{tmp_path}/google.zip: google.com!example.org!1661558400!1661644799.xml",
                            f"{tmp_path}/outlook.xml.gz", f"{tmp_path}/rfc.eml: part 2 (rfc.xml.gz)"])

    # A Maildir with two reports and a message without one; tmp/ is not read.
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "cur" / "1.host:2,S").write_bytes(report_mail(
        [("g.zip", (tmp_path / "google.zip").read_bytes(), ("application", "zip"))]))
    (md / "new" / "2.host").write_bytes(report_mail(
        [("o.xml", outlook, ("text", "xml"))]))
    html = EmailMessage()  # ordinary mail: an HTML body is not a broken report
    html["From"], html["Subject"] = "friend@example.net", "hello"
    html.set_content("hello")
    html.add_alternative("<html><body><p>hello</p></body></html>", subtype="html")
    (md / "new" / "3.host").write_bytes(bytes(html))
    (md / "tmp" / "4.host").write_bytes(report_mail(
        [("r.xml", r9990, ("text", "xml"))]))
    j, r = jdigest(signet, md)
    assert j["reports_read"] == 2 and j["messages"] == 3, r
    assert "1 message without a DMARC report" in r.err

    # An mbox with two reports.
    mb = tmp_path / "reports.mbox"
    with open(mb, "wb") as f:
        for data, name in ((google, "g.xml"), (r9990, "r.xml")):
            f.write(b"From dmarc@reporter.example Mon Jan  1 00:00:00 2024\n")
            f.write(report_mail([(name, gzip.compress(data), ("application", "gzip"))]).replace(
                b"\r\n", b"\n") + b"\n")
    j, r = jdigest(signet, mb)
    assert j["reports_read"] == 2 and j["messages"] == 2 + 123, r
    assert {x["file"] for x in j["reports"]} == {f"{mb}: message 1: part 2 (g.xml)",
                                                  f"{mb}: message 2: part 2 (r.xml)"}


def test_DMARC_DIGEST_04_duplicates_counted_once(signet, agg, tmp_path):
    outlook = (agg / "outlook-2024.xml").read_bytes()
    (tmp_path / "a.xml").write_bytes(outlook)
    (tmp_path / "b.xml.gz").write_bytes(gzip.compress(outlook))
    (tmp_path / "c.eml").write_bytes(report_mail([("x.xml", outlook, ("text", "xml"))]))
    j, r = jdigest(signet, tmp_path)
    assert j["reports_read"] == 1 and j["messages"] == 1, r
    assert len(j["duplicates"]) == 2
    assert all(d["first"] == f"{tmp_path}/a.xml" for d in j["duplicates"])
    assert "the same report as" in r.err and "counted once" in r.err
    # Same report_id from another organisation is another report.
    (tmp_path / "d.xml").write_bytes(outlook.replace(b"Outlook.com", b"Other.example"))
    j, _ = jdigest(signet, tmp_path)
    assert j["reports_read"] == 2 and j["messages"] == 2


# --- DMARC-DIGEST-02: bad input, one message per file, the rest read ---

def test_DMARC_DIGEST_02_not_well_formed(signet, agg, tmp_path):
    google = (agg / "google-2022.xml").read_bytes()
    (tmp_path / "cut.xml").write_bytes(google[:600])
    (tmp_path / "mismatch.xml").write_bytes(google.replace(b"</org_name>", b"</org>"))
    shutil.copy(agg / "outlook-2024.xml", tmp_path / "ok.xml")
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert j["reports_read"] == 1 and j["reports"][0]["org"] == "Outlook.com"
    why = {Path(s["file"]).name: s["why"] for s in j["skipped"]}
    assert why["cut.xml"].startswith("not well-formed XML (line ") and "no element found" in why["cut.xml"] or \
        "unclosed token" in why["cut.xml"], why
    assert "mismatched tag" in why["mismatch.xml"]
    assert f"{tmp_path}/mismatch.xml: skipped: not well-formed XML (line 4, column" in r.err


def test_DMARC_DIGEST_02_not_a_report(signet, tmp_path):
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01junk")
    (tmp_path / "other.xml").write_bytes(b"<?xml version='1.0'?><html><body/></html>")
    (tmp_path / "noid.xml").write_bytes(report_xml().replace(b"<report_id>r1</report_id>", b""))
    (tmp_path / "badip.xml").write_bytes(report_xml(ip="300.1.2.3"))
    (tmp_path / "bad.gz").write_bytes(gzip.compress(report_xml())[:-12])
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    why = {Path(s["file"]).name: s["why"] for s in j["skipped"]}
    assert why["junk.bin"] == "not a DMARC report (XML, gzip or zip), a message or an mbox"
    assert why["other.xml"] == "no <feedback> element: not a DMARC aggregate report"
    assert why["noid.xml"] == "no <report_id> in <report_metadata>"
    assert why["badip.xml"] == "record 1: <source_ip> '300.1.2.3' is not an IP address"
    assert why["bad.gz"] == "gzip data is truncated"
    assert j["reports_read"] == 0


def test_DMARC_DIGEST_03_entity_declarations_refused(signet, tmp_path):
    lol = (b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + report_xml().split(b"?>", 1)[1]
           .replace(b"example.net</org_name>", b"&b;</org_name>"))
    (tmp_path / "lol.xml").write_bytes(lol)
    ext = b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback>&x;</feedback>'
    (tmp_path / "ext.xml").write_bytes(ext)
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    why = {Path(s["file"]).name: s["why"] for s in j["skipped"]}
    assert why == {"lol.xml": "an entity declaration (not allowed in a DMARC report)",
                   "ext.xml": "an entity declaration (not allowed in a DMARC report)"}


# --- DMARC-DIGEST-03: limits, at the limit and over it ---

def test_DMARC_DIGEST_03_gzip_bomb(signet, agg, tmp_path):
    base = report_xml()
    at = base.replace(b"</feedback>", b"<!--" + b" " * (REPORT_MAX_XML - len(base) - 7) + b"-->"
                      b"</feedback>")
    assert len(at) == REPORT_MAX_XML
    (tmp_path / "at.xml.gz").write_bytes(gzip.compress(at, 9))
    over = at.replace(b"<!-- ", b"<!--  ")
    (tmp_path / "bomb.xml.gz").write_bytes(gzip.compress(over, 9))
    assert (tmp_path / "bomb.xml.gz").stat().st_size < 100 * 1024  # ~1000:1
    shutil.copy(agg / "outlook-2024.xml", tmp_path / "ok.xml")
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert j["reports_read"] == 2  # at the limit and ok.xml
    assert j["skipped"] == [{"file": f"{tmp_path}/bomb.xml.gz", "why":
                             f"gzip data decompresses to more than REPORT_MAX_XML ({REPORT_MAX_XML} bytes)"}]
    assert f"{tmp_path}/bomb.xml.gz: skipped: gzip data decompresses to more than REPORT_MAX_XML" in r.err


def test_DMARC_DIGEST_03_zip_bomb(signet, agg, tmp_path):
    base = report_xml()
    over = base.replace(b"</feedback>", b"<!--" + b" " * (REPORT_MAX_XML - len(base) - 6) + b"-->"
                        b"</feedback>")
    assert len(over) == REPORT_MAX_XML + 1
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.xml", over)
    # The same, with the sizes in the zip's directory lying (a hand-made bomb).
    raw = (tmp_path / "bomb.zip").read_bytes()
    size = struct.pack("<I", len(over))
    (tmp_path / "liar.zip").write_bytes(raw.replace(size, struct.pack("<I", 1000)))
    shutil.copy(agg / "outlook-2024.xml", tmp_path / "ok.xml")
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert j["reports_read"] == 1 and j["reports"][0]["org"] == "Outlook.com"
    why = {s["file"]: s["why"] for s in j["skipped"]}
    assert why[f"{tmp_path}/bomb.zip: bomb.xml"] == \
        f"zip entry of {REPORT_MAX_XML + 1} bytes, more than REPORT_MAX_XML ({REPORT_MAX_XML} bytes)"
    liar = why[f"{tmp_path}/liar.zip: bomb.xml"]
    assert "REPORT_MAX_XML" in liar or "corrupt" in liar, liar


def stored_gzip(size):
    """A gzip of exactly size bytes (stored blocks) holding a valid report."""
    pad = size
    for _ in range(8):
        base = report_xml()
        xml = base.replace(b"</feedback>", b"<!--" + b"x" * pad + b"--></feedback>")
        gz = gzip.compress(xml, 0)
        if len(gz) == size:
            return gz
        pad += size - len(gz)
    raise AssertionError("no exact size")


def test_DMARC_DIGEST_03_compressed_size(signet, tmp_path):
    (tmp_path / "at.gz").write_bytes(stored_gzip(REPORT_MAX_COMPRESSED))
    (tmp_path / "over.gz").write_bytes(stored_gzip(REPORT_MAX_COMPRESSED + 1))
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert j["reports_read"] == 1 and j["reports"][0]["file"] == f"{tmp_path}/at.gz"
    assert j["skipped"] == [{"file": f"{tmp_path}/over.gz", "why":
                             f"{REPORT_MAX_COMPRESSED + 1} bytes of gzip, more than "
                             f"REPORT_MAX_COMPRESSED ({REPORT_MAX_COMPRESSED} bytes)"}]


def records(n):
    return "".join(f"<record><row><source_ip>10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
                   f"</source_ip><count>1</count><policy_evaluated><disposition>none</disposition>"
                   f"<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row></record>"
                   for i in range(n))


def test_DMARC_DIGEST_03_records_per_report(signet, tmp_path):
    (tmp_path / "at.xml").write_bytes(report_xml(rid="at", records=records(REPORT_MAX_RECORDS)))
    (tmp_path / "over.xml").write_bytes(report_xml(rid="over", records=records(REPORT_MAX_RECORDS + 1)))
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED, timeout=120)
    assert j["reports_read"] == 1 and j["messages"] == REPORT_MAX_RECORDS
    assert len(j["sources"]) == REPORT_MAX_RECORDS
    assert j["skipped"] == [{"file": f"{tmp_path}/over.xml",
                             "why": f"more than REPORT_MAX_RECORDS ({REPORT_MAX_RECORDS}) records"}]


def test_DMARC_DIGEST_03_xml_depth_and_text(signet, tmp_path):
    def nested(n):  # <feedback> is level 1: n - 1 more levels inside it
        return ("<x>" * (n - 1) + "</x>" * (n - 1))
    (tmp_path / "depth-at.xml").write_bytes(report_xml(rid="d1", pad=nested(REPORT_MAX_XML_DEPTH)))
    (tmp_path / "depth-over.xml").write_bytes(report_xml(rid="d2", pad=nested(REPORT_MAX_XML_DEPTH + 1)))
    (tmp_path / "text-at.xml").write_bytes(report_xml(org="o" * REPORT_MAX_TEXT))
    (tmp_path / "text-over.xml").write_bytes(report_xml(org="p" * (REPORT_MAX_TEXT + 1)))
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert sorted(Path(x["file"]).name for x in j["reports"]) == ["depth-at.xml", "text-at.xml"]
    why = {Path(s["file"]).name: s["why"] for s in j["skipped"]}
    assert why == {"depth-over.xml": f"elements nested deeper than REPORT_MAX_XML_DEPTH ({REPORT_MAX_XML_DEPTH})",
                   "text-over.xml": f"<org_name> has more than REPORT_MAX_TEXT ({REPORT_MAX_TEXT}) bytes of text"}


def test_DMARC_DIGEST_03_zip_entries(signet, tmp_path):
    for name, n in (("at.zip", REPORT_MAX_ZIP_ENTRIES), ("over.zip", REPORT_MAX_ZIP_ENTRIES + 1)):
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            for i in range(n):
                z.writestr(f"r{i}.xml", report_xml(rid=f"{name}{i}"))
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert j["reports_read"] == REPORT_MAX_ZIP_ENTRIES
    assert j["skipped"] == [{"file": f"{tmp_path}/over.zip", "why":
                             f"zip has {REPORT_MAX_ZIP_ENTRIES + 1} entries, more than "
                             f"REPORT_MAX_ZIP_ENTRIES ({REPORT_MAX_ZIP_ENTRIES})"}]


def mime_parts(n_attach):
    """A multipart/mixed message: 1 (the multipart) + 1 text part + n_attach parts."""
    return report_mail([(f"r{i}.xml", report_xml(rid=f"p{n_attach}-{i}"), ("text", "xml"))
                        for i in range(n_attach)])


def mime_nested(depth):
    """depth MIME levels: multiparts nested depth - 1 times around one text/xml part."""
    boundary = lambda i: f"b{i}"  # noqa: E731
    body = (b"Content-Type: text/xml\n\n" + report_xml(rid=f"n{depth}") + b"\n")
    for i in range(depth - 1):
        body = (f"Content-Type: multipart/mixed; boundary={boundary(i)}\n\n--{boundary(i)}\n"
                .encode() + body + f"\n--{boundary(i)}--\n".encode())
    return b"From: a@b.example\nSubject: nested\nMIME-Version: 1.0\n" + body


def test_DMARC_DIGEST_03_mime_parts_and_depth(signet, tmp_path):
    (tmp_path / "parts-at.eml").write_bytes(mime_parts(REPORT_MAX_MIME_PARTS - 2))
    (tmp_path / "parts-over.eml").write_bytes(mime_parts(REPORT_MAX_MIME_PARTS - 1))
    (tmp_path / "depth-at.eml").write_bytes(mime_nested(REPORT_MAX_MIME_DEPTH))
    (tmp_path / "depth-over.eml").write_bytes(mime_nested(REPORT_MAX_MIME_DEPTH + 1))
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert j["reports_read"] == REPORT_MAX_MIME_PARTS - 2 + 1
    why = {Path(s["file"]).name: s["why"] for s in j["skipped"]}
    assert why == {
        "parts-over.eml": f"message has more MIME parts than REPORT_MAX_MIME_PARTS ({REPORT_MAX_MIME_PARTS}): not read",
        "depth-over.eml": f"message has more MIME nesting than REPORT_MAX_MIME_DEPTH ({REPORT_MAX_MIME_DEPTH}): not read"}


def test_DMARC_DIGEST_03_files_per_run(signet, tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(REPORT_MAX_FILES):
        (d / f"r{i:05d}.xml").write_bytes(report_xml(rid=f"f{i}"))
    j, r = jdigest(signet, d, timeout=300)
    assert j["reports_read"] == REPORT_MAX_FILES and j["skipped"] == []
    (d / "r99999.xml").write_bytes(report_xml(rid="last"))
    j, r = jdigest(signet, d, rc=EXIT_SKIPPED, timeout=300)
    assert j["reports_read"] == REPORT_MAX_FILES
    assert j["skipped"] == [{"file": f"{d}/r99999.xml", "why":
                             f"more than REPORT_MAX_FILES ({REPORT_MAX_FILES}) files in one run: "
                             "this and the rest not read"}]


# --- usage ---

def test_DMARC_DIGEST_usage(signet, tmp_path):
    r = digest(signet)
    assert r.rc == 64 and "give at least one FILE or DIR" in r.err
    r = digest(signet, "--bogus", tmp_path)
    assert r.rc == 64 and "unknown option --bogus" in r.err
    r = digest(signet, "--help")
    assert r.rc == 0 and "usage: signet dmarc digest" in r.text
    r = digest(signet, "--html", tmp_path / "no" / "such" / "dir.html", tmp_path)
    assert r.rc == 1 and "dir.html" in r.err
    if os.path.exists("/dev/full"):  # a write error is an error, not a truncated page
        r = digest(signet, "--html", "/dev/full", tmp_path)
        assert r.rc == 1 and "cannot write /dev/full" in r.err, r


# --- DMARC-DIGEST-06: HTML rendered by Chromium ---

def png_colours(path):
    """Distinct RGB(A) pixel values of an 8-bit truecolour PNG (zlib + unfilter)."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, seen = zlib.decompress(idat), w * bpp, bytearray(w * bpp), set()
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp * 7):
            seen.add(bytes(line[x:x + 3]))
        prev = line
    return seen


def test_DMARC_DIGEST_06_html_renders(signet, agg, tmp_path):
    out = tmp_path / "digest.html"
    r = digest(signet, "--html", out, agg)
    assert r.rc == 0, r
    page = out.read_text()
    assert "<svg" in page and "<style>" in page and "<table>" in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert page.count('class="pass" x=') == 8 and page.count('class="fail" x=') == 8  # 8 days
    assert "192.0.2.123" in page and "&lt;feedback&gt;" not in page
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium not installed (scripts/deps.sh installs it): HTML not rendered")
    shot = tmp_path / "shot.png"
    env = dict(os.environ, HOME=str(tmp_path))
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={tmp_path}/profile"]
    subprocess.run(base + [f"--screenshot={shot}", "--window-size=1200,900", out.as_uri()],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    assert shot.is_file(), "chromium wrote no screenshot"
    colours = png_colours(shot)
    assert len(colours) > 1, "blank screenshot"
    # The chart's bar colours are on the page: #2e8b3d (pass) and #c62828 (fail).
    assert b"\x2e\x8b\x3d" in colours and b"\xc6\x28\x28" in colours, sorted(colours)[:20]
    dom = subprocess.run(base + ["--dump-dom", out.as_uri()], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, timeout=120).stdout.decode()
    assert "What to fix" in dom and "209.85.220.41" in dom


def test_DMARC_DIGEST_01_prefixed_namespace_no_declaration(signet, tmp_path):
    """XML is recognised by its '<', not by "<?xml": a report with a namespace prefix, no XML
    declaration and leading white space is read as RFC 9990."""
    xml = report_xml().split(b"?>", 1)[1].replace(b"<", b"<d:").replace(b"<d:/", b"</d:")
    xml = b"  \n" + xml.replace(b"<d:feedback>", b'<d:feedback xmlns:d="urn:ietf:params:xml:ns:dmarc-2.0">', 1)
    (tmp_path / "p.xml").write_bytes(xml)
    j, r = jdigest(signet, tmp_path / "p.xml")
    assert j["reports_read"] == 1 and j["reports"][0]["format"] == "rfc9990", r
    assert j["messages"] == 1 and j["sources"][0]["ip"] == "192.0.2.1"


def test_DMARC_DIGEST_05_nothing_read(signet, tmp_path):
    r = digest(signet, tmp_path)
    assert r.rc == 0, r
    assert r.text == ("0 reports from 0 organisations: 0 messages, DMARC pass 0, fail 0 (DKIM "
                      "aligned pass 0, SPF aligned pass 0)\n\nWhat to fix\n"
                      "  nothing to judge: no report was read\n")


REPORT_MAX_FILE = 64 * 1024 * 1024
REPORT_MAX_NESTING = 4
REPORT_MAX_DIR_DEPTH = 8


def test_DMARC_DIGEST_03_file_size(signet, tmp_path):
    """REPORT_MAX_FILE: refused by its size before any byte is read (a sparse file)."""
    big = tmp_path / "big.mbox"
    with open(big, "wb") as f:
        f.truncate(REPORT_MAX_FILE + 1)
    (tmp_path / "ok.xml").write_bytes(report_xml())
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert j["reports_read"] == 1
    assert j["skipped"] == [{"file": str(big), "why": f"it is {REPORT_MAX_FILE + 1} bytes, more "
                             f"than REPORT_MAX_FILE ({REPORT_MAX_FILE} bytes)"}], r


def test_DMARC_DIGEST_03_container_nesting(signet, tmp_path):
    """REPORT_MAX_NESTING (4): XML in 4 gzips is read, in 5 it is not."""
    for n in (REPORT_MAX_NESTING, REPORT_MAX_NESTING + 1):
        data = report_xml(rid=f"nest{n}")
        for _ in range(n):
            data = gzip.compress(data)
        (tmp_path / f"n{n}.gz").write_bytes(data)
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert [x["report_id"] for x in j["reports"]] == [f"nest{REPORT_MAX_NESTING}"]
    assert j["skipped"] == [{"file": f"{tmp_path}/n{REPORT_MAX_NESTING + 1}.gz",
                             "why": f"containers nested deeper than REPORT_MAX_NESTING ({REPORT_MAX_NESTING})"}]


def test_DMARC_DIGEST_03_directory_depth(signet, tmp_path):
    """REPORT_MAX_DIR_DEPTH (8): a report 8 directories below DIR is read, 9 below is not."""
    at = tmp_path.joinpath(*[f"d{i}" for i in range(REPORT_MAX_DIR_DEPTH)])
    at.mkdir(parents=True)
    (at / "r.xml").write_bytes(report_xml(rid="at"))
    over = at / "deeper"
    over.mkdir()
    (over / "r.xml").write_bytes(report_xml(rid="over"))
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert [x["report_id"] for x in j["reports"]] == ["at"]
    assert j["skipped"] == [{"file": str(over), "why": "directories nested deeper than "
                             f"REPORT_MAX_DIR_DEPTH ({REPORT_MAX_DIR_DEPTH}): not read"}]


DIGEST_CHART_MAX_DAYS = 366


def test_DMARC_DIGEST_06_chart_days_limit(signet, tmp_path):
    """DIGEST_CHART_MAX_DAYS: 366 days with data are all drawn; of 367 the oldest is left out
    and the page says so."""
    for i in range(DIGEST_CHART_MAX_DAYS + 1):
        (tmp_path / f"r{i:03d}.xml").write_bytes(report_xml(rid=f"day{i}", begin=1700006400 + 86400 * i))
    out = tmp_path / "p.html"
    r = digest(signet, "--html", out, tmp_path / "r001.xml", tmp_path)
    assert r.rc == 0, r
    page = out.read_text()
    assert page.count('class="pass" x=') == DIGEST_CHART_MAX_DAYS
    assert f"The last {DIGEST_CHART_MAX_DAYS} days with data are shown ({DIGEST_CHART_MAX_DAYS + 1} in all)." in page
    assert "2023-11-15:" not in page and "2023-11-16: 1 pass, 0 fail" in page
    (tmp_path / "r000.xml").unlink()
    r = digest(signet, "--html", out, tmp_path)
    page = out.read_text()
    assert page.count('class="pass" x=') == DIGEST_CHART_MAX_DAYS and "days with data are shown" not in page


def test_DMARC_DIGEST_01_gzip_members_and_trailing_bytes(signet, tmp_path):
    """RFC 1952 2.2: a gzip file may be several members (their data is concatenated); bytes
    after the last member that start no new one are ignored, as gzip(1) does."""
    xml = report_xml(rid="members")
    cut = len(xml) // 2
    (tmp_path / "two.gz").write_bytes(gzip.compress(xml[:cut]) + gzip.compress(xml[cut:]))
    (tmp_path / "pad.gz").write_bytes(gzip.compress(report_xml(rid="padded")) + b"\0" * 512)
    bad = gzip.compress(report_xml(rid="bad"))
    (tmp_path / "bad.gz").write_bytes(bad[:-8] + b"\xde\xad\xbe\xef" + bad[-4:])  # CRC-32
    j, r = jdigest(signet, tmp_path, rc=EXIT_SKIPPED)
    assert sorted(x["report_id"] for x in j["reports"]) == ["members", "padded"]
    assert [(Path(s["file"]).name, s["why"]) for s in j["skipped"]] == \
        [("bad.gz", "gzip data is corrupt: incorrect data check")], j["skipped"]


def test_DMARC_DIGEST_02_no_terminal_controls_reach_the_output(signet, tmp_path):
    """Names from the sender (zip entry, attachment file name, XML text) are shown with control
    characters as '?': ESC, BEL and the C1 CSI (U+009B) never reach the terminal."""
    esc = "\x1b]0;owned\x07"
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr(f"r{esc}.xml", b"<feedback>not a report")
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:  # UTF-8 flag set: libzip refuses it
        z.writestr(f"r\u00e9{esc}.xml", b"<feedback>not a report")
    (tmp_path / "m.eml").write_bytes(report_mail([(f"x{esc}.xml", b"<feedback/>", ("text", "xml"))]))
    (tmp_path / "c1.xml").write_bytes(report_xml(org="evil\u009b31m.example").replace(
        b"<header_from>example.com", "<header_from>ex\u009bample.com".encode()))
    r = digest(signet, tmp_path)
    assert r.rc == EXIT_SKIPPED, r
    for stream in (r.out, r.err.encode()):
        assert b"\x1b" not in stream and b"\x07" not in stream and b"\xc2\x9b" not in stream, r
    # libzip reads a zip name without the UTF-8 flag as CP437 (ESC shows as a graphic arrow).
    assert f"{tmp_path}/a.zip: r" in r.err and "]0;owned" in r.err
    assert f"{tmp_path}/b.zip: skipped: not a readable zip: Zip archive inconsistent" in r.err
    assert "m.eml: part 2 (x?]0;owned?.xml): skipped: no <org_name>" in r.err
    assert "evil?31m.example (1 report)" in r.text and "From ex?ample.com" in r.text


# --- Round trip (issue #15 Tests): `signet dmarc report --out` writes, digest reads back ---

def test_DMARC_DIGEST_05_round_trip_with_dmarc_report(signet, tmp_path):
    """Observations put in a report store (tests/report_fill, as signetd's writer would), the
    reports `signet dmarc report --out` writes in both formats (.xml.gz and the .eml that
    carries it: one report, counted once), and the digest's counts equal the observations."""
    import test_dmarc_report as rpt
    fill = rpt.fill_path()
    if not fill.is_file():
        pytest.fail(f"tests/report_fill not built at {fill} (bash scripts/build.sh)")
    db = tmp_path / "dmarc.db"
    lines = (rpt.obs(count=4),  # DKIM and SPF aligned
             rpt.obs(ip="192.0.2.2", dkim="other.example:s2:pass", dkim_al=0, spf="fail",
                     spf_al=0, dmarc="fail", disp="reject", count=3),
             rpt.obs(ip="192.0.2.3", dkim="example.com:s1:fail", dkim_al=0, count=2))
    r = subprocess.run([str(fill), str(db)], input="".join(lines).encode(), capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    zone = tmp_path / "zone"
    zone.write_text("")
    for fmt, name, ok in (("rfc9990", "rfc9990", "pass"), ("rfc7489", "rfc7489", "none")):
        # RFC 9990 has disposition "pass" for mail that passed; RFC 7489 says "none".
        want = {"192.0.2.1": (4, 4, 4, {ok: 4}), "192.0.2.2": (3, 0, 0, {"reject": 3}),
                "192.0.2.3": (2, 0, 2, {ok: 2})}
        out = tmp_path / fmt
        out.mkdir()
        r = signet.run("dmarc", "report", "--db", db, "--from", rpt.FROM, "--day", rpt.DAY_S,
                       "--zone", zone, "--out", out, "--format", fmt)
        assert r.rc == 0, r
        assert len(list(out.glob("*.xml.gz"))) == 1 and len(list(out.glob("*.eml"))) == 1
        j, d = jdigest(signet, out)
        assert j["reports_read"] == 1 and len(j["duplicates"]) == 1, d
        rep = j["reports"][0]
        assert rep["format"] == name and rep["begin"] == rpt.BEGIN and rep["end"] == rpt.END
        assert rep["notes"] == [] and rep["messages"] == 9 and rep["domain"] == "example.com"
        got = {s["ip"]: (s["messages"], s["dkim_pass"], s["spf_pass"], s["dispositions"])
               for s in j["sources"]}
        assert got == want, j["sources"]
        kinds = {(f["ip"], f["kind"]) for f in j["fix"]}
        assert kinds == {("192.0.2.2", "not-aligned"), ("192.0.2.3", "spf-only")}, j["fix"]
