# test_metrics.py: signetd's Prometheus endpoint (metrics { listen }) scraped
# with curl while mail flows through a real Postfix (3.7, private instance)
# with a real unbound serving the key records: the counters move by exactly
# what the mail did (one signed, one verified), the histograms count, the key
# health gauges of the configured selectors are there, anything but GET
# /metrics is 404, a taken port stops the start with a clear message,
# without the section nothing listens, and the listener's bounds hold under
# a slow-header attack (issue #19: metrics.max_connections,
# metrics.request_timeout). Infrastructure: harness.py.
# Environment: SIGNET_BIN (signet CLI), SIGNETD_BIN (else next to SIGNET_BIN).
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import make_message, parse_ar, unique_id  # noqa: E402

AUTHSERV = "mx.signet.test"
LOCAL = "127.0.0.1"
OUTSIDE = "127.0.0.3"
SELECTORS = ("rsa", "ed")
KEY_STATES = ("ok", "missing", "mismatch", "revoked", "testing", "weak", "multiple",
              "lookup_failed")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def require_tools():
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.POSTQUEUE,
                                    harness.SENDMAIL, harness.UNBOUND)
    if shutil.which("curl") is None:
        missing.append("curl")
    if missing:
        pytest.skip(f"tools missing: {', '.join(missing)} (install them with scripts/deps.sh)")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")


def binaries():
    signetd = harness.signetd_path()
    if not harness.executable(signetd):
        pytest.skip(f"signetd not built at {signetd} (build it, or set SIGNETD_BIN)")
    signet = harness.signet_path()
    if not harness.executable(signet):
        pytest.skip(f"signet CLI not built at {signet} (needed for keygen; set SIGNET_BIN)")
    return signet, signetd


def ed25519_key(tmp_path):
    """signetd's path, and an ed25519 key for example.com (selector s) made
    by signet keygen in tmp_path (made world-traversable for signetd's user)."""
    signet, signetd = binaries()
    tmp_path.chmod(0o755)
    key = tmp_path / "k.key"
    r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", "s", "-t", "ed25519",
                        "-k", str(key)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return signetd, key


def curl(url, *args):
    """(HTTP status, headers text, body text) of one curl request."""
    r = subprocess.run(["curl", "-s", "-g", "-D", "-", "-o", "/dev/stderr", "-w",
                        "\n%{http_code}", *args, url], capture_output=True, timeout=20)
    assert r.returncode == 0, f"curl {url} failed ({r.returncode}): {r.stderr!r}"
    head, _, code = r.stdout.decode().rpartition("\n")
    return int(code), head, r.stderr.decode()


def parse(text):
    """{(name, ((label, value), ...)): float} of the exposition text; checks
    every sample's family has # HELP and # TYPE lines before it."""
    out, typed, helped = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            typed[name] = kind
            continue
        assert line and not line.startswith("#"), f"unexpected line {line!r}"
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
        assert family in typed and family in helped, f"{name}: no # HELP/# TYPE before it"
        key = (name, tuple(sorted(LABEL.findall(labels or ""))))
        assert key not in out, f"duplicate sample {key}"
        out[key] = float(value)
    return out


def value(samples, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"no sample {key}"
    return samples[key]


class World:
    def __init__(self, tmp, signet, signetd_bin):
        self.tmp, self.signet, self.signetd_bin = tmp, signet, signetd_bin
        self.keys, self.records = {}, {}
        self.unbound = self.signetd = self.postfix = None
        self.metrics_port = None

    def keygen(self, selector, type_):
        key = self.tmp / f"example.com.{selector}.key"
        r = subprocess.run([str(self.signet), "keygen", "-d", "example.com", "-s", selector,
                            "-t", type_, "-k", str(key), "--format", "txt"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, (r.returncode, r.stderr)
        self.keys[selector] = key
        self.records[f"{selector}._domainkey.example.com"] = r.stdout.decode().strip()

    def url(self, path="/metrics"):
        return f"http://127.0.0.1:{self.metrics_port}{path}"

    def scrape(self):
        code, head, body = curl(self.url())
        assert code == 200, (code, head, body)
        return parse(body)

    def diagnostics(self):
        return (f"{self.postfix.diagnostics()}\n--- signetd log (last lines):\n"
                + "\n".join(self.signetd.log_text().splitlines()[-40:]))

    def deliver(self, msg, source):
        mid = re.search(rb"^Message-ID: <([^>]+)>", msg, re.M | re.I).group(1).decode()
        try:
            self.postfix.submit(msg, source=source)
        except Exception as e:
            raise AssertionError(f"SMTP submission failed: {e!r}\n{self.diagnostics()}")
        return harness.Delivered(self.postfix.wait_delivery(mid))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    require_tools()
    signet, signetd = binaries()
    tmp = tmp_path_factory.mktemp("signetd-metrics")
    tmp.chmod(0o755)
    w = World(tmp, signet, signetd)
    w.keygen("rsa", "rsa")
    w.keygen("ed", "ed25519")
    w.unbound = harness.Unbound({"example.com": {n: [v] for n, v in w.records.items()}})
    try:
        w.unbound.start()
        w.metrics_port = harness.free_port()
        w.signetd = harness.Signetd(
            signetd, [w.unbound.forwarder()],
            [("example.com", s, w.keys[s]) for s in SELECTORS],
            local_addrs=["127.0.0.1/32"], authserv_id=AUTHSERV,
            extra=f'metrics {{ listen = "127.0.0.1:{w.metrics_port}"; }}\n')
        w.signetd.start()
        harness.wait_tcp("127.0.0.1", w.metrics_port, 10, proc=w.signetd.proc,
                         what="signetd metrics")
        w.postfix = harness.Postfix(milter=w.signetd.milter())
        w.postfix.start()
        yield w
    finally:
        if w.postfix:
            w.postfix.cleanup()
        reports, log = [], ""
        if w.signetd:
            w.signetd.stop()  # LeakSanitizer reports at exit
            reports, log = w.signetd.sanitizer_reports(), w.signetd.log_text()
            w.signetd.cleanup()
        w.unbound.cleanup()
        assert not reports, log[-4000:]


@pytest.fixture
def w(world):
    assert world.signetd.alive(), f"signetd died:\n{world.signetd.log_text()[-4000:]}"
    yield world
    assert world.signetd.alive(), f"signetd died during the test:\n{world.diagnostics()}"
    assert not world.signetd.sanitizer_reports(), world.signetd.log_text()[-4000:]


def sign_outside(w, msg):
    r = subprocess.run([str(w.signet), "sign", "-d", "example.com", "-s", "rsa", "-k",
                        str(w.keys["rsa"])], input=msg, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_metrics_counters_move_exactly_with_real_mail(w):
    """One local message (signed rsa + ed25519) and one outside message
    signed by `signet sign` (verified, dkim=pass) move the counters by
    exactly that; the histograms count them; DNS lookups are counted."""
    before = w.scrape()
    local = make_message(unique_id("metrics-local"), body=b"signed by signetd\n")
    d = w.deliver(local, LOCAL)
    assert [n for n, _ in d.added].count("dkim-signature") == 2, d.added
    outside = sign_outside(w, make_message(unique_id("metrics-outside"),
                                           body=b"verified by signetd\n"))
    d = w.deliver(outside, OUTSIDE)
    ars = [f for n, f in d.added if n == "authentication-results"]
    assert len(ars) == 1, d.added
    _, res = parse_ar(harness.unfold(ars[0]).split(b":", 1)[1])
    assert [r["result"] for r in res if r["method"] == "dkim"] == ["pass"], res
    after = w.scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("signetd_messages_total", action="signed") == 1
    assert delta("signetd_messages_total", action="verified") == 1
    assert delta("signetd_messages_total", action="passed") == 0
    assert delta("signetd_messages_total", action="deferred") == 0
    assert delta("signetd_signatures_signed_total", alg="rsa-sha256") == 1
    assert delta("signetd_signatures_signed_total", alg="ed25519-sha256") == 1
    assert delta("signetd_verify_results_total", result="pass") == 1
    for r in ("fail", "neutral", "policy", "permerror", "temperror", "none"):
        assert delta("signetd_verify_results_total", result=r) == 0, r
    assert delta("signetd_not_signed_total", reason="not_local_not_authenticated") == 1
    for r in ("no_key", "from_missing", "from_repeated", "mismatch", "other"):
        assert delta("signetd_not_signed_total", reason=r) == 0, r
    # the key (ok), and the SPF records of the MAIL FROM domain and the HELO
    # name (issue #13; neither publishes one: NODATA and NXDOMAIN)
    assert delta("signetd_dns_lookups_total", status="ok") == 1
    assert delta("signetd_dns_lookups_total", status="nxdomain") == 2
    assert delta("signetd_dns_lookups_total", status="tempfail") == 0
    assert delta("signetd_dns_lookup_seconds_count") == 3
    assert delta("signetd_dns_secure_total") == 0  # no trust anchor configured
    assert 0 <= delta("signetd_dns_fast_answers_total") <= 3
    for h in ("signetd_sign_seconds", "signetd_verify_seconds", "signetd_dns_lookup_seconds"):
        assert value(after, h + "_count") >= 1, h
        assert value(after, h + "_bucket", le="+Inf") == value(after, h + "_count"), h
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in after.items()
                          if k[0] == h + "_bucket"), key=lambda t: t[0])
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), f"{h}: buckets not cumulative: {buckets}"
        assert value(after, h + "_sum") >= 0
    assert delta("signetd_sign_seconds_count") == 1
    assert delta("signetd_verify_seconds_count") == 1
    assert any(k[0] == "signetd_build_info" and v == 1 for k, v in after.items())


def test_metrics_key_health_gauges_for_configured_selectors(w):
    """The DNS check at start publishes one gauge per state for each
    configured selector; both records are published and match: ok = 1,
    every other state 0."""
    deadline = time.monotonic() + 15
    while True:
        s = w.scrape()
        found = [k for k in s if k[0] == "signetd_key_health"]
        if len(found) == len(SELECTORS) * len(KEY_STATES) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for sel in SELECTORS:
        for st in KEY_STATES:
            want = 1 if st == "ok" else 0
            got = value(s, "signetd_key_health", domain="example.com", selector=sel, state=st)
            assert got == want, (sel, st, got, w.signetd.log_text()[-2000:])
    assert len(found) == len(SELECTORS) * len(KEY_STATES), found


def test_metrics_http_surface(w):
    """GET /metrics is text/plain; version=0.0.4; other paths and methods are 404."""
    code, head, body = curl(w.url())
    assert code == 200
    assert re.search(r"(?im)^content-type: text/plain; version=0\.0\.4", head), head
    assert "# TYPE signetd_messages_total counter" in body
    for path in ("/other", "/", "/metrics/x", "/metricsx"):
        code, _, _ = curl(w.url(path))
        assert code == 404, path
    code, _, _ = curl(w.url(), "-X", "POST", "--data", "x=1")
    assert code == 404


def listening_inodes(pid):
    """Socket inodes pid holds that are TCP listeners (/proc/net/tcp{,6})."""
    mine = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", t)
        if m:
            mine.add(m.group(1))
    listening = []
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            p = ln.split()
            if p[3] == "0A" and p[9] in mine:  # TCP_LISTEN
                listening.append((f, p[1]))
    return listening


def test_metrics_off_by_default_no_listener(tmp_path):
    """Without a metrics section signetd listens on its milter socket only,
    and --dump-config says metrics.listen is empty."""
    signetd, key = ed25519_key(tmp_path)
    sd = harness.Signetd(signetd, ["127.0.0.1@53"], [("example.com", "s", key)])
    try:
        sd.start()
        listeners = listening_inodes(sd.proc.pid)
        assert len(listeners) == 1, listeners
        assert listeners[0][1].endswith(f":{sd.port:04X}"), (listeners, sd.port)
        d = subprocess.run([str(signetd), "--dump-config", "-c", str(sd.conf)],
                           capture_output=True, timeout=30)
        assert d.returncode == 0, d.stderr
        assert b'metrics { listen = ""; }' in d.stdout, d.stdout
        assert sd.stop() == 0, sd.log_text()
        assert not sd.sanitizer_reports(), sd.log_text()
    finally:
        sd.cleanup()


def test_metrics_port_in_use_stops_start_with_message(tmp_path):
    """A metrics port another process holds: signetd exits 1 at start and
    says which address and why."""
    signetd, key = ed25519_key(tmp_path)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    sd = harness.Signetd(signetd, ["127.0.0.1@53"], [("example.com", "s", key)],
                         extra=f'metrics {{ listen = "127.0.0.1:{port}"; }}\n')
    try:
        sd.port = harness.free_port()
        sd.conf.write_text(sd.config())
        p = subprocess.run([str(signetd), "-f", "-c", str(sd.conf)], capture_output=True,
                           timeout=30)
        out = (p.stdout + p.stderr).decode(errors="replace")
        assert p.returncode == 1, (p.returncode, out)
        assert f"cannot listen for metrics on 127.0.0.1:{port}" in out, out
        assert "port in use" in out, out
        assert not any(m in out for m in harness.SANITIZER_MARKS), out
    finally:
        busy.close()
        sd.cleanup()


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def test_metrics_ipv6_listen(tmp_path):
    """metrics.listen = "[::1]:PORT" serves over IPv6."""
    if not ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    require_tools()
    signetd, key = ed25519_key(tmp_path)
    s = socket.socket(socket.AF_INET6)
    s.bind(("::1", 0))
    port = s.getsockname()[1]
    s.close()
    sd = harness.Signetd(signetd, ["127.0.0.1@53"], [("example.com", "s", key)],
                         extra=f'metrics {{ listen = "[::1]:{port}"; }}\n')
    try:
        sd.start()
        code, _, body = curl(f"http://[::1]:{port}/metrics")
        assert code == 200, body
        assert "signetd_messages_total{action=\"signed\"} 0" in body, body
        assert sd.stop() == 0, sd.log_text()
        assert not sd.sanitizer_reports(), sd.log_text()
    finally:
        sd.cleanup()


# ---- the listener under a slow-header attack (issue #19) --------------------

SLOW_REQUEST = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096


class Tricklers:
    """n connections to port, each sending one more byte of a request whose
    headers never end every `every` seconds (so no connection is ever idle
    long), from one thread. closed_after[k]: seconds from connect until the
    server closed connection k (None while open)."""

    def __init__(self, port, n, every):
        self.port, self.every = port, every
        self.socks, self.opened = [], []
        self.closed_after = [None] * n
        self.stop = threading.Event()
        for k in range(n):
            self.opened.append(time.monotonic())
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            except OSError:  # backlog full: counts as closed at once
                s = socket.socket()
                self.closed_after[k] = 0.0
            s.setblocking(False)
            self.socks.append(s)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _closed(self, k):
        if self.closed_after[k] is None:
            self.closed_after[k] = time.monotonic() - self.opened[k]

    def _run(self):
        sent = 0
        next_send = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_send:
                for k, s in enumerate(self.socks):
                    if self.closed_after[k] is None:
                        try:
                            s.send(SLOW_REQUEST[sent:sent + 1])
                        except OSError:
                            self._closed(k)
                sent += 1
                next_send = now + self.every
            live = [s for k, s in enumerate(self.socks) if self.closed_after[k] is None]
            if not live:
                return
            readable, _, _ = select.select(live, [], [], 0.05)
            for s in readable:
                k = self.socks.index(s)
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    self._closed(k)

    def open_count(self):
        return sum(1 for c in self.closed_after if c is None)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        for s in self.socks:
            s.close()


def metrics_signetd(tmp_path, metrics_extra=""):
    """A signetd of its own (no Postfix, no DNS needed) with metrics on a
    free loopback port; returns (Signetd, port), started."""
    signetd, key = ed25519_key(tmp_path)
    port = harness.free_port()
    sd = harness.Signetd(signetd, ["127.0.0.1@53"], [("example.com", "s", key)],
                         extra=f'metrics {{ listen = "127.0.0.1:{port}"; {metrics_extra} }}\n')
    sd.start()
    harness.wait_tcp("127.0.0.1", port, 10, proc=sd.proc, what="signetd metrics")
    return sd, port


def timed_scrape(port, max_time):
    """(HTTP status or None, seconds) of one GET /metrics given max_time seconds."""
    t0 = time.monotonic()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                        str(max_time), f"http://127.0.0.1:{port}/metrics"],
                       capture_output=True, timeout=max_time + 10)
    took = time.monotonic() - t0
    code = r.stdout.decode().strip()
    return (int(code) if r.returncode == 0 and code.isdigit() else None), took


def test_metrics_scrape_during_slow_header_attack(tmp_path):
    """Issue #19: 40 connections trickling one header byte every 2 s (each
    byte restarts an idle timeout) held every one of libmicrohttpd's 16
    connections, and each scrape failed for the whole attack. With the
    defaults (metrics.max_connections 64, metrics.request_timeout 10s) a
    scrape during the attack answers 200 within 3 seconds."""
    require_tools()
    sd, port = metrics_signetd(tmp_path)
    attack = None
    try:
        attack = Tricklers(port, 40, 2.0)
        time.sleep(1.0)  # every attacker connected and sent its first byte
        code, took = timed_scrape(port, 3)
        assert code == 200 and took < 3, (code, took, sd.log_text()[-2000:])
        assert attack.open_count() == 40, attack.closed_after  # not cut yet: 10 s
        assert sd.alive(), sd.log_text()[-4000:]
    finally:
        if attack:
            attack.close()
        sd.stop()
        reports, log = sd.sanitizer_reports(), sd.log_text()
        sd.cleanup()
    assert not reports, log[-4000:]


def test_metrics_request_timeout_bounds_a_trickling_connection(tmp_path):
    """The total time bound: with metrics.max_connections = 8 and
    metrics.request_timeout = 2s, 8 connections trickling a byte every
    0.5 s (never idle) are each closed by signetd 2 s after they opened
    (not the idle timeout, which they keep resetting), and a scrape queued
    behind them while every connection is taken answers 200 once they go."""
    require_tools()
    sd, port = metrics_signetd(tmp_path, "max_connections = 8; request_timeout = 2s;")
    attack = None
    try:
        attack = Tricklers(port, 8, 0.5)
        time.sleep(0.3)
        code, took = timed_scrape(port, 6)
        assert code == 200, (code, took, sd.log_text()[-2000:])
        assert 1.0 < took < 4.0, took  # waited for a free connection, not for ever
        deadline = time.monotonic() + 5
        while attack.open_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert attack.open_count() == 0, attack.closed_after
        for after in attack.closed_after:
            assert 1.8 <= after <= 3.5, attack.closed_after
    finally:
        if attack:
            attack.close()
        sd.stop()
        reports, log = sd.sanitizer_reports(), sd.log_text()
        sd.cleanup()
    assert not reports, log[-4000:]


@pytest.mark.parametrize("extra,good", [
    ("max_connections = 0;", False),
    ("max_connections = 1;", True),
    ("max_connections = 1024;", True),
    ("max_connections = 1025;", False),
    ("request_timeout = 0;", False),
    ("request_timeout = 300s;", True),
    ("request_timeout = 301s;", False),
])
def test_metrics_listener_limits_checked(tmp_path, extra, good):
    """metrics.max_connections (1..1024) and metrics.request_timeout (more
    than 0, at most 300 s) at and past their bounds: signetd -t says which."""
    signetd, key = ed25519_key(tmp_path)
    sd = harness.Signetd(signetd, ["127.0.0.1@53"], [("example.com", "s", key)],
                         extra=f'metrics {{ listen = "127.0.0.1:9187"; {extra} }}\n')
    try:
        rc, out = sd.check_config()
        if good:
            assert rc == 0, out
        else:
            assert rc != 0, out
            assert "metrics." + extra.split()[0] in out, out
    finally:
        sd.cleanup()
