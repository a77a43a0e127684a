# test_rotation.py: key rotation that waits for DNS (issue #17), with a real
# Postfix, signetd and unbound. `signet rotate` makes a new selector; signetd
# keeps signing with the old one while the new record is missing (checked
# on SIGHUP, on demand), sees it once published, waits its TTL, switches
# (logged, metrics, the state file), and retires the old selector after
# retire_after; a wrong record is named. Every message delivered during the
# run is signed with a selector whose record was published when it was
# signed, and verifies against DNS.
# Environment: SIGNET_BIN, SIGNETD_BIN.
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import make_message, unique_id  # noqa: E402

DOMAIN = "example.com"
TTL = 2           # of the zone's records: the wait before a switch
RETIRE_AFTER = 6  # seconds (rotation.retire_after)


def require_tools():
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.UNBOUND)
    if missing:
        pytest.skip(f"Postfix/unbound tools missing: {', '.join(missing)}")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")


def signet(*args, check=True):
    r = subprocess.run([str(harness.signet_path()), *map(str, args)], capture_output=True,
                       text=True, timeout=60)
    if check:
        assert r.returncode == 0, f"signet {args}: {r.stdout}{r.stderr}"
    return r


def txt_value(keyfile):
    """The record value of a key (keygen's --format txt line)."""
    return signet("dnscheck", "-d", DOMAIN, "-s", "x", "-k", keyfile, check=False)


class World:
    pass


def zone(records):
    return {DOMAIN: {f"{s}._domainkey.{DOMAIN}": [v] for s, v in records.items()}}


def record_of(keyfile, selector):
    """The TXT value keygen printed for keyfile (kept by the test)."""
    return World.records[(selector, str(keyfile))]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    require_tools()
    for b in (harness.signetd_path(), harness.signet_path()):
        if not harness.executable(b):
            pytest.skip(f"{b} not built")
    w = World()
    w.tmp = tmp_path_factory.mktemp("rotation")
    w.tmp.chmod(0o755)
    w.keys = w.tmp / "keys"
    w.keys.mkdir()
    w.state = w.tmp / "rotation.state"
    w.key1 = w.keys / "example.com.s1.key"
    r = signet("keygen", "-d", DOMAIN, "-s", "s1", "-t", "ed25519", "-k", w.key1,
               "--format", "txt")
    w.published = {"s1": r.stdout.strip()}
    w.unbound = harness.Unbound(zone(w.published), ttl=TTL)
    w.metrics_port = harness.free_port()
    w.signetd = harness.Signetd(
        harness.signetd_path(), [], [(DOMAIN, "s1", w.key1)],
        extra=(f'rotation {{ state = "{w.state}"; retire_after = {RETIRE_AFTER}s; }}\n'
               f'metrics {{ listen = "127.0.0.1:{w.metrics_port}"; }}\n'))
    w.postfix = None
    try:
        w.unbound.start()
        w.signetd.forwarders = [w.unbound.forwarder()]
        w.signetd.start()
        w.postfix = harness.Postfix(milter=w.signetd.milter())
        w.postfix.start()
        yield w
    finally:
        for part in (w.postfix, w.signetd, w.unbound):
            if part:
                part.cleanup()


def send(w):
    """One locally submitted message (signed); returns (selector it was
    signed with, delivered bytes); the selector's record must be published."""
    mid = unique_id("rot")
    w.postfix.submit(make_message(mid))
    data = w.postfix.wait_delivery(mid)
    m = re.search(rb"DKIM-Signature:[^\n]*(?:\n[ \t][^\n]*)*", data)
    assert m, data[:500]
    sel = re.search(rb"\bs=([A-Za-z0-9_-]+)", m.group(0)).group(1).decode()
    assert sel in w.published, f"signed with {sel}, whose record is not published"
    w.sent.append(data)
    return sel


def state(w):
    rows = {}
    for ln in w.state.read_text().splitlines():
        if ln and not ln.startswith("#"):
            f = ln.split(" ")
            rows[f[1]] = {"state": f[2], "since": int(f[3]), "checked": int(f[5]),
                          "note": " ".join(f[7:])}
    return rows


def hup_until(w, selector, pred, timeout=20):
    """SIGHUP (reload + rotation check) until the state of selector
    satisfies pred."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        before = state(w).get(selector, {}).get("checked", 0)
        w.signetd.proc.send_signal(signal.SIGHUP)
        t = time.monotonic() + 5
        while time.monotonic() < t:
            last = state(w).get(selector)
            if last and (last["checked"] != before or pred(last)):
                break
            time.sleep(0.1)
        if last and pred(last):
            return last
        time.sleep(0.5)
    raise AssertionError(f"{selector}: state {last} did not come\n{w.signetd.log_text()[-3000:]}")


def metrics(w):
    with urllib.request.urlopen(f"http://127.0.0.1:{w.metrics_port}/metrics", timeout=5) as r:
        return r.read().decode()


def test_rotation_waits_for_dns_then_switches_and_retires(world):
    w = world
    w.sent = []
    assert send(w) == "s1"
    r = signet("rotate", "-d", DOMAIN, "-c", w.signetd.conf, "--keys-dir", w.keys,
               "--state", w.state)
    new = re.search(r"new selector (ed\d{8}[b-z]?) ", r.stdout).group(1)
    key2 = w.keys / f"example.com.{new}.key"
    value = re.search(r"value: (v=DKIM1;.*)", r.stdout).group(1)
    assert state(w)[new]["state"] == "pending" and state(w)["s1"]["state"] == "active"

    # Not published: signetd looks, finds nothing, keeps signing with s1.
    hup_until(w, new, lambda s: s["checked"] > 0)
    assert state(w)[new]["state"] == "pending"
    assert send(w) == "s1"

    # Published: seen, then the switch comes only after the record's TTL.
    w.published[new] = value
    w.unbound.restart(zone(w.published))
    seen = hup_until(w, new, lambda s: s["state"] in ("published", "active"))
    if seen["state"] == "published":
        assert send(w) == "s1"
        assert w.signetd.log_lines_with(f"{DOMAIN} selector {new}: the record matches the key")
    time.sleep(TTL + 0.5)
    hup_until(w, new, lambda s: s["state"] == "active")
    assert state(w)["s1"]["state"] == "retiring"
    lines = w.signetd.log_lines_with(f"key rotation: {DOMAIN} now signs with selector {new} "
                                     "(was s1)", timeout=10)
    assert lines, w.signetd.log_text()[-3000:]
    assert w.signetd.log_lines_with("key rotation: reloading the configuration and keys")
    deadline = time.monotonic() + 10
    while send(w) != new:
        assert time.monotonic() < deadline, "signetd did not switch to the new selector"
    text = metrics(w)
    assert f'signetd_key_rotation{{domain="{DOMAIN}",selector="{new}",state="active"}} 1' in text
    assert f'signetd_key_rotation{{domain="{DOMAIN}",selector="s1",state="retiring"}} 1' in text
    assert re.search(rf'signetd_key_rotation_checked_seconds{{domain="{DOMAIN}",'
                     rf'selector="{new}"}} [1-9]\d+', text), text

    # retire_after later: s1 retired, the log and --status say what to publish.
    time.sleep(RETIRE_AFTER)
    hup_until(w, "s1", lambda s: s["state"] == "retired")
    assert w.signetd.log_lines_with(
        f'replace its record with a revoked one: s1._domainkey.{DOMAIN}. IN TXT "v=DKIM1; p="')
    st = signet("rotate", "--status", "-c", w.signetd.conf, "--state", w.state).stdout
    assert f"{DOMAIN} s1: retired" in st and '"v=DKIM1; p="' in st, st
    assert f"{DOMAIN} {new}: active" in st, st
    assert send(w) == new

    # Everything delivered verifies against the DNS as it is now.
    for data in w.sent:
        v = subprocess.run([str(harness.signet_path()), "verify", "--dns", "--server",
                            w.unbound.forwarder()], input=data, capture_output=True,
                           timeout=30)
        assert v.returncode == 0, v.stdout + v.stderr
    assert not w.signetd.sanitizer_reports()


def test_rotation_wrong_record_is_named(world):
    """A record published at the new selector that is not the new key's:
    state wrong, the problem logged, nothing switched."""
    w = world
    w.sent = getattr(w, "sent", [])
    active_before = [s for s, v in state(w).items() if v["state"] == "active"]
    r = signet("rotate", "-d", DOMAIN, "-c", w.signetd.conf, "--keys-dir", w.keys,
               "--state", w.state, "--selector", "wrong1")
    assert "new selector wrong1" in r.stdout
    other = w.tmp / "other.key"
    rec = signet("keygen", "-d", DOMAIN, "-s", "o", "-t", "ed25519", "-k", other,
                 "--format", "txt").stdout.strip()
    w.published["wrong1"] = rec
    w.unbound.restart(zone(w.published))
    got = hup_until(w, "wrong1", lambda s: s["state"] == "wrong")
    assert "another key" in got["note"], got
    assert w.signetd.log_lines_with(
        f"key rotation: {DOMAIN} selector wrong1: the published record is wrong")
    st = signet("rotate", "--status", "-c", w.signetd.conf, "--state", w.state).stdout
    assert f"{DOMAIN} wrong1: wrong" in st and "the published record is wrong" in st, st
    assert [s for s, v in state(w).items() if v["state"] == "active"] == active_before
    assert send(w) == active_before[0]
