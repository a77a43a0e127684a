# test_redis_keys.py: signing keys kept in Redis the way rspamd keeps them
# (issue #17 "Keys in Redis"; dkim_signing.use_redis, key_prefix,
# selector_prefix): a fleet of two signetd, each behind its own real
# Postfix, reads ONE real redis-server on loopback; unbound serves the
# public keys. Both hosts sign with the key Redis holds and verify against
# DNS; a new selector written to Redis reaches both within redis_refresh;
# with redis-server stopped mid-run both go on signing with their cached
# keys (the outage logged once per worker, not per message) while a domain
# never fetched follows on_error.sign (451); after a restart new domains
# are fetched again. A domain without a selector in Redis is not signed;
# a value that is not a key is a clear error naming the field.
# Environment: SIGNET_BIN, SIGNETD_BIN.
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import make_message, unique_id  # noqa: E402

DOMAIN = "example.com"
WORKERS = 2
REFRESH = 1  # dkim_signing.redis_refresh, seconds
TTL = 2      # of the zone's records: a rotation waits this long before it switches


def require_tools():
    why = harness.world_unavailable()
    if why:
        pytest.skip(why)
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server/redis-cli not installed (Debian redis-server; scripts/deps.sh)")


def signet(*args, check=True):
    r = subprocess.run([str(harness.signet_path()), *map(str, args)], capture_output=True,
                       text=True, timeout=60)
    if check:
        assert r.returncode == 0, f"signet {args}: {r.stdout}{r.stderr}"
    return r


class RedisSignetd(harness.Signetd):
    """signetd whose dkim_signing reads keys from Redis (no key files)."""

    def __init__(self, forwarders, redis_server, selector_prefix="DKIM_SELECTORS"):
        super().__init__(harness.signetd_path(), forwarders, [])
        self.redis_server = redis_server
        self.selector_prefix = selector_prefix
        self.metrics_port = harness.free_port()

    def config(self):
        text = super().config()
        sp = f'  selector_prefix = "{self.selector_prefix}";\n' if self.selector_prefix else ""
        text = text.replace(
            "dkim_signing {\n",
            "dkim_signing {\n  use_redis = true;\n" + sp + f"  redis_refresh = {REFRESH}s;\n", 1)
        return text + (f'workers = {WORKERS};\n'
                       f'metrics {{ listen = "127.0.0.1:{self.metrics_port}"; }}\n'
                       f'redis {{ servers = ["{self.redis_server}"]; timeout = 0.5s; }}\n')

    def key_answers(self):
        """{answer: count} of signetd_redis_key_answers_total."""
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                      timeout=10).read().decode()
        return {m.group(1): float(m.group(2)) for m in re.finditer(
            r'^signetd_redis_key_answers_total\{answer="(\w+)"\} (\S+)$', body, re.M)}


class World:
    pass


def keygen(w, domain, selector):
    """A new Ed25519 key: (PEM text, TXT record value)."""
    key = w.tmp / f"{domain}.{selector}.key"
    value = harness.keygen(key, domain, selector)
    return key.read_text(), value


def zone_for(records):
    zones = {}
    for (domain, selector), value in records.items():
        zones.setdefault(domain, {})[f"{selector}._domainkey.{domain}"] = [value]
    return zones


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    require_tools()
    w = World()
    w.tmp = tmp_path_factory.mktemp("redis-keys")
    w.tmp.chmod(0o755)
    w.keys, records = {}, {}
    for domain, selector in ((DOMAIN, "fleet1"), (DOMAIN, "fleet2"),
                             ("late.example", "s1"), ("big.example", "s1")):
        w.keys[(domain, selector)], records[(domain, selector)] = keygen(w, domain, selector)
    w.records = records
    w.redis = harness.Redis(w.tmp)
    w.unbound = harness.Unbound(zone_for(records), ttl=TTL)
    w.hosts = []
    try:
        w.redis.start()
        w.redis.hset("dkim_keys", f"fleet1.{DOMAIN}", w.keys[(DOMAIN, "fleet1")])
        w.redis.cli("HSET", "DKIM_SELECTORS", DOMAIN, "fleet1")
        w.unbound.start()
        for _ in range(2):
            sd = RedisSignetd([w.unbound.forwarder()], w.redis.server())
            sd.start()
            pf = harness.Postfix(milter=sd.milter())
            pf.start()
            w.hosts.append((sd, pf))
        yield w
    finally:
        for sd, pf in w.hosts:
            pf.cleanup()
            sd.cleanup()
        for part in (w.unbound, w.redis):
            part.cleanup()


def dkim_field(data):
    m = re.search(rb"DKIM-Signature:[^\n]*(?:\n[ \t][^\n]*)*", data)
    return m.group(0) if m else None


def tag(field, name):
    m = re.search(rb"\b" + name.encode() + rb"=([A-Za-z0-9_.-]+)", field)
    return m.group(1).decode() if m else None


def send(pf, domain=DOMAIN):
    """One message from a local client, From: user@domain; returns the
    delivered bytes."""
    mid = unique_id("rk")
    pf.submit(make_message(mid, from_addr=f"user@{domain}"), sender=f"user@{domain}")
    return pf.wait_delivery(mid)


def verify(w, data):
    """signet verify against unbound: the result line."""
    p = w.tmp / f"msg-{time.monotonic_ns()}.eml"
    p.write_bytes(harness.Delivered(data).message)
    r = signet("verify", "--dns", "--server", w.unbound.forwarder(), p, check=False)
    return r.returncode, r.stdout + r.stderr


def signed_selector(w, data):
    f = dkim_field(data)
    assert f is not None, data[:600]
    assert tag(f, "d") == DOMAIN, f
    sel = tag(f, "s")
    assert (DOMAIN, sel) in w.records, f"signed with {sel}, whose record is not published"
    return sel


# FLEET-KEYS-02: both hosts sign with the key Redis holds (HGET
# DKIM_SELECTORS example.com -> fleet1; HGET dkim_keys fleet1.example.com),
# and the signatures verify against the record in DNS.
def test_fleet_signs_with_the_key_in_redis(world):
    sd = world.hosts[0][0]
    assert sd.log_lines_with(f"with keys from Redis {world.redis.server()} (hash dkim_keys, "
                             "selectors in DKIM_SELECTORS)", 1), sd.log_text()[:1000]
    r = subprocess.run([str(harness.signetd_path()), "-t", "-c", str(sd.conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and f"keys from Redis {world.redis.server()}, hash dkim_keys" \
        in r.stdout, r
    for sd, pf in world.hosts:
        data = send(pf)
        assert signed_selector(world, data) == "fleet1"
        rc, out = verify(world, data)
        assert rc == 0 and "pass" in out, out
        assert not sd.sanitizer_reports()


def doctor(w, conf):
    sd, pf = w.hosts[0]
    r = subprocess.run([str(harness.signet_path()), "doctor", "-c", str(conf),
                        "--postfix-config", str(pf.etc), "--server", w.unbound.forwarder()],
                       capture_output=True, text=True, timeout=120)
    return r.stdout + r.stderr


# FLEET-KEYS-09: signet doctor with use_redis reads each domain's key from
# Redis as signetd does (the selector hash names the domains) and checks
# it against DNS; a domain with a selector but no key, and Redis down, are
# named with the fix.
def test_doctor_checks_the_keys_in_redis(world):
    w = world
    w.redis.cli("HSET", "DKIM_SELECTORS", "nokey2.example", "s9")
    try:
        out = doctor(w, w.hosts[0][0].conf)
    finally:
        w.redis.cli("HDEL", "DKIM_SELECTORS", "nokey2.example")
    assert re.search(r"OK +dns +fleet1\._domainkey\.example\.com matches the key in Redis "
                     r"\(dkim_keys fleet1\.example\.com\)", out), out
    assert re.search(r"FAIL +dns +s9\.nokey2\.example: no key in Redis", out), out
    assert "signet keygen -d DOMAIN -s SELECTOR --redis URL" in out, out
    dead = w.tmp / "dead-redis.conf"
    dead.write_text(w.hosts[0][0].conf.read_text().replace(
        w.redis.server(), f"127.0.0.1:{harness.free_port()}"))
    out = doctor(w, dead)
    assert re.search(r"FAIL +dns +keys in Redis: .*Connection refused", out), out


# FLEET-KEYS-03: a selector switched in Redis reaches every host: once
# redis_refresh has passed, each worker signs at most one more message with
# the previous (still published) selector while its background fetch runs,
# then every message carries the new one.
def test_selector_switch_in_redis_reaches_every_host(world):
    world.redis.hset("dkim_keys", f"fleet2.{DOMAIN}", world.keys[(DOMAIN, "fleet2")])
    world.redis.cli("HSET", "DKIM_SELECTORS", DOMAIN, "fleet2")
    time.sleep(REFRESH + 0.3)
    for sd, pf in world.hosts:
        assert until_switched(world, pf) <= WORKERS, sd.log_text()[-2000:]


def until_switched(w, pf, run=2 * WORKERS + 1, timeout=30, selector="fleet2"):
    """Sends until `run` messages in a row are signed with selector; returns
    how many were signed with another (published) selector before."""
    deadline = time.monotonic() + timeout
    stale = streak = 0
    while streak < run:
        assert time.monotonic() < deadline, f"no {run} {selector} signatures in a row"
        if signed_selector(w, send(pf)) == selector:
            streak += 1
        else:
            stale, streak = stale + 1, 0
    return stale


def send_many(pf, n, domain=DOMAIN):
    """n messages over parallel connections; [(data or exception)]."""
    out = [None] * n

    def one(k):
        try:
            out[k] = send(pf, domain)
        except Exception as e:  # recorded and asserted on below
            out[k] = e
    threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


# FLEET-KEYS-04: Redis down during load: cached keys go on signing on
# both hosts (no message lost or unsigned), the outage is logged once per
# worker and not per message; a domain never fetched gets on_error.sign
# (tempfail: 451 from Postfix) with the reason in the log; after Redis is
# back (same port, keys written again) that domain is fetched and signed.
def test_redis_down_keeps_cached_keys_and_recovers(world):
    for sd, pf in world.hosts:  # every worker has fleet2 cached (connections spread)
        until_switched(world, pf)
    world.redis.stop()
    results = []
    for sd, pf in world.hosts:
        results += send_many(pf, 12)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    assert all(signed_selector(world, r) == "fleet2" for r in results)
    for sd, pf in world.hosts:
        down = sd.log_lines_with("signing goes on with the", timeout=2)
        assert 1 <= len(down) <= WORKERS, down  # once per worker, not per message
    # a domain no host has fetched yet: on_error.sign = tempfail
    sd, pf = world.hosts[0]
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(pf, "late.example")
    assert e.value.smtp_code == 451, e.value
    assert sd.log_lines_with("signing failed: keys of late.example: Redis 127.0.0.1:", 5), \
        sd.log_text()[-2000:]
    # Redis back on the same port, with the keys (no persistence in the test)
    world.redis.start()
    world.redis.hset("dkim_keys", f"fleet2.{DOMAIN}", world.keys[(DOMAIN, "fleet2")])
    world.redis.cli("HSET", "DKIM_SELECTORS", DOMAIN, "fleet2")
    world.redis.hset("dkim_keys", "s1.late.example", world.keys[("late.example", "s1")])
    world.redis.cli("HSET", "DKIM_SELECTORS", "late.example", "s1")
    deadline = time.monotonic() + 45  # the reconnect backoff is at most 30 s
    data = None
    while time.monotonic() < deadline:
        try:
            data = send(pf, "late.example")
            break
        except smtplib.SMTPDataError as err:
            assert err.smtp_code == 451, err
            time.sleep(1)
    assert data is not None, sd.log_text()[-3000:]
    f = dkim_field(data)
    assert f is not None and tag(f, "d") == "late.example" and tag(f, "s") == "s1", f
    assert sd.log_lines_with("connected again", timeout=5), sd.log_text()[-2000:]
    assert not sd.sanitizer_reports()


# FLEET-KEYS-05: Redis has no selector for the domain: not ours to sign,
# the message is delivered unsigned and the log says why.
def test_domain_without_selector_in_redis_is_not_signed(world):
    sd, pf = world.hosts[0]
    data = send(pf, "nokey.example")
    assert dkim_field(data) is None, data[:600]
    assert sd.log_lines_with("no selector for nokey.example in Redis hash DKIM_SELECTORS", 5)


# FLEET-KEYS-06: a value that is not a private key is an error naming the
# hash and field; on_error.sign = tempfail keeps the message queued (451).
def test_value_that_is_not_a_key_is_named(world):
    world.redis.cli("HSET", "DKIM_SELECTORS", "bad.example", "s1")
    world.redis.cli("HSET", "dkim_keys", "s1.bad.example", "not a key")
    sd, pf = world.hosts[1]
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(pf, "bad.example")
    assert e.value.smtp_code == 451
    assert sd.log_lines_with("Redis hash dkim_keys field s1.bad.example is not a usable "
                             "private key", 5), sd.log_text()[-2000:]


# FLEET-KEYS-07: Postfix streams the body while the keys are fetched
# (NR_EOH, NR_BODY): a 2 MB message for a domain no worker has cached,
# with Redis paused (SIGSTOP, under the 0.5 s timeout) so the fetch waits
# while the body arrives: signetd stops reading (TCP holds the body)
# instead of closing the connection when its held input is full, and the
# whole body is signed (the signature verifies).
def test_big_body_streamed_while_keys_are_fetched(world):
    world.redis.cli("HSET", "DKIM_SELECTORS", "big.example", "s1")
    world.redis.hset("dkim_keys", "s1.big.example", world.keys[("big.example", "s1")])
    sd, pf = world.hosts[0]
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy\n"
    body = line * (2 * 1024 * 1024 // len(line))
    mid = unique_id("rkbig")
    os.kill(world.redis.proc.pid, signal.SIGSTOP)
    try:
        t = threading.Thread(target=pf.submit, args=(
            make_message(mid, from_addr="user@big.example", body=body),),
            kwargs={"sender": "user@big.example"})
        t.start()
        time.sleep(0.4)
    finally:
        os.kill(world.redis.proc.pid, signal.SIGCONT)
    t.join(60)
    data = pf.wait_delivery(mid)
    f = dkim_field(data)
    assert f is not None, sd.log_text()[-2000:]
    assert tag(f, "d") == "big.example" and tag(f, "s") == "s1", f
    rc, out = verify(world, data)
    assert rc == 0 and "pass" in out, out
    assert not sd.log_lines_with("MTA sent too much while we waited", timeout=0)
    assert not sd.sanitizer_reports()


# FLEET-KEYS-07: what the keys' answers were, in /metrics (after the tests
# above: answers from the cache, fetched, none and errors all happened).
def test_key_answers_in_metrics(world):
    sd, pf = world.hosts[0]
    before = sd.key_answers()
    assert set(before) == {"cached", "fetched", "none", "error"}, before
    assert before["fetched"] >= 1 and before["cached"] >= 1 and before["error"] >= 1, before
    send(pf)  # example.com is cached on every worker by now
    after = sd.key_answers()
    assert after["cached"] + after["fetched"] == before["cached"] + before["fetched"] + 1


def rotation_state(w):
    """{selector: state} of the fleet's rotation state in Redis."""
    rows = {}
    for ln in w.redis.cli("GET", "signet_rotation").splitlines():
        if ln and not ln.startswith("#"):
            f = ln.split(" ")
            rows[f[1]] = f[2]
    return rows


# FLEET-KEYS-08 (ROT-FLEET end to end, with mail): `signet rotate` in fleet
# mode while both hosts sign through Postfix; every message signed before,
# during and after the rotation carries a selector whose record was in DNS
# when it was signed; once one host has seen the record for its TTL and
# switched DKIM_SELECTORS, both hosts sign with the new selector.
def test_fleet_rotation_switches_the_signatures(world):
    w = world
    sd0 = w.hosts[0][0]
    r = signet("rotate", "-d", DOMAIN, "-t", "ed25519", "-c", sd0.conf)
    new = re.search(r"new selector (ed\d{8}[b-z]?) ", r.stdout).group(1)
    value = re.search(r"value: (v=DKIM1;.*)", r.stdout).group(1)
    assert rotation_state(w).get(new) == "pending", rotation_state(w)

    def hup_and_send():
        for sd, pf in w.hosts:
            sd.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        return [signed_selector(w, send(pf)) for sd, pf in w.hosts]

    # not published yet: checked, and nothing signs with it
    for _ in range(3):
        assert new not in hup_and_send()
    assert rotation_state(w)[new] == "pending"
    assert w.redis.cli("HGET", "DKIM_SELECTORS", DOMAIN) == "fleet2"
    # published: the record is seen, its TTL waited for, then the switch
    w.records[(DOMAIN, new)] = value
    w.unbound.restart(zone_for(w.records))
    deadline = time.monotonic() + 30
    while rotation_state(w)[new] != "active":
        assert time.monotonic() < deadline, (rotation_state(w), sd0.log_text()[-2000:])
        hup_and_send()  # signed_selector: only published selectors
        time.sleep(0.5)
    assert w.redis.cli("HGET", "DKIM_SELECTORS", DOMAIN) == new
    time.sleep(REFRESH + 0.3)
    for sd, pf in w.hosts:
        assert until_switched(w, pf, selector=new) <= WORKERS
    assert rotation_state(w)["fleet2"] == "retiring"


# Last: signetd stops cleanly with keys cached and Redis connections open
# (in the ASan build a leak or bad free in the key fetcher shows here).
def test_stops_cleanly_with_cached_keys(world):
    for sd, pf in world.hosts:
        assert sd.stop() == 0, sd.log_text()[-2000:]
        assert not sd.sanitizer_reports(), sd.log_text()[-4000:]
