# test_health.py: signetd's check of the published key records against its keys, with a
# real unbound serving the records: `signetd -t --check-dns` once (exit 0 when every record
# matches, 1 when one is missing, revoked or does not match, with the finding and the fix),
# and the same check in the running daemon at start (logged as warnings).
import subprocess

import pytest

import harness


@pytest.fixture(scope="module")
def bins():
    signetd = harness.signetd_path()
    signet = harness.signet_path()
    missing = harness.missing_tools(signetd, signet, harness.UNBOUND)
    if missing:
        pytest.skip(f"not found: {', '.join(missing)} (build signet, or set SIGNET_BIN/SIGNETD_BIN;"
                    " unbound from Debian's unbound package)")
    return signet, signetd


@pytest.fixture(scope="module")
def world(bins, tmp_path_factory):
    """Keys good/bad/rev/gone/testing/small (RSA-1536) for example.com; unbound publishes:
    small's record, good's record,
    for bad the record of another key, for rev a revoked record, for testing good's key
    with t=y, and nothing for gone."""
    signet, signetd = bins
    d = tmp_path_factory.mktemp("health")
    d.chmod(0o755)
    recs = {}
    for sel in ("good", "bad", "rev", "gone", "testing", "other", "small"):
        bits = ["-b", "1536"] if sel == "small" else []
        r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", sel, "-k",
                            str(d / f"{sel}.key"), "--format", "txt", *bits],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r
        recs[sel] = r.stdout.decode().strip()
    zone = {
        "good._domainkey.example.com": [recs["good"]],
        "bad._domainkey.example.com": [recs["other"]],
        "rev._domainkey.example.com": ["v=DKIM1; k=rsa; p="],
        "testing._domainkey.example.com": [recs["testing"].replace("v=DKIM1;", "v=DKIM1; t=y;")],
        "dup._domainkey.example.com": [recs["good"], recs["other"]],
        "small._domainkey.example.com": [recs["small"]],
        "sha1._domainkey.example.com": [recs["good"].replace("v=DKIM1;", "v=DKIM1; h=sha1;")],
    }
    ub = harness.Unbound({"example.com": zone}).start()
    yield {"dir": d, "signetd": signetd, "ub": ub, "recs": recs}
    ub.cleanup()


def check_dns(world, sels, key_of=None):
    """signetd -t --check-dns with the given (selector[, key name]) list: (rc, output)."""
    d = world["dir"]
    selectors = [("example.com", s, d / f"{(key_of or {}).get(s, s)}.key") for s in sels]
    sd = harness.Signetd(world["signetd"], [world["ub"].forwarder()], selectors)
    try:
        sd.port = harness.free_port()
        sd.conf.write_text(sd.config())
        r = subprocess.run([str(sd.binary), "-t", "--check-dns", "-c", str(sd.conf)],
                           capture_output=True, timeout=60)
        out = (r.stdout + r.stderr).decode(errors="replace")
        for mark in harness.SANITIZER_MARKS:
            assert mark not in out, out
        return r.returncode, out
    finally:
        sd.cleanup()


def test_check_dns_good_record_exits_0(world):
    """A published record that matches the private key: exit 0, no finding."""
    rc, out = check_dns(world, ["good"])
    assert rc == 0, out
    assert "DNS check: 1 selector, 0 errors, 0 warnings" in out, out


def test_check_dns_mismatch_names_key_and_fix(world):
    """A record of another key: exit 1; the line names domain, selector, key file, and the
    fix is the exact record to publish."""
    rc, out = check_dns(world, ["good", "bad"])
    assert rc == 1, out
    key = world["dir"] / "bad.key"
    assert (f"signetd: error: DNS check: bad._domainkey.example.com (domain example.com, "
            f"selector bad, key {key}) does not match the private key; fix: publish "
            f"bad._domainkey.example.com. IN TXT \"{world['recs']['bad']}\"") in out, out
    assert "2 selectors, 1 error, 0 warnings" in out, out


def test_check_dns_missing_record(world):
    """No record at all (NXDOMAIN): exit 1, "has no key record", fix = record to publish."""
    rc, out = check_dns(world, ["gone"])
    assert rc == 1, out
    assert "gone._domainkey.example.com (domain example.com, selector gone" in out, out
    assert "has no key record (NXDOMAIN)" in out, out
    assert f"IN TXT \"{world['recs']['gone']}\"" in out, out


def test_check_dns_revoked_record(world):
    """p= empty: exit 1, "is revoked"."""
    rc, out = check_dns(world, ["rev"])
    assert rc == 1, out
    assert "rev._domainkey.example.com (domain example.com, selector rev" in out, out
    assert "is revoked (empty p=)" in out, out
    assert "does not match" not in out, out


def test_check_dns_warnings_do_not_fail(world):
    """t=y and two records are warnings (exit 0): t=y makes receivers treat the mail as
    unsigned; with two records verifiers may pick either."""
    rc, out = check_dns(world, ["testing", "dup"], key_of={"dup": "good"})
    assert rc == 0, out
    assert "signetd: warning: DNS check: testing._domainkey.example.com" in out, out
    assert "t=y (testing): verifiers may treat the signed mail as unsigned" in out, out
    assert "dup._domainkey.example.com (domain example.com, selector dup" in out, out
    assert "has 2 TXT records" in out, out
    assert "0 errors, 2 warnings" in out, out


def test_RFC8301_1536_bit_key_same_severity_in_signetd_and_dnscheck(world):
    """RFC 8301 3.2: signers SHOULD use 2048 bits. A 1536-bit key is one judgment
    (signet_keyrec_check) with two renderings: a warning in signetd's DNS check and a
    warning in `signet dnscheck` of the same record (exit 0 in both: it still works)."""
    rc, out = check_dns(world, ["small"])
    assert rc == 0, out
    finding = "the RSA key has 1536 bits; signers should use at least 2048 (RFC 8301 3.2)"
    lines = [ln for ln in out.splitlines() if finding in ln]
    assert len(lines) == 1 and "signetd: warning: DNS check: small._domainkey" in lines[0], out
    assert "0 errors" in out, out
    r = subprocess.run([str(harness.signet_path()), "dnscheck", "-d", "example.com", "-s",
                        "small", "--record", world["recs"]["small"], "-k",
                        str(world["dir"] / "small.key")], capture_output=True, timeout=60)
    text = r.stdout.decode()
    assert r.returncode == 0, text
    assert f"  warning: {finding}\n" in text, text
    assert "key: matches the private key" in text, text


def test_DKIM_KEY_06_h_without_sha256_is_an_error(world):
    """signetd's DNS check judges with signet_keyrec_check, which looks at h= too (it
    did not before): h=sha1 holding the right key can verify no rsa-sha256 signature."""
    rc, out = check_dns(world, ["sha1"], key_of={"sha1": "good"})
    assert rc == 1, out
    assert ("signetd: error: DNS check: sha1._domainkey.example.com (domain example.com, "
            "selector sha1") in out, out
    assert "is not usable: h= does not allow sha256" in out, out
    assert "does not match" not in out, out


def test_running_daemon_checks_at_start(world):
    """The running daemon checks at start and logs each problem as a warning."""
    d = world["dir"]
    sd = harness.Signetd(world["signetd"], [world["ub"].forwarder()],
                         [("example.com", "good", d / "good.key"),
                          ("example.com", "bad", d / "bad.key")])
    try:
        sd.start()
        lines = sd.log_lines_with("DNS check:", timeout=10)
        assert any("bad._domainkey.example.com" in ln and "does not match the private key" in ln
                   for ln in lines), sd.log_text()
        assert not any("good._domainkey" in ln for ln in lines), sd.log_text()
        assert sd.alive()
        assert sd.stop() == 0, sd.log_text()
        assert not sd.sanitizer_reports(), sd.log_text()
    finally:
        sd.stop()
        sd.cleanup()


def test_running_daemon_one_selector_singular(world):
    """Plural agreement (issue #19): one matching selector is logged as "the
    key record of 1 selector matches its key"."""
    d = world["dir"]
    sd = harness.Signetd(world["signetd"], [world["ub"].forwarder()],
                         [("example.com", "good", d / "good.key")])
    try:
        sd.start()
        lines = sd.log_lines_with("DNS check:", timeout=10)
        assert any(ln.endswith("DNS check: the key record of 1 selector matches its key")
                   for ln in lines), sd.log_text()
    finally:
        sd.stop()
        sd.cleanup()


def test_running_daemon_health_interval_off(world):
    """dns.health_interval = 0 turns the check off."""
    d = world["dir"]
    sd = harness.Signetd(world["signetd"], [world["ub"].forwarder()],
                         [("example.com", "bad", d / "bad.key")])
    orig = sd.config
    sd.config = lambda: orig().replace("  timeout = 2s;\n",
                                       "  timeout = 2s;\n  health_interval = 0;\n")
    assert "health_interval = 0" in sd.config()
    try:
        sd.start()
        assert sd.log_lines_with("DNS check:", timeout=2) == [], sd.log_text()
    finally:
        sd.stop()
        sd.cleanup()
