# test_dns_starvation.py: issue #19. Messages whose key lookups the DNS
# forwarder answers only after a long delay must not stop the verification of
# other mail. A real signetd is spoken to over the milter protocol (the client
# of test_milter_wire.py) and its dns.forwarders point straight at a small
# forwarder written here: it answers good names at once and names under
# slow.example.net SLOW_S seconds after it was first asked for them (or
# never), answering re-sends together as a recursive resolver does, and it
# logs every query it receives. signetd's libunbound is pointed at a
# forwarder (this is how signetd is meant to run: dns.forwarders = the site's
# recursive resolver), so a forwarder that is slow for some names is exactly
# what it meets when an attacker's name servers are slow. An unbound in
# between would time the attacker's names out itself and hide what signetd's
# resolver does.
#
# 01: ATTACKERS messages at once, each with 16 DKIM-Signatures whose key
# names are slow (160 lookups, every one times out after dns.timeout). Good
# messages, each signed under a selector of its own (so no answer cache can
# help), must come back dkim=pass within about one normal round trip, while
# the attack runs and after it. 02: lookups that timed out stop being sent
# (DNS_MAX_ABANDONED). 03: DNS_MAX_INFLIGHT at the limit and over it. 04: a
# late answer is cached for the retry. 06: DNS_MAX_ABANDONED at 63 and 64.
# (05 is the answer-cache rule in tests/unit/test_dnscache.c.)
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_milter_wire import Milter, header_mods  # noqa: E402

AUTHSERV = "mx.starve.test"
OUTSIDE = ("mx.outside.example", "192.0.2.9")
SLOW_ZONE = "slow.example.net"
GOOD_DOMAIN = "good.example.org"
SLOW_S = 10.0          # the forwarder's delay for names under slow.example.net
DNS_TIMEOUT_S = 5      # signetd's dns.timeout
ATTACKERS = 10         # messages at once
SIGS = 16              # DKIM-Signatures each (SIGNET_MAX_SIGNATURES)
# A good message's verdict may take this much longer than before the attack:
# one round trip to a forwarder on loopback plus the verification is a few
# milliseconds; this leaves room for a loaded machine and sanitizer builds.
GOOD_SLACK_S = 1.0


# ------------------------------------------------- the delaying forwarder ----

def parse_query(msg):
    """(id, flags, qname, qtype, end of question) of a DNS query, or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack(">HHH", msg[:6])
    if qd != 1:
        return None
    labels, off = [], 12
    while off < len(msg) and msg[off] != 0:
        n = msg[off]
        if n & 0xC0:
            return None
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    off += 1
    if off + 4 > len(msg):
        return None
    qtype = struct.unpack(">H", msg[off:off + 2])[0]
    return qid, flags, ".".join(labels).lower(), qtype, off + 4


class DelayingForwarder:
    """A recursive resolver as signetd sees one, on 127.0.0.1:port (UDP and
    TCP): TXT for NAME._domainkey.good.example.org answers `record` at once
    (slow_s seconds after it was first asked when NAME starts with "late"),
    names under slow.example.net get NXDOMAIN slow_s seconds after they
    were first asked (None: never), anything else NXDOMAIN at once.
    per_query: every query for a slow name, re-sends too, is answered
    slow_s seconds after it came. queries: [(monotonic time, "udp"|"tcp",
    qname)] as received."""

    def __init__(self, record, slow_s=SLOW_S, per_query=False):
        self.record = harness.txt_strings(record)
        self.slow_s = slow_s
        self.per_query = per_query
        self.first_seen = {}  # slow name -> when its answer is due
        self.queries = []
        self.lock = threading.Lock()
        self.stopping = False
        self.timers = []
        self.port = harness.free_port(socket.SOCK_DGRAM)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        for fn in (self._udp_loop, self._tcp_loop):
            threading.Thread(target=fn, daemon=True).start()

    def forwarder(self):
        return f"127.0.0.1@{self.port}"

    def answer(self, msg):
        """(reply bytes, delay in seconds) for a query, or None to drop it."""
        q = parse_query(msg)
        if q is None:
            return None
        qid, flags, name, qtype, qend = q
        rd = flags & 0x0100
        question = msg[12:qend]
        good = name.endswith("._domainkey." + GOOD_DOMAIN) and qtype == 16
        rcode = 0 if good else 3
        answers = b""
        if good:
            rdata = b"".join(bytes([len(s)]) + s for s in self.record)
            answers = struct.pack(">HHHIH", 0xC00C, 16, 1, 60, len(rdata)) + rdata
        head = struct.pack(">HHHHHH", qid, 0x8080 | rd | rcode, 1, 1 if good else 0, 0, 0)
        slow = name == SLOW_ZONE or name.endswith("." + SLOW_ZONE) or \
            (good and name.startswith("late"))
        if not slow or self.slow_s is None:
            return head + question + answers, (None if slow else 0.0), name
        # Like a recursive resolver: the name is resolved once, and every
        # query for it (libunbound's re-sends too) is answered when done;
        # per_query (the forwarder of the issue): each query waits slow_s.
        with self.lock:
            due = time.monotonic() + self.slow_s
            if not self.per_query:
                due = self.first_seen.setdefault(name, due)
        return head + question + answers, max(0.0, due - time.monotonic()), name

    def _later(self, delay, fn):
        if delay is None:
            return
        if delay <= 0:
            fn()
            return
        t = threading.Timer(delay, fn)
        t.daemon = True
        with self.lock:
            self.timers.append(t)
        t.start()

    def _log(self, proto, name):
        with self.lock:
            self.queries.append((time.monotonic(), proto, name))

    def _udp_loop(self):
        while not self.stopping:
            try:
                msg, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            a = self.answer(msg)
            if a is None:
                continue
            reply, delay, name = a
            self._log("udp", name)
            self._later(delay, lambda r=reply, p=peer: self._send_udp(r, p))

    def _send_udp(self, reply, peer):
        try:
            self.udp.sendto(reply, peer)
        except OSError:
            pass

    def _tcp_loop(self):
        while not self.stopping:
            try:
                s, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(s,), daemon=True).start()

    def _tcp_conn(self, s):
        wlock = threading.Lock()

        def send(reply):
            with wlock:
                try:
                    s.sendall(struct.pack(">H", len(reply)) + reply)
                except OSError:
                    pass
        buf = b""
        while not self.stopping:
            try:
                chunk = s.recv(65535)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                n = struct.unpack(">H", buf[:2])[0]
                msg, buf = buf[2:2 + n], buf[2 + n:]
                a = self.answer(msg)
                if a is not None:
                    self._log("tcp", a[2])
                    self._later(a[1], lambda r=a[0]: send(r))

    def asked(self, pred, since=0.0):
        with self.lock:
            return [q for q in self.queries if q[0] >= since and pred(q[2])]

    def stop(self):
        self.stopping = True
        with self.lock:
            for t in self.timers:
                t.cancel()
        for s in (self.udp, self.tcp):
            try:
                s.close()
            except OSError:
                pass


# ----------------------------------------------------------- messages ----

def milter_headers(signed):
    """[(name, value)] of a message's header block as Postfix passes them
    to a milter: folded lines joined with LF, no leading space."""
    head = signed.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode()
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1][1] += "\n" + line
        else:
            name, value = line.split(":", 1)
            out.append([name, value.lstrip(" ")])
    return [tuple(x) for x in out]


BODY = b"Hello,\r\n\r\nthis is a test.\r\n"


def attacker_headers(n, sigs=SIGS):
    """sigs syntactically valid DKIM-Signatures whose keys are under
    slow.example.net (a selector per message and signature: no lookup is
    shared)."""
    sig = ("v=1; a=rsa-sha256; c=relaxed/relaxed; d=slow.example.net; s=m{m}k{k}; h=from; "
           "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA")
    return ([("DKIM-Signature", sig.format(m=n, k=k)) for k in range(sigs)] +
            [("From", "x@slow.example.net"), ("To", "sue@example.net"), ("Subject", "slow")])


def dkim_results(mods):
    mods = [x for x in mods if x[0] != b"p"]  # progress replies while it waits
    ins = [v for c, _, n, v in header_mods(mods) if c == b"i" and n == "Authentication-Results"]
    assert len(ins) == 1, header_mods(mods)
    _, res = harness.parse_ar(harness.unfold(ins[0].encode()))
    return [r["result"] for r in res if r["method"] == "dkim"], ins[0]


class World:
    """signetd (-d: debug lines carry each failed lookup's reason) with its
    dns.forwarders = a DelayingForwarder, on a unix socket."""

    def __init__(self, d, slow_s=SLOW_S, workers=None, per_query=False):
        signet, signetd = harness.signet_path(), harness.signetd_path()
        self.signet, self.dir = signet, d
        self.key = d / "ed.key"
        if not self.key.exists():
            r = subprocess.run([str(signet), "keygen", "-d", GOOD_DOMAIN, "-s", "g", "-t",
                                "ed25519", "-k", str(self.key), "--format", "txt"],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            (d / "record.txt").write_text(r.stdout.strip())
        self.fwd = DelayingForwarder((d / "record.txt").read_text(), slow_s, per_query)
        self.log = d / f"signetd-{self.fwd.port}.log"
        self.sock = d / f"signetd-{self.fwd.port}.sock"
        conf = d / f"signetd-{self.fwd.port}.conf"
        conf.write_text(
            f'socket = "unix:{self.sock}";\nauthserv_id = "{AUTHSERV}";\n'
            'local_addrs = ["127.0.0.1/32"];\nlog { target = "stderr"; }\n' +
            (f"workers = {workers};\n" if workers else "") +
            f'dns {{ forwarders = ["{self.fwd.forwarder()}"]; timeout = {DNS_TIMEOUT_S}s; '
            "health_interval = 0; }\n"
            # the bounds counted here are the DKIM key lookups' alone: DMARC's
            # _dmarc lookups of each message would take resolver slots too
            "dmarc { enabled = false; }\n")
        self.proc = subprocess.Popen([str(signetd), "-f", "-d", "-c", str(conf)],
                                     stdin=subprocess.DEVNULL, stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"signetd did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(self.sock))
        m = Milter(s)
        m.s.settimeout(3 * SLOW_S)
        m.negotiate()
        return m

    def log_text(self):
        return self.log.read_text(errors="replace")

    def log_lines_count(self, needle, timeout):
        """Lines with needle, waiting up to timeout for the first."""
        deadline = time.monotonic() + timeout
        while needle not in self.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.log_text().count(needle)

    def stop(self):
        """Stops signetd and the forwarder; the log must be free of
        sanitizer reports."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.fwd.stop()
        text = self.log_text()
        for mark in harness.SANITIZER_MARKS:
            assert mark not in text, text[-4000:]


@pytest.fixture(scope="module")
def tmpdir_starve(tmp_path_factory):
    signet, signetd = harness.signet_path(), harness.signetd_path()
    if harness.missing_tools(signet, signetd):
        pytest.skip(f"signet or signetd not built: {harness.missing_tools(signet, signetd)}")
    return tmp_path_factory.mktemp("starve")


@pytest.fixture(params=["per_query", "resolver"])
def world(request, tmpdir_starve):
    """per_query: the forwarder of the issue, which answered every query for
    a slow name (libunbound's re-sends too) 10 s after it came; resolver:
    one that resolves a slow name once and answers all its queries then."""
    w = World(tmpdir_starve, per_query=request.param == "per_query")
    yield w
    w.stop()


class Good:
    """Good messages, each signed under a fresh selector (g0, g1, ...)."""

    def __init__(self, w):
        self.w = w
        self.n = 0

    def send(self, sel=None):
        """(dkim results, seconds from EOM to the verdict, AR text, selector)."""
        if sel is None:
            sel = f"g{self.n}"
            self.n += 1
        msg = harness.make_message(harness.unique_id(sel), from_addr=f"a@{GOOD_DOMAIN}")
        r = subprocess.run([str(self.w.signet), "sign", "-d", GOOD_DOMAIN, "-s", sel, "-k",
                            str(self.w.key)], input=msg, capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        m = self.w.connect()
        try:
            t0 = time.monotonic()
            mods, verdict, _ = m.message(milter_headers(r.stdout), BODY, client=OUTSIDE)
            took = time.monotonic() - t0
        finally:
            m.s.close()
        assert verdict == b"c", verdict
        results, ar = dkim_results(mods)
        return results, took, ar, sel


def attack(w, n, out, sigs=SIGS):
    m = w.connect()
    try:
        mods, verdict, _ = m.message(attacker_headers(n, sigs), BODY, client=OUTSIDE)
        out[n] = (verdict, dkim_results(mods)[0], time.monotonic())
    except Exception as e:  # noqa: BLE001 - reported by the test
        out[n] = e
    finally:
        m.s.close()


def test_DNS_STARVE_01_slow_key_names_do_not_starve_good_lookups(world):
    """Issue #19: ATTACKERS messages with SIGS signatures each, whose key
    names the forwarder answers only after SLOW_S s (past dns.timeout), then
    good messages whose keys answer at once: each good one is dkim=pass,
    within GOOD_SLACK_S of the time it took before the attack, while the
    attacker lookups wait, when they time out (dkim=temperror) and after the
    late answers come in; and the forwarder was asked every good name."""
    good = Good(world)
    fwd = world.fwd
    results, base, ar, _ = good.send()
    assert results == ["pass"], ar
    limit = base + GOOD_SLACK_S
    out = {}
    t_attack = time.monotonic()
    threads = [threading.Thread(target=attack, args=(world, n, out)) for n in range(ATTACKERS)]
    for t in threads:
        t.start()
    # Until every attacker lookup is asked (the attack is on), then good
    # messages during it, after the timeouts and after the late answers.
    deadline = t_attack + DNS_TIMEOUT_S - 1
    while len(fwd.asked(lambda q: q.endswith(SLOW_ZONE), t_attack)) < ATTACKERS * SIGS and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    checks = []
    for at in (0.5, 2.0, 3.5, DNS_TIMEOUT_S + 1.0, DNS_TIMEOUT_S + 3.0, SLOW_S + 1.0,
               SLOW_S + 4.0, SLOW_S + 8.0):
        time.sleep(max(0.0, t_attack + at - time.monotonic()))
        results, took, ar, sel = good.send()
        checks.append((round(time.monotonic() - t_attack, 1), results, round(took, 3), sel, ar))
    for t in threads:
        t.join(3 * SLOW_S)
    asked = {q[2] for q in fwd.asked(lambda q: q.endswith("._domainkey." + GOOD_DOMAIN))}
    slow = fwd.asked(lambda q: q.endswith(SLOW_ZONE), t_attack)
    summary = (f"before the attack {base:.3f}s; forwarder got {len(slow)} slow queries "
               f"({len({q[2] for q in slow})} names); checks (t, dkim, seconds, selector):\n" +
               "\n".join(f"  {c[:4]}" for c in checks))
    bad = [c for c in checks if c[1] != ["pass"] or c[2] > limit]
    assert not bad, summary
    assert all(f"g{k}._domainkey.{GOOD_DOMAIN}" in asked for k in range(good.n)), summary
    # The attacker messages themselves: a verdict each, every signature a
    # temperror (their keys came too late), not an error of the connection.
    assert sorted(out) == list(range(ATTACKERS)), out
    for n, r in out.items():
        assert not isinstance(r, Exception), (n, r)
        verdict, res, _ = r
        assert verdict == b"c" and res == ["temperror"] * SIGS, (n, r)
    assert world.proc.poll() is None


def start_attack(w, sigs_per_message, first=0):
    """One thread per attacker message (numbered from first: its key names
    are its own); returns (threads, results dict)."""
    out = {}
    threads = [threading.Thread(target=attack, args=(w, n, out, sigs))
               for n, sigs in enumerate(sigs_per_message, start=first)]
    for t in threads:
        t.start()
    return threads, out


def wait_slow_names(fwd, count, since, timeout):
    """Waits until the forwarder was asked `count` distinct slow names."""
    deadline = time.monotonic() + timeout
    while True:
        names = {q[2] for q in fwd.asked(lambda q: q.endswith(SLOW_ZONE), since)}
        if len(names) >= count or time.monotonic() > deadline:
            return len(names)
        time.sleep(0.02)


DNS_MAX_INFLIGHT = 256   # daemon/dns.h
DNS_MAX_ABANDONED = 64   # daemon/dns.h


def test_DNS_STARVE_02_abandoned_lookups_stop_with_their_context(tmpdir_starve):
    """Issue #19, dns.h DNS_MAX_ABANDONED: ub_cancel cannot stop a query of a
    threaded libunbound context, so lookups that timed out went on being
    re-sent for seconds. A forwarder that never answers the slow names; one
    worker; ATTACKERS x SIGS lookups time out (over DNS_MAX_ABANDONED): new
    lookups go to a fresh context (logged), the old one is deleted with its
    abandoned queries, and from a second after the timeouts the forwarder
    gets no more queries for the slow names. Good mail passes after it."""
    assert ATTACKERS * SIGS > DNS_MAX_ABANDONED
    w = World(tmpdir_starve, slow_s=None, workers=1)
    try:
        good = Good(w)
        t0 = time.monotonic()
        threads, out = start_attack(w, [SIGS] * ATTACKERS)
        for t in threads:
            t.join(3 * SLOW_S)
        assert sorted(out) == list(range(ATTACKERS)), out
        assert all(not isinstance(r, Exception) and r[1] == ["temperror"] * SIGS
                   for r in out.values()), out
        t_done = max(r[2] for r in out.values())
        results, took, ar, _ = good.send()
        assert results == ["pass"] and took < GOOD_SLACK_S, (took, ar)
        time.sleep(max(0.0, t_done + 5.0 - time.monotonic()))
        late = w.fwd.asked(lambda q: q.endswith(SLOW_ZONE), t_done + 1.0)
        first = w.fwd.asked(lambda q: q.endswith(SLOW_ZONE), t0)
        assert not late, (f"{len(late)} queries for slow names from {late[0][0] - t_done:.1f}s "
                          f"after the timeouts to {late[-1][0] - t_done:.1f}s "
                          f"({len(first)} in all)")
        assert "new lookups use a fresh resolver context" in w.log_text(), w.log_text()[-3000:]
    finally:
        w.stop()


def test_DNS_STARVE_03_inflight_bound_at_limit_and_over(tmpdir_starve):
    """dns.h DNS_MAX_INFLIGHT (256 lookups a resolver has in libunbound):
    one worker, a forwarder that never answers the slow names. With 255 slow
    lookups running, a good message's lookup is the 256th: it starts at once
    and passes within GOOD_SLACK_S. With 256 running, the next good message's
    lookup waits: the forwarder is asked its name only once the slow lookups
    timed out and their context was deleted, and then it passes."""
    w = World(tmpdir_starve, slow_s=None, workers=1)
    try:
        good = Good(w)
        results, base, ar, _ = good.send()
        assert results == ["pass"], ar
        t0 = time.monotonic()
        below = DNS_MAX_INFLIGHT - 1
        plan = [SIGS] * (below // SIGS) + ([below % SIGS] if below % SIGS else [])
        threads, out = start_attack(w, plan)
        assert wait_slow_names(w.fwd, below, t0, DNS_TIMEOUT_S - 2) == below
        results, took, ar, sel = good.send()  # the 256th lookup: at the limit
        assert results == ["pass"] and took < base + GOOD_SLACK_S, (took, ar)
        more, out_more = start_attack(w, [1], first=len(plan))  # 256 running
        assert wait_slow_names(w.fwd, DNS_MAX_INFLIGHT, t0, 1.0) == DNS_MAX_INFLIGHT
        t_over = time.monotonic()
        results, took, ar, sel = good.send()  # the 257th: over the limit
        name = f"{sel}._domainkey.{GOOD_DOMAIN}"
        asked = w.fwd.asked(lambda q: q == name, t_over)
        # It waited: asked (if at all) only once the slow lookups had timed
        # out; it passes if their context was gone before its own timeout,
        # else it is a temperror whose reason names the limit.
        assert took > base + GOOD_SLACK_S, (took, ar)
        assert not asked or asked[0][0] >= t0 + DNS_TIMEOUT_S, asked[0][0] - t0
        if results != ["pass"]:
            assert results == ["temperror"], ar
            assert (f"key lookup {name}: timeout after {DNS_TIMEOUT_S * 1000} ms (not started: "
                    f"DNS_MAX_INFLIGHT {DNS_MAX_INFLIGHT} lookups running)") in w.log_text()
        for t in threads + more:
            t.join(3 * SLOW_S)
        assert len(out) + len(out_more) == len(plan) + 1
        results, took, ar, _ = good.send()  # and after: at once again
        assert results == ["pass"] and took < base + GOOD_SLACK_S, (took, ar)
    finally:
        w.stop()


def test_DNS_STARVE_04_late_answer_cached_for_the_retry(tmpdir_starve):
    """A lookup that timed out is left to finish in libunbound, and its late
    answer goes to signetd's answer cache (with its TTL, as any answer; the
    timeout itself is never kept), so it outlives the libunbound context,
    which DNS_MAX_ABANDONED may retire. The key of
    late0._domainkey.good.example.org comes 7 s after it is first asked,
    dns.timeout is 5 s: the first delivery is dkim=temperror; then 80 slow
    lookups time out (a fresh context, logged); the MTA's retry is dkim=pass
    at once, and the forwarder is not asked again."""
    late_s = DNS_TIMEOUT_S + 2.0
    w = World(tmpdir_starve, slow_s=late_s, workers=1)
    try:
        good = Good(w)
        name = f"late0._domainkey.{GOOD_DOMAIN}"
        results, took, ar, _ = good.send("late0")
        assert results == ["temperror"] and took >= DNS_TIMEOUT_S - 0.5, (took, ar)
        first = w.fwd.asked(lambda q: q == name)
        assert first, "the forwarder was asked"
        answered = first[0][0] + late_s
        time.sleep(max(0.0, answered + 0.5 - time.monotonic()))
        threads, out = start_attack(w, [SIGS] * 5)
        for t in threads:
            t.join(3 * SLOW_S)
        assert len(out) == 5
        assert "new lookups use a fresh resolver context" in w.log_text(), w.log_text()[-3000:]
        results, took, ar, _ = good.send("late0")
        assert results == ["pass"] and took < GOOD_SLACK_S, (took, ar)
        again = w.fwd.asked(lambda q: q == name, answered + 0.1)
        assert not again, again
    finally:
        w.stop()


def test_DNS_STARVE_06_abandoned_limit_63_then_64(tmpdir_starve):
    """dns.h DNS_MAX_ABANDONED at the limit: one worker, the forwarder of the
    issue (each query answered 10 s after it came, so a timed-out lookup
    runs on in libunbound). 63 slow lookups time out: no fresh context.
    One more, started a second later, times out while they still run: the
    64th abandoned lookup, and the context is retired (logged once)."""
    below = DNS_MAX_ABANDONED - 1
    w = World(tmpdir_starve, per_query=True, workers=1)
    try:
        t0 = time.monotonic()
        plan = [SIGS] * (below // SIGS) + ([below % SIGS] if below % SIGS else [])
        threads, out = start_attack(w, plan)
        assert wait_slow_names(w.fwd, below, t0, 2.0) == below
        time.sleep(max(0.0, t0 + 1.0 - time.monotonic()))
        more, out_more = start_attack(w, [1], first=len(plan))
        for t in threads:
            t.join(3 * SLOW_S)
        assert len(out) == len(plan)
        line = "new lookups use a fresh resolver context"
        assert line not in w.log_text(), "retired at 63"
        for t in more:
            t.join(3 * SLOW_S)
        assert len(out_more) == 1
        assert w.log_lines_count(line, 2.0) == 1, w.log_text()[-3000:]
    finally:
        w.stop()
