# test_dmarc_redis.py: DMARC report data of a fleet through Redis (issue #15
# "Fleets", DMARC-RPT-01): two signetd, each behind its own real Postfix,
# both with `redis { servers }` and dmarc.reports on, write their
# observations to ONE real redis-server on loopback; ONE
# `signet dmarc report --redis URL --out DIR` run reports the sum of both.
# Redis down (redis-server stopped mid-run): mail still flows (250, the
# message delivered with signetd's Authentication-Results), the dropped
# counter of /metrics rises; after redis-server is back, new observations
# are recorded again. Environment: SIGNET_BIN, SIGNETD_BIN.
import gzip
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import crlf, make_message, unique_id  # noqa: E402

OUTSIDE = "127.0.0.3"
FROM = "dmarc-reports@mx.signet.test"
ZONE = {
    "pass.example.org": ["v=spf1 ip4:127.0.0.3 -all"],
    "_dmarc.pass.example.org": ["v=DMARC1; p=reject; rua=mailto:agg@pass.example.org"],
}


def require_tools():
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.UNBOUND)
    if missing:
        pytest.skip(f"Postfix/unbound tools missing: {', '.join(missing)}")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (Debian redis-server; scripts/deps.sh)")


Redis = harness.Redis


def observations(sd_metrics_port):
    """{outcome: count} of signetd_dmarc_observations_total."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{sd_metrics_port}/metrics",
                                  timeout=10).read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^signetd_dmarc_observations_total\{outcome="(\w+)"\} (\S+)$', body, re.M)}


def signetd(unbound, redis, metrics_port=None):
    extra = (f'redis {{ servers = ["{redis}"]; timeout = 0.5s; }}\n'
             f'dmarc {{ reports {{ enabled = true; from = "{FROM}"; '
             f'org_name = "Signet Fleet"; }} }}\n')
    if metrics_port:
        extra += f'metrics {{ listen = "127.0.0.1:{metrics_port}"; }}\n'
    sd = harness.Signetd(harness.signetd_path(), [unbound.forwarder()], [], dmarc=True,
                         extra=extra)
    sd.start()
    assert sd.log_lines_with(f"DMARC report data recorded in Redis ({redis})"), sd.log_text()
    return sd


def send(postfix, n, from_addr="a@pass.example.org"):
    """n messages; returns the delivered ones (bytes)."""
    out = []
    for _ in range(n):
        mid = unique_id("rds")
        with smtplib.SMTP("127.0.0.1", postfix.smtp_port, source_address=(OUTSIDE, 0),
                          timeout=60) as s:
            s.ehlo("client.signet.test")
            assert s.mail(from_addr)[0] == 250
            assert s.rcpt("user@dest.test")[0] in (250, 251)
            code, resp = s.data(crlf(make_message(mid, from_addr=from_addr)))
            assert code == 250, (code, resp)
        out.append(postfix.wait_delivery(mid))
    return out


def report(tmp_path, url, name):
    out = tmp_path / name
    out.mkdir()
    zone = tmp_path / "zone.txt"
    zone.write_text("")  # rua in the domain itself: no authorization lookup
    r = subprocess.run([str(harness.signet_path()), "dmarc", "report", "--redis", url,
                        "--from", FROM, "--out", str(out), "--zone", str(zone),
                        "--format", "rfc7489", "--psl", "",
                        "--day", time.strftime("%Y-%m-%d", time.gmtime())],
                       capture_output=True, text=True, timeout=60)
    return r, sorted(out.glob("*.xml.gz"))


def counts(xml_file):
    root = ET.fromstring(gzip.decompress(xml_file.read_bytes()))
    return root, [(rec.findtext("row/source_ip"), int(rec.findtext("row/count")))
                  for rec in root.findall("record")]


def test_DMARC_RPT_01_redis_fleet_one_report_for_two_signetd(tmp_path):
    require_tools()
    tmp_path.chmod(0o755)
    redis = Redis(tmp_path)
    unbound = harness.Unbound({"example.org": ZONE})
    parts = []
    try:
        redis.start()
        unbound.start()
        sd1 = signetd(unbound, f"127.0.0.1:{redis.port}")
        parts.append(sd1)
        sd2 = signetd(unbound, f"127.0.0.1:{redis.port}")
        parts.append(sd2)
        pf1 = harness.Postfix(milter=sd1.milter())
        parts.append(pf1)
        pf1.start()
        pf2 = harness.Postfix(milter=sd2.milter())
        parts.append(pf2)
        pf2.start()
        send(pf1, 2)
        send(pf2, 3)
        # SIGTERM: each writer writes what is queued before signetd exits
        assert sd1.stop() == 0, sd1.log_text()[-3000:]
        assert sd2.stop() == 0, sd2.log_text()[-3000:]
        r, files = report(tmp_path, redis.url(), "out")
        assert r.returncode == 0, r.stdout + r.stderr
        assert [f.name.split("!")[1] for f in files] == ["pass.example.org"], (files, r.stdout)
        root, rows = counts(files[0])
        assert rows == [(OUTSIDE, 5)], rows  # 2 through one signetd + 3 through the other
        assert root.findtext("policy_published/p") == "reject"
        assert root.findtext("policy_published/domain") == "pass.example.org"
        # -c signetd.conf: Redis from redis.servers, sender from dmarc.reports
        out = tmp_path / "out-c"
        out.mkdir()
        r = subprocess.run([str(harness.signet_path()), "dmarc", "report", "-c", str(sd2.conf),
                            "--out", str(out), "--zone", str(tmp_path / "zone.txt"),
                            "--format", "rfc7489", "--psl", "",
                            "--day", time.strftime("%Y-%m-%d", time.gmtime())],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        files = sorted(out.glob("*.xml.gz"))
        assert len(files) == 1, (files, r.stdout)
        root, rows = counts(files[0])
        assert rows == [(OUTSIDE, 5)], rows
        assert root.findtext("report_metadata/org_name") == "Signet Fleet"
        # --send: the sent state is kept in --db (created); a second run sends nothing
        outbox = tmp_path / "outbox"
        outbox.mkdir()
        fake = tmp_path / "sendmail"
        fake.write_text(f"#!/bin/sh\ncat > \"$(mktemp -p '{outbox}' m.XXXXXX)\"\n")
        fake.chmod(0o755)
        state = tmp_path / "state.db"
        for _ in range(2):
            r = subprocess.run([str(harness.signet_path()), "dmarc", "report", "--redis",
                                redis.url(), "--db", str(state), "--from", FROM, "--send",
                                "--sendmail", str(fake), "--zone", str(tmp_path / "zone.txt"),
                                "--psl", "", "--day", time.strftime("%Y-%m-%d", time.gmtime())],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stdout + r.stderr
            assert len(list(outbox.iterdir())) == 1, (list(outbox.iterdir()), r.stdout)
        assert state.exists()
        # a Redis that does not answer: a clear error, exit 1
        redis.stop()
        r, _ = report(tmp_path, redis.url(), "out2")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "cannot connect to Redis at " + redis.url() in r.stderr, r.stderr
        # not a numeric redis://ADDRESS:PORT: said so, exit 1
        r, _ = report(tmp_path, "redis://redis.example:6379", "out3")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "is not redis://ADDRESS:PORT" in r.stderr, r.stderr
    finally:
        redis.stop()
        for x in reversed(parts + [unbound]):
            x.cleanup()


def test_DMARC_RPT_01_redis_down_mail_flows_and_drops_are_counted(tmp_path):
    require_tools()
    tmp_path.chmod(0o755)
    redis = Redis(tmp_path)
    unbound = harness.Unbound({"example.org": ZONE})
    mport = harness.free_port()
    sd = pf = None
    try:
        redis.start()
        unbound.start()
        sd = signetd(unbound, f"127.0.0.1:{redis.port}", metrics_port=mport)
        pf = harness.Postfix(milter=sd.milter())
        pf.start()
        send(pf, 1)
        deadline = time.monotonic() + 10
        while observations(mport).get("recorded", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert observations(mport).get("recorded", 0) == 1, sd.log_text()[-2000:]

        redis.stop()
        for msg in send(pf, 3):  # 250 and delivered, with signetd's verdict
            assert b"Authentication-Results: mx.signet.test" in msg, msg[:2000]
            assert b"dmarc=pass" in msg, msg[:2000]
        deadline = time.monotonic() + 10
        while observations(mport).get("dropped", 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        obs = observations(mport)
        assert obs.get("dropped", 0) == 3 and obs.get("recorded") == 1, obs
        assert sd.log_lines_with("observation(s) dropped"), sd.log_text()[-2000:]

        # back (empty: no persistence): new observations are recorded again,
        # once the writer's backoff (at most a few seconds here) has passed
        redis.start()
        deadline = time.monotonic() + 40
        while observations(mport).get("recorded", 0) < 2 and time.monotonic() < deadline:
            send(pf, 1)
            time.sleep(0.5)
        obs = observations(mport)
        assert obs.get("recorded", 0) >= 2, (obs, sd.log_text()[-2000:])
        assert sd.log_lines_with("reachable again"), sd.log_text()[-2000:]
        assert sd.stop() == 0, sd.log_text()[-3000:]
        obs_after = obs["recorded"] - 1
        r, files = report(tmp_path, redis.url(), "out")
        assert r.returncode == 0, r.stdout + r.stderr
        _, rows = counts(files[0])
        assert rows == [(OUTSIDE, obs_after)], (rows, obs)
    finally:
        redis.stop()
        for x in (pf, sd, unbound):
            if x:
                x.cleanup()
