# test_miltload.py: smoke test of bench/miltload, the milter load generator
# (so it cannot rot between benchmark runs): signetd with a generated config
# and an unbound serving the key records, miltload -n 20 -c 2 in sign mode
# (signatures checked with libsignet's verifier against the published keys)
# and verify mode (signetd's Authentication-Results must say dkim=pass), over
# an inet and a unix socket; several connections on fewer event threads
# (-c 8 -t 2, -c 3 -t 1), exact counts; and timeouts that still fire per
# connection when one thread runs several (a milter that never answers EOM, a
# unix socket whose listen backlog is full, a milter that stops reading), and
# sending to a milter that reads slowly. No timing assertions: benchmarks are
# bench/run.
# Environment: MILTLOAD_BIN, else <builddir>/bench/miltload next to the
# signetd that harness.signetd_path() picks ($SIGNETD_BIN / $SIGNET_BIN).
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from milter_recorder import SMFIP, Recorder  # noqa: E402

DOMAIN = "example.com"
MESSAGES = 20
CONNS = 2


def miltload_path():
    if os.environ.get("MILTLOAD_BIN"):
        return Path(os.environ["MILTLOAD_BIN"])
    return harness.signetd_path().resolve().parent.parent / "bench" / "miltload"


class UnixSignetd(harness.Signetd):
    """harness.Signetd listening on a unix socket in its temp dir."""

    def config(self):
        text = super().config()
        return re.sub(r'^socket = .*$', f'socket = {harness.ucl_str("unix:" + str(self.path))};',
                      text, count=1, flags=re.M)

    @property
    def path(self):
        return self.dir / "signetd.sock"

    def start(self, timeout=15):
        self.conf.write_text(self.config())
        self._log = open(self.logfile, "ab")
        self.proc = subprocess.Popen([str(self.binary), "-f", "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        harness._register(self)
        deadline = time.monotonic() + timeout
        while not self.path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"signetd did not create {self.path}:\n{self.log_text()}")
            time.sleep(0.05)
        return self

    def socket_spec(self):
        return f"unix:{self.path}"


def inet_spec(d):
    return f"inet:{d.port}@127.0.0.1"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tools = [harness.signet_path(), harness.signetd_path(), miltload_path(), harness.UNBOUND]
    missing = harness.missing_tools(*tools)
    if missing:
        pytest.skip(f"not built or not installed: {', '.join(missing)}")
    d = tmp_path_factory.mktemp("miltload")
    signet = str(harness.signet_path())
    records = {}
    for sel, kind in (("rsa", "rsa"), ("ed", "ed25519")):
        key = d / f"{sel}.key"
        r = subprocess.run([signet, "keygen", "-d", DOMAIN, "-s", sel, "-t", kind, "-k", str(key),
                            "--format", "txt"], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        records[f"{sel}._domainkey.{DOMAIN}"] = r.stdout.decode().strip()
    keys = d / "keys.txt"
    keys.write_text("".join(f"{n} {v}\n" for n, v in records.items()))
    # A message signed by the CLI, for the verify path.
    plain = harness.make_message("miltload-smoke@example.com", body=b"hello\n" * 50)
    r = subprocess.run([signet, "sign", "-d", DOMAIN, "-s", "rsa", "-k", str(d / "rsa.key")],
                       input=plain, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    signed = d / "signed.eml"
    signed.write_bytes(r.stdout)
    ub = harness.Unbound({DOMAIN: {n: [v] for n, v in records.items()}}).start()
    sels = [(DOMAIN, "rsa", d / "rsa.key"), (DOMAIN, "ed", d / "ed.key")]
    daemons = {
        "inet": harness.Signetd(harness.signetd_path(), [ub.forwarder()], sels).start(),
        "unix": UnixSignetd(harness.signetd_path(), [ub.forwarder()], sels).start(),
    }
    specs = {"inet": inet_spec(daemons["inet"]), "unix": daemons["unix"].socket_spec()}
    yield {"keys": keys, "signed": signed, "specs": specs, "daemons": daemons}
    for s in daemons.values():
        s.cleanup()
    ub.cleanup()


def miltload(*args):
    r = subprocess.run([str(miltload_path()), *map(str, args)], capture_output=True, timeout=120)
    out = r.stdout.decode(errors="replace")
    last = out.strip().splitlines()[-1] if out.strip() else ""
    assert last.startswith("MILTLOAD "), (r.returncode, out, r.stderr)
    fields = dict(kv.split("=", 1) for kv in last.split()[1:])
    return r.returncode, fields, out + r.stderr.decode(errors="replace")


@pytest.mark.parametrize("sock", ["inet", "unix"])
def test_miltload_sign(setup, sock):
    """Authenticated sender: every reply carries a DKIM-Signature, and every
    reconstructed message (headers + inserted fields + body) verifies."""
    rc, f, out = miltload("-s", setup["specs"][sock], "-n", MESSAGES, "-c", CONNS, "-a",
                          "-k", setup["keys"], "-T", 20)
    assert rc == 0, out
    assert f["errors"] == "0" and f["ok"] == str(MESSAGES), out
    assert f["checked"] == str(MESSAGES) and f["verified"] == str(MESSAGES), out
    for d in setup["daemons"].values():
        assert not d.sanitizer_reports(), d.log_text()[-4000:]


@pytest.mark.parametrize("sock", ["inet", "unix"])
def test_miltload_verify(setup, sock):
    """Client outside local_addrs, no auth: signetd verifies the CLI-signed
    message with the key from unbound and says dkim=pass."""
    rc, f, out = miltload("-s", setup["specs"][sock], "-n", MESSAGES, "-c", CONNS,
                          "-m", setup["signed"], "--verify-mode", "-e", "dkim=pass",
                          "-C", "192.0.2.7", "-T", 20)
    assert rc == 0, out
    assert f["errors"] == "0" and f["ok"] == str(MESSAGES), out


def test_miltload_counts_errors(setup):
    """A check that fails is counted and makes the exit status non-zero:
    verify mode against mail signetd signs gets no Authentication-Results
    with dkim=pass (a generated message has no signature)."""
    rc, f, out = miltload("-s", setup["specs"]["inet"], "-n", 4, "-c", 1, "--verify-mode",
                          "-e", "dkim=pass", "-T", 20)
    assert rc != 0 and f["errors"] == "4" and f["ok"] == "0", out


MAX_EXPECTS = 8  # bench/miltload.c MAX_EXPECTS


def test_miltload_verify_every_expect(setup):
    """-e given several times: each string must be in the Authentication-Results
    (bench/run's receiving-side rows require dkim=pass, spf=pass and
    dmarc=pass at once). All eight (MAX_EXPECTS) present: every message ok."""
    expects = ["dkim=pass", "header.d=example.com", "header.s=rsa", "mx.signet.test",
               "dkim=", "pass", "header.d=", "header.s="]
    assert len(expects) == MAX_EXPECTS
    args = [a for e in expects for a in ("-e", e)]
    rc, f, out = miltload("-s", setup["specs"]["unix"], "-n", 4, "-c", 1, "-m", setup["signed"],
                          "--verify-mode", "-C", "192.0.2.7", "-T", 20, *args)
    assert rc == 0, out
    assert f["errors"] == "0" and f["ok"] == "4", out


def test_miltload_verify_one_missing_expect_fails(setup):
    """One -e string missing from the Authentication-Results fails every
    message and names that string, whatever its place among the others (a
    later -e does not replace an earlier one)."""
    for expects in (["spf=nosuch", "dkim=pass"], ["dkim=pass", "spf=nosuch"]):
        args = [a for e in expects for a in ("-e", e)]
        rc, f, out = miltload("-s", setup["specs"]["unix"], "-n", 3, "-c", 1, "-m",
                              setup["signed"], "--verify-mode", "-C", "192.0.2.7", "-T", 20, *args)
        assert rc != 0 and f["errors"] == "3" and f["ok"] == "0", (expects, out)
        assert 'without "spf=nosuch"' in out, (expects, out)


def test_miltload_too_many_expects():
    """More than MAX_EXPECTS -e strings is a usage error (exit 64)."""
    if harness.missing_tools(miltload_path()):
        pytest.skip(f"not built: {miltload_path()}")
    args = [a for k in range(MAX_EXPECTS + 1) for a in ("-e", f"x{k}")]
    r = subprocess.run([str(miltload_path()), "-s", "unix:/nonexistent", "-n", "1",
                        "--verify-mode", *args], capture_output=True, text=True, timeout=10)
    assert r.returncode == 64 and "-e EXPECT" in r.stderr, (r.returncode, r.stderr)


def assert_no_sanitizer_report(out):
    for mark in harness.SANITIZER_MARKS:
        assert mark not in out, out


# (connections, event threads, messages per SMTP session: 0 = all)
THREADED = [(8, 2, 0), (3, 1, 2)]


@pytest.mark.parametrize("sock", ["inet", "unix"])
@pytest.mark.parametrize("conns,threads,per_conn", THREADED,
                         ids=[f"c{c}-t{t}" for c, t, _ in THREADED])
def test_miltload_connections_on_event_threads(setup, sock, conns, threads, per_conn):
    """-t: C connections as coroutines on T event threads (round robin). Every
    message is counted once and every signature is checked and verifies;
    with -p 2 each connection also closes and reconnects between sessions."""
    n = 24
    args = ["-s", setup["specs"][sock], "-n", n, "-c", conns, "-t", threads, "-a",
            "-k", setup["keys"], "-T", 20]
    if per_conn:
        args += ["-p", per_conn]
    rc, f, out = miltload(*args)
    assert rc == 0, out
    assert f["threads"] == str(threads), out
    assert f["ok"] == str(n) and f["errors"] == "0" and f["timeouts"] == "0", out
    assert f["checked"] == str(n) and f["verified"] == str(n), out
    assert f"{conns} connection(s) on {threads} thread(s)" in out, out
    assert_no_sanitizer_report(out)
    for d in setup["daemons"].values():
        assert not d.sanitizer_reports(), d.log_text()[-4000:]


def test_miltload_open_loop_rate(setup):
    """-R: messages arrive on a fixed (seeded) Poisson schedule and each goes
    to the next free connection. Every message is answered and checked; the
    schedule is the same in two runs; and a run cannot end before its last
    message was due (each waits for its arrival time). No speed is asserted."""
    runs = []
    for _ in range(2):
        rc, f, out = miltload("-s", setup["specs"]["unix"], "-n", 40, "-c", 4, "-t", 2,
                              "-R", 200, "-a", "-k", setup["keys"], "-T", 20)
        assert rc == 0, out
        assert f["ok"] == "40" and f["errors"] == "0" and f["verified"] == "40", out
        assert f["rate"] == "200.0", out
        assert float(f["last_due_s"]) > 0, out
        assert float(f["seconds"]) >= float(f["last_due_s"]), out
        runs.append(f["last_due_s"])
    assert runs[0] == runs[1], runs
    rc, f, out = miltload("-s", setup["specs"]["unix"], "-n", 4, "-c", 2, "-a")
    assert rc == 0 and f["rate"] == "0.0" and f["last_due_s"] == "0.000000", out
    for bad in ("0", "-5", "x"):
        r = subprocess.run([str(miltload_path()), "-s", setup["specs"]["unix"], "-n", "1",
                            "-R", bad], capture_output=True, timeout=30)
        assert r.returncode == 64 and b"usage" in r.stderr, (bad, r.stderr)


def test_miltload_bad_thread_counts():
    """-t 0 and more threads than connections are usage errors (exit 64)."""
    if harness.missing_tools(miltload_path()):
        pytest.skip(f"not built: {miltload_path()}")
    for args in (["-c", "2", "-t", "3"], ["-c", "2", "-t", "0"]):
        r = subprocess.run([str(miltload_path()), "-s", "unix:/nonexistent", "-n", "1", *args],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 64 and "-t THREADS" in r.stderr, (args, r.returncode, r.stderr)


def test_MILTER_GEN_12_timeout_per_connection_on_one_thread():
    """MILTER-GEN-12 ("enforce 30 s / 300 s timeouts and report them") with
    three connections on one event thread: the milter never answers EOM, and
    each connection reports its own content timeout, names the event, and
    gives up on its message (nothing counted ok)."""
    if harness.missing_tools(miltload_path()):
        pytest.skip(f"not built: {miltload_path()}")
    rec = Recorder(stall={"E": None}).start()
    try:
        r, out = run_against(rec, "-n", 3, "-c", 3, "-t", 1, "--content-timeout", 1)
        conns = rec.wait_closed(3)
    finally:
        rec.stop()
    assert_no_sanitizer_report(out)
    assert r.returncode == 1, out
    assert "ok=0 errors=3 " in out and "timeouts=3 threads=1" in out, out
    for k in range(3):
        assert (f"connection {k}: timeout: waiting for the reply to EOM: nothing for 1 s "
                f"(milter_content_timeout)") in out, out
    # Each connection got its one message up to EOM, then closed without QUIT.
    assert sorted(c.commands()[-1] for c in conns) == ["E", "E", "E"], conns
    assert len(rec.conns) == 3, rec.conns


def test_MILTER_GEN_12_connect_and_command_timeouts_on_one_thread(tmp_path):
    """MILTER-GEN-12, milter_connect_timeout and milter_command_timeout, two
    connections on one thread against a unix socket that listens with a
    backlog of 0 and never accepts: the first connect is queued and its
    OPTNEG is never answered (command timeout); the second finds the backlog
    full (EAGAIN, tried again until the connect timeout). Both are reported."""
    if harness.missing_tools(miltload_path()):
        pytest.skip(f"not built: {miltload_path()}")
    path = tmp_path / "full.sock"
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lsock.bind(str(path))
        lsock.listen(0)
        r = subprocess.run([str(miltload_path()), "-s", f"unix:{path}", "-q", "-n", "2",
                            "-c", "2", "-t", "1", "--connect-timeout", "1",
                            "--command-timeout", "1"], capture_output=True, timeout=60)
    finally:
        lsock.close()
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert_no_sanitizer_report(out)
    assert r.returncode == 1, out
    assert "ok=0 errors=2 " in out and "timeouts=2 threads=1" in out, out
    assert ("connection 0: timeout: waiting for the reply to OPTNEG: nothing for 1 s "
            "(milter_command_timeout)") in out, out
    assert (f"connection 1: timeout: connecting to unix:{path}: nothing for 1 s "
            "(milter_connect_timeout)") in out, out


# Every event without a reply: miltload writes the whole message, EOM
# included, without waiting, so only the milter's reading holds it back.
ALL_NR = (SMFIP["NR_CONN"] | SMFIP["NR_HELO"] | SMFIP["NR_MAIL"] | SMFIP["NR_RCPT"]
          | SMFIP["NR_DATA"] | SMFIP["NR_HDR"] | SMFIP["NR_EOH"] | SMFIP["NR_BODY"])
BIG_BODY = 2 * 1024 * 1024  # far more than a unix socket buffers


class SlowReader(Recorder):
    """The recording milter on a unix socket, reading late: after OPTNEG it
    sleeps `delay` seconds before each packet, or, with delay None, reads
    nothing more until released."""

    def __init__(self, path, delay):
        super().__init__(unix_path=path, protocol=ALL_NR)
        self.delay = delay
        self.released = threading.Event()

    def _read(self, s):
        pkt = Recorder._read(self, s)
        if pkt is not None and pkt[0] != b"O":
            if self.delay is None:
                self.released.wait(60)
            else:
                time.sleep(self.delay)
        return pkt

    def stop(self):
        self.released.set()
        super().stop()


def run_against(rec, *args):
    r = subprocess.run([str(miltload_path()), "-s", rec.miltload_spec(), "-q", *map(str, args)],
                       capture_output=True, timeout=60)
    return r, (r.stdout + r.stderr).decode(errors="replace")


def test_miltload_sends_to_a_slow_reader(tmp_path):
    """Two connections on one thread send a 2 MiB body to a milter that
    reads one packet every 2 ms: the socket buffer fills, each connection
    waits until it can write again (EPOLLOUT), and the whole body arrives,
    in 65535-byte chunks, on both connections."""
    if harness.missing_tools(miltload_path()):
        pytest.skip(f"not built: {miltload_path()}")
    rec = SlowReader(tmp_path / "slow.sock", 0.002).start()
    try:
        r, out = run_against(rec, "-n", 2, "-c", 2, "-t", 1, "-b", BIG_BODY, "-T", 20)
        conns = rec.wait_closed(2)
    finally:
        rec.stop()
    assert_no_sanitizer_report(out)
    assert r.returncode == 0 and "ok=2 errors=0 " in out, out
    for c in conns:
        chunks = [len(e[1]) for e in c.events if e[0] == "B"]
        assert sum(chunks) == BIG_BODY and max(chunks) == 65535, (c.n, chunks)
        assert c.commands().endswith("EAAQ"), c.commands()  # ABORT after it, ABORT, QUIT


def test_MILTER_GEN_12_send_timeout_per_connection_on_one_thread(tmp_path):
    """MILTER-GEN-12 on the sending side: the milter stops reading after
    OPTNEG, so the body no longer fits in the socket; each of the two
    connections on one thread gives up after the content timeout and
    reports that it was sending BODY."""
    if harness.missing_tools(miltload_path()):
        pytest.skip(f"not built: {miltload_path()}")
    rec = SlowReader(tmp_path / "stuck.sock", None).start()
    try:
        r, out = run_against(rec, "-n", 2, "-c", 2, "-t", 1, "-b", BIG_BODY,
                             "--content-timeout", 1)
    finally:
        rec.stop()
    assert_no_sanitizer_report(out)
    assert r.returncode == 1, out
    assert "ok=0 errors=2 " in out and "timeouts=2 threads=1" in out, out
    for k in range(2):
        assert (f"connection {k}: timeout: sending BODY: nothing for 1 s "
                f"(milter_content_timeout)") in out, out
