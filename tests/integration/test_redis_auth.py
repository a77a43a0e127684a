# test_redis_auth.py: rspamd's Redis password, username (Redis 6 ACL) and
# db for every Redis client of signet, against a real redis-server started
# with --requirepass (and an ACL user), the keys in database 3. signetd is
# spoken to over the milter protocol (the client of test_milter_wire.py; no
# Postfix is needed to sign a local message); the signature is checked with
# `signet verify --keys`. IDs: REDIS-AUTH-03 (the CLI's synchronous client:
# keygen, rotate --status, dmarc report; signetd's DMARC report writer),
# REDIS-AUTH-04 (signetd's key
# fetcher: AUTH and SELECT first, a refusal is a logged outage and a
# tempfail), REDIS-AUTH-05 (the password is never shown: --dump-config, the
# log, error messages). Environment: SIGNET_BIN, SIGNETD_BIN.
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_milter_wire import Milter, assemble, header_mods  # noqa: E402

DOMAIN = "example.com"
PASSWORD = "pa ss@w0rd-7c1e"  # a space and an '@': percent-encoded in URLs
URL_PASSWORD = "pa%20ss%40w0rd-7c1e"
ACL_USER, ACL_PASSWORD = "signet", "acl-pw-91d3"
DB = 3
KEYS = "dkim_keys"
HEADERS = [("From", f"Joe <joe@{DOMAIN}>"), ("To", "sue@example.net"),
           ("Subject", "redis auth"), ("Date", "Tue, 24 Nov 2026 10:00:00 +0000")]
BODY = b"Signed with a key from Redis database 3.\r\n"


def require_tools():
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server or redis-cli missing (Debian redis-server, redis-tools; "
                    "scripts/deps.sh)")
    for b in (harness.signetd_path(), harness.signet_path()):
        if not harness.executable(b):
            pytest.skip(f"{b} not built")


def signet(*args, check=True, env=None):
    r = subprocess.run([str(harness.signet_path()), *map(str, args)], capture_output=True,
                       text=True, timeout=60, env={**os.environ, **(env or {})})
    if check:
        assert r.returncode == 0, f"signet {args}: {r.stdout}{r.stderr}"
    return r


def url(redis, userinfo="", db=DB):
    return f"redis://{userinfo}127.0.0.1:{redis.port}/{db}"


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    """requirepass PASSWORD, an ACL user, and the key of s1.example.com in
    database 3 (stored by keygen with the password in the URL)."""
    require_tools()
    d = tmp_path_factory.mktemp("redisauth")
    r = harness.Redis(d, password=PASSWORD, users=[(ACL_USER, ACL_PASSWORD)]).start()
    try:
        out = signet("keygen", "-d", DOMAIN, "-s", "s1", "-t", "ed25519", "--redis",
                     url(r, f":{URL_PASSWORD}@"), "--format", "txt")
        r.record = out.stdout.strip()
        r.keys = d / "keys.txt"
        r.keys.write_text(f"s1._domainkey.{DOMAIN} {r.record}\n")
        r.tmp = d
        yield r
    finally:
        r.cleanup()


def test_REDIS_AUTH_03_keygen_stores_in_the_database_of_the_url(redis):
    """The fixture's keygen (password in the URL, percent-encoded) wrote to
    database 3 only; REDISCLI_AUTH with a user and an empty password in the
    URL too; a wrong password is a clear error naming AUTH, exit 1 as
    keygen's other Redis failures, and the password is never printed."""
    assert redis.record.startswith("v=DKIM1; k=ed25519; p="), redis.record
    assert redis.cli("-n", str(DB), "HGET", KEYS, f"s1.{DOMAIN}").startswith(
        "-----BEGIN PRIVATE KEY-----")
    assert redis.cli("-n", "0", "EXISTS", KEYS) == "0"
    r = signet("keygen", "-d", DOMAIN, "-s", "s2", "-t", "ed25519", "--redis", url(redis),
               env={"REDISCLI_AUTH": PASSWORD})
    assert f"stored the private key in Redis {redis.server()}" in r.stderr, r.stderr
    assert redis.cli("-n", str(DB), "HEXISTS", KEYS, f"s2.{DOMAIN}") == "1"
    r = signet("keygen", "-d", DOMAIN, "-s", "s3", "-t", "ed25519", "--redis",
               url(redis, f"{ACL_USER}:@"), env={"REDISCLI_AUTH": ACL_PASSWORD})
    assert redis.cli("-n", str(DB), "HEXISTS", KEYS, f"s3.{DOMAIN}") == "1"
    bad = signet("keygen", "-d", DOMAIN, "-s", "s4", "--redis", url(redis, ":wrong-9f2a@"),
                 check=False, env={"REDISCLI_AUTH": ""})
    assert bad.returncode == 1, bad
    assert (f"Redis {redis.server()}: AUTH: WRONGPASS invalid username-password pair"
            in bad.stderr), bad.stderr
    assert "wrong-9f2a" not in bad.stdout + bad.stderr
    none = signet("keygen", "-d", DOMAIN, "-s", "s4", "--redis", url(redis), check=False,
                  env={"REDISCLI_AUTH": ""})
    assert none.returncode == 1 and "NOAUTH" in none.stderr, none.stderr
    nodb = signet("keygen", "-d", DOMAIN, "-s", "s4", "--redis",
                  url(redis, f":{URL_PASSWORD}@", db=99), check=False)
    assert nodb.returncode == 1
    assert f"Redis {redis.server()}: SELECT 99: ERR DB index is out of range" in nodb.stderr
    form = signet("keygen", "-d", DOMAIN, "-s", "s4", "--redis",
                  f"redis://:{URL_PASSWORD}@127.0.0.1:{redis.port}/x", check=False)
    assert form.returncode == 64 and "is not redis://ADDRESS:PORT" in form.stderr
    assert PASSWORD not in form.stderr and URL_PASSWORD not in form.stderr, form.stderr
    assert redis.cli("-n", str(DB), "HEXISTS", KEYS, f"s4.{DOMAIN}") == "0"


def test_REDIS_AUTH_03_rotate_and_status_in_database_3(redis):
    """signet rotate --redis URL (password, db 3): the state and the new key
    in database 3 (keygen run by rotate gets the password through the
    environment); rotate --status reads it back; a wrong password fails."""
    u = url(redis, f":{URL_PASSWORD}@")
    r = signet("rotate", "-d", DOMAIN, "-t", "ed25519", "--selector", "r1", "--redis", u,
               "--selector-prefix", "DKIM_SELECTORS")
    assert f"new selector r1 (key in Redis {redis.server()}" in r.stdout, r.stdout
    assert redis.cli("-n", str(DB), "EXISTS", "signet_rotation") == "1"
    assert redis.cli("-n", str(DB), "HEXISTS", KEYS, f"r1.{DOMAIN}") == "1"
    assert redis.cli("-n", "0", "EXISTS", "signet_rotation") == "0"
    st = signet("rotate", "--status", "--redis", u)
    assert f"{DOMAIN} r1: pending" in st.stdout, st.stdout
    bad = signet("rotate", "--status", "--redis", url(redis, ":nope@"), check=False)
    assert bad.returncode != 0 and "AUTH: WRONGPASS" in bad.stderr, bad


def test_REDIS_AUTH_03_dmarc_report_with_a_password(redis):
    """signet dmarc report --redis with a password connects to database 3
    and names the server, never the URL with its password."""
    zone = redis.tmp / "zone.txt"
    zone.write_text("")
    out = redis.tmp / "reports"
    out.mkdir(exist_ok=True)
    day = time.strftime("%Y-%m-%d", time.gmtime())

    def report(u):
        return subprocess.run([str(harness.signet_path()), "dmarc", "report", "--redis", u,
                               "--from", "r@example.org", "--out", str(out), "--zone",
                               str(zone), "--format", "rfc7489", "--psl", "", "--day", day],
                              capture_output=True, text=True, timeout=60)
    r = report(url(redis, f":{URL_PASSWORD}@"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"no DMARC data for {day} in redis://{redis.server()}/3" in r.stdout, r.stdout
    assert URL_PASSWORD not in r.stdout + r.stderr
    r = report(url(redis, ":wrong-9f2a@"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert (f"cannot connect to Redis at redis://{redis.server()}: AUTH: WRONGPASS"
            in r.stderr), r.stderr
    assert "wrong-9f2a" not in r.stdout + r.stderr


# ---- signetd ----------------------------------------------------------------

def start_signetd(redis, redis_text, stack, extra=""):
    sd = harness.Signetd(harness.signetd_path(), ["127.0.0.1@9"], [(DOMAIN, "s1", None)],
                         signing_extra="  use_redis = true;\n",
                         extra=f'redis {{ servers = ["{redis.server()}"]; {redis_text} }}\n' +
                         extra)
    stack.append(sd)
    sd.start()
    sd.conf.chmod(0o600)
    return sd


def send(sd):
    s = socket.create_connection(("127.0.0.1", sd.port), timeout=10)
    try:
        m = Milter(s)
        m.negotiate()
        mods, verdict, data = m.message(HEADERS, BODY, client=("localhost", "127.0.0.1"))
        if verdict == b"y":  # a reply code: the verdict is its class
            verdict = {b"4": b"t", b"5": b"r"}.get(data[:1], verdict)
            mods.append((b"y", data))
        return [x for x in mods if x[0] not in (b"p", b"y")], verdict
    finally:
        s.close()


def signs_and_verifies(redis, sd):
    mods, verdict = send(sd)
    assert verdict in (b"c", b"a"), (verdict, mods, sd.log_text()[-2000:])
    added = [n for c, _, n, _ in header_mods(mods) if c == b"i"]
    assert "DKIM-Signature" in added, (added, sd.log_text()[-2000:])
    v = subprocess.run([str(harness.signet_path()), "verify", "--keys", str(redis.keys),
                        "--json"], input=assemble(mods, HEADERS, BODY), capture_output=True,
                       timeout=30)
    assert b'"result":"pass"' in v.stdout, v.stdout


@pytest.fixture
def signetds():
    """The signetd (and unbound) a test starts, cleaned up afterwards in
    reverse order; no signetd log, up to its exit (LeakSanitizer reports
    then), may hold a sanitizer report."""
    started = []
    yield started
    reports = []
    for sd in reversed(started):
        if isinstance(sd, harness.Signetd):
            sd.stop()
            reports += [(m, sd.log_text()[-3000:]) for m in sd.sanitizer_reports()]
        sd.cleanup()
    assert not reports, reports


def test_REDIS_AUTH_04_signetd_signs_with_the_key_in_database_3(redis, signetds):
    """redis { servers; password; db = 3; } and use_redis: the message is
    signed with the key from database 3 and verifies; --dump-config shows
    password = "(hidden)", never the password; the log never holds it."""
    sd = start_signetd(redis, f'password = "{PASSWORD}"; db = {DB};', signetds)
    signs_and_verifies(redis, sd)
    d = subprocess.run([str(harness.signetd_path()), "--dump-config", "-c", str(sd.conf)],
                       capture_output=True, text=True, timeout=30)
    assert d.returncode == 0, d.stderr
    assert 'password = "(hidden)"; db = 3;' in d.stdout, d.stdout
    assert PASSWORD not in d.stdout + d.stderr
    assert PASSWORD not in sd.log_text()


def test_REDIS_AUTH_04_acl_user(redis, signetds):
    """A Redis 6 ACL user: AUTH USER PASSWORD (rspamd's username)."""
    sd = start_signetd(redis, f'username = "{ACL_USER}"; password = "{ACL_PASSWORD}"; '
                              f'dbname = "{DB}";', signetds)
    signs_and_verifies(redis, sd)
    assert ACL_PASSWORD not in sd.log_text()


def test_REDIS_AUTH_04_wrong_password_tempfails_and_is_logged_once(redis, signetds):
    """A wrong password: the message gets on_error.sign (tempfail), the
    outage (AUTH and Redis's words) is logged once however many messages
    come, before and after the first backoff (one worker: the
    fetcher is per worker loop), and the password is never logged."""
    wrong = "wrong-secret-5e0b"
    sd = start_signetd(redis, f'password = "{wrong}"; db = {DB};', signetds, "workers = 1;\n")
    for k in range(4):
        if k == 2:
            time.sleep(1.3)  # past the first backoff (1 s): a new connection, refused again
        mods, verdict = send(sd)
        assert verdict == b"t", (verdict, mods)
        assert not [n for c, _, n, _ in header_mods(mods) if n == "DKIM-Signature"]
    lines = sd.log_lines_with("AUTH: WRONGPASS invalid username-password pair")
    log = sd.log_text()
    assert len([ln for ln in lines if "signing failed" in ln]) == 4, lines  # one per message
    assert len([ln for ln in log.splitlines() if "signing goes on with" in ln]) == 1, log
    assert f"Redis {redis.server()}: AUTH: WRONGPASS" in lines[0], lines
    assert wrong not in log
    assert not sd.sanitizer_reports(), log


def test_REDIS_AUTH_05_world_readable_config_warned(redis, signetds):
    """signetd -t warns about a password in a file every local user can read,
    naming the file and the fix."""
    sd = harness.Signetd(harness.signetd_path(), ["127.0.0.1@9"], [(DOMAIN, "s1", None)],
                         signing_extra="  use_redis = true;\n",
                         extra=f'redis {{ servers = ["{redis.server()}"]; '
                               f'password = "{PASSWORD}"; }}\n')
    signetds.append(sd)
    sd.port = harness.free_port()
    sd.conf.write_text(sd.config())
    sd.conf.chmod(0o644)
    r = subprocess.run([str(harness.signetd_path()), "-t", "-c", str(sd.conf)],
                       capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    assert (f"redis.password is set in {sd.conf}, which every local user can read: "
            f"chmod 640 {sd.conf}") in out, out
    assert PASSWORD not in out
    sd.conf.chmod(0o640)
    r = subprocess.run([str(harness.signetd_path()), "-t", "-c", str(sd.conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "every local user can read" not in r.stdout + r.stderr


def test_REDIS_AUTH_03_dmarc_writer_records_in_database_3(redis, signetds, tmp_path):
    """signetd's DMARC report writer (its own thread, synchronous hiredis)
    sends AUTH and SELECT too: an observation lands in database 3, none in
    database 0, and signet dmarc report -c reads it back with the config's
    credentials."""
    if harness.missing_tools(harness.UNBOUND):
        pytest.skip("unbound missing (Debian unbound; scripts/deps.sh)")
    zone = {"pass.example.org": {
        "pass.example.org": ["v=spf1 ip4:127.0.0.3 -all"],
        "_dmarc.pass.example.org": ["v=DMARC1; p=reject; rua=mailto:agg@pass.example.org"]}}
    unbound = harness.Unbound(zone)
    signetds.append(unbound)
    unbound.start()
    extra = (f'redis {{ servers = ["{redis.server()}"]; password = "{PASSWORD}"; '
             f'db = {DB}; }}\n'
             'dmarc { reports { enabled = true; from = "r@mx.signet.test"; '
             'org_name = "Signet"; } }\n')
    sd = harness.Signetd(harness.signetd_path(), [unbound.forwarder()], [], dmarc=True,
                         extra=extra)
    signetds.append(sd)
    sd.start()
    sd.conf.chmod(0o600)
    headers = [("From", "a@pass.example.org"), ("To", "b@example.net"),
               ("Subject", "dmarc"), ("Date", "Tue, 24 Nov 2026 10:00:00 +0000")]
    s = socket.create_connection(("127.0.0.1", sd.port), timeout=10)
    try:
        m = Milter(s)
        m.negotiate()
        m.message(headers, BODY, sender="<a@pass.example.org>",
                  client=("mx.outside.example", "127.0.0.3"))
    finally:
        s.close()
    deadline = time.monotonic() + 10
    keys = ""
    while time.monotonic() < deadline and not keys:
        keys = redis.cli("-n", str(DB), "KEYS", "signet:dmarc:*")
        time.sleep(0.1)
    assert "signet:dmarc:" in keys, sd.log_text()[-2000:]
    assert redis.cli("-n", "0", "KEYS", "signet:dmarc:*") == ""
    assert PASSWORD not in sd.log_text()
    out = tmp_path / "reports"
    out.mkdir()
    (tmp_path / "zone.txt").write_text("")
    r = subprocess.run([str(harness.signet_path()), "dmarc", "report", "-c", str(sd.conf),
                        "--out", str(out), "--zone", str(tmp_path / "zone.txt"),
                        "--format", "rfc7489", "--psl", "",
                        "--day", time.strftime("%Y-%m-%d", time.gmtime())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(out.glob("*.xml.gz")), r.stdout + r.stderr
