# test_rotation_fleet.py: keys in Redis from the CLI and key rotation in
# fleet mode (issue #17), with a real redis-server and unbound and two real
# signetd sharing one Redis (dkim_signing.use_redis; no Postfix: the
# rotation does not need mail). `signet keygen --redis` stores a key that
# signs and verifies and is never overwritten without --force; `signet
# rotate` keeps the state in Redis; one round after the record is published
# (SIGHUP both) the state is active, DKIM_SELECTORS names the new selector,
# and both signetd agree (logs, metrics); a wrong record is named; the
# retirement deletes the old key field; Redis down during a round is logged
# once, crashes nothing, changes nothing, and the next round after Redis is
# back works. IDs: ROT-FLEET-06..10. Environment: SIGNET_BIN, SIGNETD_BIN.
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DOMAIN = "example.com"
TTL = 2           # of the zone's records: the wait before a switch
RETIRE_AFTER = 12  # seconds (rotation.retire_after): room for both hosts to report "retiring"
SELECTORS = "DKIM_SELECTORS"
KEYS = "dkim_keys"
STATE = "signet_rotation"


def require_tools():
    missing = harness.missing_tools(harness.UNBOUND)
    if missing or shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("unbound, redis-server or redis-cli missing (Debian unbound, "
                    "redis-server, redis-tools; scripts/deps.sh)")
    for b in (harness.signetd_path(), harness.signet_path()):
        if not harness.executable(b):
            pytest.skip(f"{b} not built")


def signet(*args, check=True, input=None):
    r = subprocess.run([str(harness.signet_path()), *map(str, args)], capture_output=True,
                       text=True, timeout=60, input=input)
    if check:
        assert r.returncode == 0, f"signet {args}: {r.stdout}{r.stderr}"
    return r


def zone(records):
    return {DOMAIN: {f"{s}._domainkey.{DOMAIN}": [v] for s, v in records.items()}}


MESSAGE = ("From: a@example.com\nTo: b@example.org\nSubject: fleet\n"
           "Message-ID: <fleet@example.com>\n\nbody\n")


# ---- signet keygen --redis (ROT-FLEET-06) ----------------------------------

def test_ROT_FLEET_06_keygen_redis_stores_signing_key_and_never_overwrites(tmp_path):
    require_tools()
    redis = harness.Redis(tmp_path).start()
    try:
        r = signet("keygen", "-d", DOMAIN, "-s", "s1", "-t", "ed25519", "--redis", redis.url(),
                   "--format", "txt")
        value = r.stdout.strip()
        assert value.startswith("v=DKIM1; k=ed25519; p="), r.stdout
        assert "PRIVATE KEY" not in r.stdout + r.stderr
        assert f"hash {KEYS}, field s1.{DOMAIN}" in r.stderr, r.stderr
        pem = redis.cli("HGET", KEYS, f"s1.{DOMAIN}")
        assert pem.startswith("-----BEGIN PRIVATE KEY-----"), pem[:40]
        assert redis.cli("HEXISTS", SELECTORS, DOMAIN) == "0"  # only with --selector-prefix
        assert not list(tmp_path.glob("*.key"))  # no file without -k

        # the stored key signs; the printed record verifies it
        keyfile = tmp_path / "from-redis.key"
        keyfile.write_text(pem + "\n")
        keyfile.chmod(0o600)
        signed = signet("sign", "-d", DOMAIN, "-s", "s1", "-k", keyfile, "-a", "ed25519-sha256",
                        input=MESSAGE).stdout
        keys = tmp_path / "keys.txt"
        keys.write_text(f"s1._domainkey.{DOMAIN} {value}\n")
        v = signet("verify", "--keys", keys, "--json", input=signed)
        assert '"result":"pass"' in v.stdout, v.stdout

        # never overwritten without --force; the field is unchanged
        again = signet("keygen", "-d", DOMAIN, "-s", "s1", "--redis", redis.url(), check=False)
        assert again.returncode == 1
        assert (f"Redis {redis.server()}: hash {KEYS} already holds a key for s1.{DOMAIN}; "
                "signet never overwrites a key") in again.stderr, again.stderr
        assert redis.cli("HGET", KEYS, f"s1.{DOMAIN}") == pem
        # with -k too: the refusal leaves no file behind
        both = signet("keygen", "-d", DOMAIN, "-s", "s1", "--redis", redis.url(),
                      "-k", tmp_path / "k.key", check=False)
        assert both.returncode == 1 and not (tmp_path / "k.key").exists()

        forced = signet("keygen", "-d", DOMAIN, "-s", "s1", "-t", "ed25519", "--redis",
                        redis.url(), "--force", "--selector-prefix", SELECTORS,
                        "--key-prefix", "other_keys", "--format", "txt")
        assert redis.cli("HGET", SELECTORS, DOMAIN) == "s1"
        assert redis.cli("HGET", "other_keys", f"s1.{DOMAIN}").startswith("-----BEGIN")
        assert redis.cli("HGET", KEYS, f"s1.{DOMAIN}") == pem  # the other hash
        assert "signetd signs example.com with this key as soon as it refreshes" in \
            forced.stderr, forced.stderr
        assert "publish the record above first" in forced.stderr

        # bad input: clear errors, no crash
        bad = signet("keygen", "-d", DOMAIN, "-s", "s2", "--redis", "redis://localhost:6379",
                     check=False)
        assert bad.returncode == 64 and "is not redis://ADDRESS:PORT" in bad.stderr
        bad = signet("keygen", "-d", DOMAIN, "-s", "s2", "--redis", redis.url(),
                     "--key-prefix", "a b", check=False)
        assert bad.returncode == 64 and "not a Redis hash name" in bad.stderr
        bad = signet("keygen", "-d", DOMAIN, "-s", "s2", "-k", tmp_path / "x", "--force",
                     check=False)
        assert bad.returncode == 64 and "go with --redis URL" in bad.stderr
        port = redis.port
        redis.stop()
        down = signet("keygen", "-d", DOMAIN, "-s", "s2", "--redis", redis.url(), check=False)
        assert down.returncode == 1
        assert f"Redis 127.0.0.1:{port}: Connection refused" in down.stderr, down.stderr
    finally:
        redis.cleanup()


# ---- rotation in fleet mode (ROT-FLEET-07..10) -----------------------------

class World:
    pass


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    require_tools()
    w = World()
    w.tmp = tmp_path_factory.mktemp("fleet")
    w.tmp.chmod(0o755)
    w.fl = None
    try:
        w.fl = harness.start_fleet(
            w.tmp, 2, {DOMAIN: {}}, [DOMAIN], ttl=TTL, metrics=True,
            extra=f"rotation {{ retire_after = {RETIRE_AFTER}s; }}\n")
        # s1 signs today: its key in Redis, DKIM_SELECTORS names it, published
        r = signet("keygen", "-d", DOMAIN, "-s", "s1", "-t", "ed25519", "--redis",
                   w.fl.redis.url(), "--selector-prefix", SELECTORS, "--format", "txt")
        w.published = {"s1": r.stdout.strip()}
        w.fl.unbound.restart(zone(w.published))
        w.redis, w.unbound, w.sds = w.fl.redis, w.fl.unbound, w.fl.signetds
        yield w
    finally:
        if w.fl:
            w.fl.cleanup()


def state(w):
    rows = {}
    for ln in w.redis.cli("GET", STATE).splitlines():
        if ln and not ln.startswith("#"):
            f = ln.split(" ")
            rows[f[1]] = {"state": f[2], "since": int(f[3]), "checked": int(f[5]),
                          "path": f[6], "note": " ".join(f[7:])}
    return rows


def hup_all(w):
    for sd in w.sds:
        sd.proc.send_signal(signal.SIGHUP)


def hup_until(w, selector, pred, timeout=20):
    """SIGHUP both (reload + rotation check) until the state of selector
    in Redis satisfies pred."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        before = state(w).get(selector, {}).get("checked", 0)
        hup_all(w)
        t = time.monotonic() + 5
        while time.monotonic() < t:
            last = state(w).get(selector)
            if last and (last["checked"] != before or pred(last)):
                break
            time.sleep(0.1)
        if last and pred(last):
            return last
        time.sleep(0.5)
    raise AssertionError(f"{selector}: state {last} did not come\n"
                         + "\n".join(sd.log_text()[-2000:] for sd in w.sds))


def metrics(sd):
    with urllib.request.urlopen(f"http://127.0.0.1:{sd.metrics_port}/metrics", timeout=5) as r:
        return r.read().decode()


def wait_for(pred, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {timeout}s")


def test_ROT_FLEET_07_rotate_refuses_without_selector_hash(fleet):
    """Fleet rotation needs selector_prefix: refused with the fix, nothing stored."""
    w = fleet
    conf = w.tmp / "no-selectors.conf"
    conf.write_text(w.sds[0].conf.read_text().replace(f'selector_prefix = "{SELECTORS}";', ""))
    r = signet("rotate", "-d", DOMAIN, "-c", conf, check=False)
    assert r.returncode == 1
    assert "fleet rotation needs a selector hash" in r.stderr, r.stderr
    assert 'selector_prefix = "DKIM_SELECTORS";' in r.stderr
    assert w.redis.cli("EXISTS", STATE) == "0"
    assert w.redis.cli("HLEN", KEYS) == "1"
    r = signet("rotate", "-d", DOMAIN, "-c", w.sds[0].conf, "--state", w.tmp / "s",
               check=False)
    assert r.returncode == 64 and "--state is the single-host state file" in r.stderr


def test_ROT_FLEET_08_fleet_switches_together_and_retires(fleet):
    w = fleet
    r = signet("rotate", "-d", DOMAIN, "-c", w.sds[0].conf)
    new = re.search(r"new selector (ed\d{8}[b-z]?) ", r.stdout).group(1)
    value = re.search(r"value: (v=DKIM1;.*)", r.stdout).group(1)
    assert f"key in Redis {w.redis.server()}, hash {KEYS}, field {new}.{DOMAIN}" in r.stdout
    assert "PRIVATE KEY" not in r.stdout + r.stderr
    st = state(w)
    assert st[new]["state"] == "pending" and st["s1"]["state"] == "active", st
    assert st[new]["path"] == f"redis:{KEYS}" and st["s1"]["path"] == f"redis:{KEYS}"
    assert w.redis.cli("HGET", KEYS, f"{new}.{DOMAIN}").startswith("-----BEGIN PRIVATE KEY")
    status = signet("rotate", "--status", "--redis", w.redis.url()).stdout
    assert f"{DOMAIN} {new}: pending" in status and value in status, status

    # Not published: checked, still pending, the fleet still signs with s1.
    hup_until(w, new, lambda s: s["checked"] > 0)
    assert state(w)[new]["state"] == "pending"
    assert w.redis.cli("HGET", SELECTORS, DOMAIN) == "s1"

    # Published: seen, then the switch after the TTL; one host writes
    # DKIM_SELECTORS, every host reloads.
    w.published[new] = value
    w.unbound.restart(zone(w.published))
    hup_until(w, new, lambda s: s["state"] in ("published", "active"))
    time.sleep(TTL + 0.5)
    hup_until(w, new, lambda s: s["state"] == "active")
    switched_at = time.monotonic()
    assert state(w)["s1"]["state"] == "retiring"
    assert w.redis.cli("HGET", SELECTORS, DOMAIN) == new
    switched = [sd for sd in w.sds if sd.log_lines_with(
        f"key rotation: {DOMAIN} now signs with selector {new} (was s1)", timeout=5)]
    assert len(switched) == 1, [sd.log_text()[-2000:] for sd in w.sds]
    other = [sd for sd in w.sds if sd is not switched[0]][0]
    hup_all(w)  # the other host's next round at the latest
    assert other.log_lines_with("key rotation: another signetd switched a selector",
                                timeout=10), other.log_text()[-3000:]
    assert other.log_lines_with("key rotation: reloading the configuration and keys")
    for sd in w.sds:
        wait_for(lambda: f'signetd_key_rotation{{domain="{DOMAIN}",selector="{new}",'
                         'state="active"} 1' in metrics(sd), what="metrics")
        text = metrics(sd)
        assert f'signetd_key_rotation{{domain="{DOMAIN}",selector="s1",state="retiring"}} 1' \
            in text, text

    # retire_after later: s1 retired, its key field deleted, the log says
    # which record to revoke.
    time.sleep(max(0.0, RETIRE_AFTER + 0.5 - (time.monotonic() - switched_at)))
    hup_until(w, "s1", lambda s: s["state"] == "retired")
    assert w.redis.cli("HEXISTS", KEYS, f"s1.{DOMAIN}") == "0"
    assert w.redis.cli("HEXISTS", KEYS, f"{new}.{DOMAIN}") == "1"
    assert any(sd.log_lines_with(f'replace its record with a revoked one: s1._domainkey.'
                                 f'{DOMAIN}. IN TXT "v=DKIM1; p="') for sd in w.sds)
    status = signet("rotate", "--status", "-c", w.sds[1].conf).stdout
    assert f"{DOMAIN} s1: retired" in status and '"v=DKIM1; p="' in status, status
    assert f"signetd deleted its key from Redis hash {KEYS}" in status
    assert f"{DOMAIN} {new}: active" in status, status
    for sd in w.sds:
        assert sd.alive() and not sd.sanitizer_reports()


def test_ROT_FLEET_09_wrong_record_is_named(fleet):
    w = fleet
    active_before = [s for s, v in state(w).items() if v["state"] == "active"]
    sel_before = w.redis.cli("HGET", SELECTORS, DOMAIN)
    r = signet("rotate", "-d", DOMAIN, "--redis", w.redis.url(), "--selector-prefix",
               SELECTORS, "--selector", "wrong1")
    assert "new selector wrong1" in r.stdout
    other = w.tmp / "other.key"
    rec = signet("keygen", "-d", DOMAIN, "-s", "o", "-t", "ed25519", "-k", other,
                 "--format", "txt").stdout.strip()
    w.published["wrong1"] = rec
    w.unbound.restart(zone(w.published))
    got = hup_until(w, "wrong1", lambda s: s["state"] == "wrong")
    assert "another key" in got["note"], got
    assert any(sd.log_lines_with(f"key rotation: {DOMAIN} selector wrong1: the published "
                                 "record is wrong") for sd in w.sds)
    st = signet("rotate", "--status", "--redis", w.redis.url()).stdout
    assert f"{DOMAIN} wrong1: wrong" in st and "the published record is wrong" in st, st
    assert f"check: signet dnscheck -d {DOMAIN} -s wrong1\n" in st, st
    assert [s for s, v in state(w).items() if v["state"] == "active"] == active_before
    assert w.redis.cli("HGET", SELECTORS, DOMAIN) == sel_before


def test_ROT_FLEET_10_redis_down_logged_once_state_unchanged(fleet):
    w = fleet
    w.redis.save()
    before = w.redis.cli("GET", STATE)
    port = w.redis.port
    w.redis.stop()
    for _ in range(3):
        hup_all(w)
        time.sleep(1.0)
    for sd in w.sds:
        assert sd.alive(), sd.log_text()[-3000:]
        lines = sd.log_lines_with(f"key rotation: Redis 127.0.0.1:{port}: Connection refused",
                                  timeout=5)
        assert len(lines) == 1, sd.log_text()[-3000:]
        assert "logged once until Redis answers" in lines[0]
    w.redis.start()  # same port and directory: dump.rdb loads the saved data
    assert w.redis.port == port
    assert w.redis.cli("GET", STATE) == before
    checked = state(w)["wrong1"]["checked"]
    time.sleep(1.1)  # a new second for "checked"
    hup_until(w, "wrong1", lambda s: s["checked"] > checked)
    for sd in w.sds:
        assert sd.log_lines_with(f"key rotation: Redis 127.0.0.1:{port} answers again",
                                 timeout=10), sd.log_text()[-3000:]
        assert sd.alive() and not sd.sanitizer_reports()



def race_path():
    return harness.signet_path().resolve().parent.parent / "tests" / "rotation_race"


def test_ROT_FLEET_11_another_host_writes_between_read_and_exec(tmp_path):
    """conf/rotation_redis.c's transaction, with a real conflict: another
    host (tests/rotation_race's second connection) writes the state after
    our WATCH and read. Once: EXEC fails, the retry keeps the other host's
    entry and adds ours (and the selector HSET of the same EXEC). Every
    time: after ROTATION_REDIS_MAX_TRIES the update gives up, nothing of
    ours is written."""
    require_tools()
    race = race_path()
    if not race.is_file():
        pytest.fail(f"tests/rotation_race not built at {race} (bash scripts/build.sh)")
    redis = harness.Redis(tmp_path).start()
    try:
        r = subprocess.run([str(race), redis.server(), "race1", "once"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.startswith("tries 2\n"), r.stdout
        stored = redis.cli("GET", "race1")
        assert "other0.example s1 pending" in stored and "ours.example s2 pending" in stored, \
            stored
        assert redis.cli("HGET", "DKIM_SELECTORS_TEST", "ours.example") == "s2"

        r = subprocess.run([str(race), redis.server(), "race2", "always"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, r.stdout + r.stderr
        assert r.stdout.startswith("tries 5\n"), r.stdout  # ROTATION_REDIS_MAX_TRIES
        assert ("changed under this change ROTATION_REDIS_MAX_TRIES (5) times in a row; "
                "try again") in r.stdout, r.stdout
        stored = redis.cli("GET", "race2")
        assert "ours.example" not in stored and "other4.example" in stored, stored
    finally:
        redis.cleanup()


def test_ROT_FLEET_12_bad_state_in_redis_is_refused_with_where(tmp_path):
    """What is in Redis is input: a malformed state names the server, key
    and line; more than ROTATION_MAX_FILE is refused without reading it all
    (the limit itself is read); a key of the wrong type is named."""
    require_tools()
    redis = harness.Redis(tmp_path).start()
    try:
        def status():
            return signet("rotate", "--status", "--redis", redis.url(), check=False)
        redis.cli("SET", STATE, "example.com s1 sleeping 1 0 0 redis:dkim_keys")
        r = status()
        assert r.returncode == 1
        assert f"Redis {redis.server()} key {STATE}:1: unknown state" in r.stderr, r.stderr
        limit = 1024 * 1024  # ROTATION_MAX_FILE
        big = tmp_path / "big"
        big.write_text("#" * limit)
        subprocess.run(["redis-cli", "-p", str(redis.port), "-x", "SET", STATE],
                       stdin=big.open("rb"), check=True, capture_output=True, timeout=30)
        r = status()
        assert r.returncode == 0 and "no key rotation recorded" in r.stdout, r.stdout + r.stderr
        redis.cli("APPEND", STATE, "#")
        r = status()
        assert r.returncode == 1
        assert "longer than ROTATION_MAX_FILE" in r.stderr, r.stderr
        redis.cli("DEL", STATE)
        redis.cli("HSET", STATE, "a", "b")
        r = status()
        assert r.returncode == 1 and "WRONGTYPE" in r.stderr, r.stderr
    finally:
        redis.cleanup()


from test_nsupdate import ZONE as NS_ZONE  # noqa: E402
from test_nsupdate import world as knot_world  # noqa: E402,F401  (Knot DNS + TSIG, a fixture)


def test_ROT_FLEET_13_nsupdate_publishes_in_fleet_mode(knot_world, tmp_path):
    """--nsupdate works in fleet mode too: the key in Redis, the rotation
    pending in Redis, and the record Knot serves after the update is the
    new key's."""
    require_tools()
    w = knot_world
    redis = harness.Redis(tmp_path).start()
    try:
        r = signet("rotate", "-d", NS_ZONE, "-t", "ed25519", "--redis", redis.url(),
                   "--selector-prefix", SELECTORS, "--selector", "fleet1",
                   "--nsupdate", w.server, "--tsig", w.tsig)
        value = re.search(r"value: (v=DKIM1;.*)", r.stdout).group(1)
        assert f"published by dynamic update to {w.server}" in r.stdout, r.stdout
        assert w.knot.txt(f"fleet1._domainkey.{NS_ZONE}") == [(3600, [value])]
        assert f"{NS_ZONE} fleet1 pending" in redis.cli("GET", STATE)
        assert redis.cli("HEXISTS", KEYS, f"fleet1.{NS_ZONE}") == "1"
    finally:
        redis.cleanup()
