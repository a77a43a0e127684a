# test_milter_wire.py: signetd spoken to directly over the milter protocol,
# the way Postfix speaks it (spec/milter.md section 8), by a small client
# written here: unix and IPv6 sockets, the negotiation bytes, several
# messages and ABORT on one connection, connections dropped at any point,
# malformed packets, and a hundred connections at once. This client drives
# the real daemon; it is not a stand-in for anything signetd talks to.
import os
import re
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

import harness

# mfdef.h values (the daemon's codec has the same, checked in test_milter.c)
SMFIF_ADDHDRS, SMFIF_CHGHDRS, SMFIF_SETSYMLIST = 0x01, 0x10, 0x100
SMFIP = dict(NOCONNECT=0x1, NOHELO=0x2, NOMAIL=0x4, NORCPT=0x8, NOBODY=0x10, NOHDRS=0x20,
             NOEOH=0x40, NR_HDR=0x80, NOUNKNOWN=0x100, NODATA=0x200, NR_CONN=0x1000,
             NR_HELO=0x2000, NR_MAIL=0x4000, NR_RCPT=0x8000, NR_DATA=0x10000,
             NR_EOH=0x40000, NR_BODY=0x80000, HDR_LEADSPC=0x100000)
POSTFIX_OFFER = (6, 0x1FF, 0x1FFFFF)  # MILTER-GEN-01
AUTHSERV = "mx.wire.test"


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def nul(*parts):
    return b"".join((p.encode() if isinstance(p, str) else p) + b"\0" for p in parts)


class Milter:
    """One MTA-side milter connection."""

    def __init__(self, sock):
        self.s = sock
        self.s.settimeout(10)
        self.protocol = 0

    def send(self, cmd, data=b""):
        self.s.sendall(packet(cmd, data))

    def read(self):
        hdr = self._exact(4)
        n = struct.unpack(">I", hdr)[0]
        body = self._exact(n)
        return body[:1], body[1:]

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("signetd closed the connection")
            buf += chunk
        return buf

    def negotiate(self, offer=POSTFIX_OFFER):
        self.send(b"O", struct.pack(">III", *offer))
        cmd, data = self.read()
        assert cmd == b"O", cmd
        version, actions, protocol = struct.unpack(">III", data[:12])
        self.protocol = protocol
        return version, actions, protocol, data[12:]

    def event(self, cmd, data, nr_flag=None):
        """Sends an event and reads its reply unless NR_ was negotiated."""
        self.send(cmd, data)
        if nr_flag and self.protocol & SMFIP[nr_flag]:
            return None
        reply, _ = self.read()
        assert reply == b"c", reply
        return reply

    def message(self, headers, body, sender="<joe@example.com>", auth=None, client=None):
        """One transaction; returns the modification packets and the verdict."""
        if client is not None:
            self.send(b"D", b"C" + nul("j", AUTHSERV))
            host, addr = client
            self.event(b"C", nul(host) + b"4" + struct.pack(">H", 25000) + nul(addr), "NR_CONN")
        macros = nul("i", "Q1234")
        if auth:
            macros += nul("{auth_authen}", auth)
        self.send(b"D", b"M" + macros)
        self.event(b"M", nul(sender), "NR_MAIL")
        lead = self.protocol & SMFIP["HDR_LEADSPC"]
        for name, value in headers:
            self.event(b"L", nul(name, (" " + value) if lead else value), "NR_HDR")
        self.event(b"N", b"", "NR_EOH")
        for off in range(0, len(body), 65535):
            self.event(b"B", body[off:off + 65535], "NR_BODY")
        self.send(b"D", b"E" + nul("i", "Q1234"))
        self.send(b"E")
        mods = []
        while True:
            cmd, data = self.read()
            if cmd in (b"c", b"a", b"t", b"r", b"y", b"d"):
                return mods, cmd, data
            mods.append((cmd, data))


def header_mods(mods):
    """[(cmd, index, name, value)] of insheader/chgheader replies."""
    out = []
    for cmd, data in mods:
        idx = struct.unpack(">I", data[:4])[0]
        name, value, _ = data[4:].split(b"\0", 2)
        out.append((cmd, idx, name.decode(), value.decode()))
    return out


HEADERS = [("From", "Joe <joe@example.com>"), ("To", "sue@example.net"),
           ("Subject", "wire test"), ("Date", "Tue, 24 Nov 2026 10:00:00 +0000")]
BODY = b"Hello over the wire.\r\n\r\nSecond paragraph.\r\n"


def assemble(mods, headers=HEADERS, body=BODY):
    """The delivered message: inserted fields on top (wire '\\n\\t' folds as
    CRLF), then the original headers and body."""
    lines = []
    for cmd, _, name, value in header_mods(mods):
        if cmd == b"i":
            lines.insert(0, f"{name}:{value}".replace("\n", "\r\n"))
    lines += [f"{n}: {v}" for n, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    signet, signetd = harness.signet_path(), harness.signetd_path()
    if harness.missing_tools(signet, signetd):
        pytest.skip(f"signet or signetd not built: {harness.missing_tools(signet, signetd)}")
    d = tmp_path_factory.mktemp("wire")
    key = d / "rsa.key"
    r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", "wire", "-k", str(key),
                        "--format", "txt"], capture_output=True, text=True, check=True)
    keys = d / "keys.txt"
    keys.write_text(f"wire._domainkey.example.com {r.stdout.strip()}\n")
    return {"signet": signet, "signetd": signetd, "dir": d, "key": key, "keys": keys}


def start_signetd(world, socket_spec, name, extra="", args=()):
    d = world["dir"]
    conf = d / f"{name}.conf"
    log = d / f"{name}.log"
    conf.write_text(
        f'socket = "{socket_spec}";\nauthserv_id = "{AUTHSERV}";\n'
        'local_addrs = ["127.0.0.1/32"];\nlog { target = "stderr"; }\n'
        'dns { forwarders = ["127.0.0.1@9"]; timeout = 1s; }\n'
        "dkim_signing { domain { example.com { selector = \"wire\"; "
        f'path = "{world["key"]}"; }} }} }}\n' + extra)
    proc = subprocess.Popen([str(world["signetd"]), "-f", "-c", str(conf), *args],
                            stdin=subprocess.DEVNULL, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


def wait_connect(family, addr, proc, log, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"signetd exited {proc.returncode}:\n{Path(log).read_text()}")
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.connect(addr)
            return s
        except OSError:
            s.close()
            time.sleep(0.05)
    raise RuntimeError(f"signetd did not listen on {addr}:\n{Path(log).read_text()}")


def stop(proc, log):
    proc.terminate()
    rc = proc.wait(timeout=15)
    text = Path(log).read_text(errors="replace")
    for mark in harness.SANITIZER_MARKS:
        assert mark not in text, text[-4000:]
    assert rc == 0, f"signetd exited {rc}\n{text[-2000:]}"
    return text


@pytest.fixture(scope="module")
def unix_daemon(world):
    path = world["dir"] / "signetd.sock"
    # No DNS here (the forwarder is a dead port): SPF and DMARC, on by
    # default, would add spf=temperror and dmarc=temperror to every result
    # and ask for HELO. These tests are about the wire with both off; they
    # are tested in test_spf_postfix.py and test_dmarc_postfix.py.
    proc, log = start_signetd(world, f"unix:{path}", "unix",
                              extra="spf { enabled = false; }\ndmarc { enabled = false; }\n")
    wait_connect(socket.AF_UNIX, str(path), proc, log).close()
    yield {"connect": lambda: Milter(wait_connect(socket.AF_UNIX, str(path), proc, log)),
           "proc": proc, "log": log, "path": path}
    stop(proc, log)
    assert not path.exists(), "the unix socket is removed at exit"


def test_connections_spread_evenly_over_workers(world):
    """Every worker listens on the one socket and libevent accepts until the
    backlog is empty, so a burst of connections could all land on the loop
    that woke first and queue behind each other there. signetd gives each
    accepted connection to the worker with the fewest open ones (server.c
    on_accept): 16 connections made at once on 2 workers are 8 and 8, and
    the handed-over ones work (every connection signs a message)."""
    import re
    path = world["dir"] / "spread.sock"
    proc, log = start_signetd(world, f"unix:{path}", "spread", extra="workers = 2;\n",
                              args=("-d",))
    wait_connect(socket.AF_UNIX, str(path), proc, log).close()
    time.sleep(0.5)  # the probe's close is read and counted off
    socks = []
    try:
        for _ in range(16):  # all connect before any is used: one burst
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(path))
            socks.append(s)
        for s in socks:
            m = Milter(s)
            m.negotiate()
            mods, verdict, _ = m.message(HEADERS, BODY, client=("localhost", "127.0.0.1"))
            assert verdict == b"c", verdict
            assert [h[2] for h in header_mods(mods)] == ["DKIM-Signature"]
        rc, out = verify(world, assemble(mods))
        assert rc == 0, out
    finally:
        for s in socks:
            s.close()
    text = stop(proc, log)
    took = re.findall(r"connection accepted by worker \d for worker (\d)", text)
    assert len(took) == 17, text[-3000:]  # the probe and the 16
    burst = took[1:]
    assert (burst.count("0"), burst.count("1")) == (8, 8), took
    assert text.count(": signed (") == 16


def verify(world, message):
    r = subprocess.run([str(world["signet"]), "verify", "--keys", str(world["keys"]), "--json"],
                       input=message, capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode()


def test_MILTER_NEG_01_02_03_negotiation_reply_to_postfix_offer(unix_daemon):
    """MILTER-NEG-01/02/03/04/05: to Postfix's offer (6, 0x1FF, 0x1FFFFF) signetd
    answers version 6, actions ADDHDRS|CHGHDRS|SETSYMLIST, the no-op and
    no-reply flags it wants plus HDR_LEADSPC, and macro lists per stage."""
    m = unix_daemon["connect"]()
    version, actions, protocol, lists = m.negotiate()
    assert version == 6
    assert actions == SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST, hex(actions)
    want = (SMFIP["NOHELO"] | SMFIP["NORCPT"] | SMFIP["NOUNKNOWN"] | SMFIP["NODATA"]
            | SMFIP["NR_CONN"] | SMFIP["NR_MAIL"] | SMFIP["NR_HDR"] | SMFIP["NR_EOH"]
            | SMFIP["NR_BODY"] | SMFIP["HDR_LEADSPC"])
    assert protocol == want, hex(protocol)
    stages = {}
    while lists:
        stage = struct.unpack(">I", lists[:4])[0]
        names, lists = lists[4:].split(b"\0", 1)
        stages[stage] = names.decode()
    assert "{auth_authen}" in stages[2] and "i" in stages[5].split(), stages
    m.s.close()


def test_MILTER_NEG_05_old_mta_version_2_without_flags(unix_daemon, world):
    """MILTER-NEG-05/02: an MTA offering version 2 and no protocol flags still
    gets every reply it waits for, and the message is signed."""
    m = unix_daemon["connect"]()
    version, _, protocol, _ = m.negotiate((2, SMFIF_ADDHDRS | SMFIF_CHGHDRS, 0x3F))
    assert version == 2 and protocol == 0x3F & (SMFIP["NOHELO"] | SMFIP["NORCPT"]), hex(protocol)
    mods, verdict, _ = m.message(HEADERS, BODY, client=("localhost", "127.0.0.1"))
    assert verdict == b"c"
    assert [x[2] for x in header_mods(mods)] == ["DKIM-Signature"]
    rc, out = verify(world, assemble(mods))
    assert rc == 0, out
    m.s.close()


def test_MILTER_CONV_01_two_messages_and_abort_on_one_connection(unix_daemon, world):
    """MILTER-CONV-01, MILTER-EOM-01: two messages on one connection are each
    signed (insheader at index 0); an ABORT mid-body is forgotten and the
    next message is signed normally."""
    m = unix_daemon["connect"]()
    m.negotiate()
    mods, verdict, _ = m.message(HEADERS, BODY, client=("localhost", "127.0.0.1"))
    assert verdict == b"c" and header_mods(mods)[0][:3] == (b"i", 0, "DKIM-Signature")
    assert verify(world, assemble(mods))[0] == 0
    # a transaction abandoned mid-body
    m.send(b"M", nul("<x@example.com>"))
    m.send(b"L", nul("From", " x@example.com"))
    m.send(b"N")
    m.send(b"B", b"partial body\r\n")
    m.send(b"A")
    body2 = b"Another message.\r\n"
    mods, verdict, _ = m.message(HEADERS, body2)
    assert verdict == b"c"
    assert verify(world, assemble(mods, body=body2))[0] == 0
    m.s.close()


def test_verify_path_over_the_wire_dkim_none_and_forged_ar_removed(unix_daemon):
    """AR-SYN-02, AR-DEL-01, AR-DEL-05, MILTER-EOM-02/03: a client outside
    local_addrs gets Authentication-Results dkim=none at index 0, and the two
    forged AR fields with our id (1st and 3rd AR) are deleted, highest index
    first, before the insert."""
    m = unix_daemon["connect"]()
    m.negotiate()
    headers = [("Authentication-Results", f"{AUTHSERV.upper()}; dkim=pass"),
               ("Authentication-Results", "other.example; dkim=pass"),
               ("Authentication-Results", f" (c) {AUTHSERV} 1; dkim=pass")] + HEADERS
    mods, verdict, _ = m.message(headers, BODY, client=("mx.outside.example", "192.0.2.7"))
    assert verdict == b"c"
    hm = header_mods(mods)
    assert [(c, i, n, v) for c, i, n, v in hm if c == b"m"] == [
        (b"m", 3, "Authentication-Results", ""), (b"m", 1, "Authentication-Results", "")], hm
    ins = [x for x in hm if x[0] == b"i"]
    assert len(ins) == 1 and ins[0][1] == 0 and ins[0][2] == "Authentication-Results"
    # issue #16: arc= follows in the same field (RFC 8617 10.1)
    assert ins[0][3].strip() == f"{AUTHSERV}; dkim=none; arc=none\n\tsmtp.remote-ip=192.0.2.7", ins
    assert hm.index(ins[0]) == len(hm) - 1, "deletions come first"
    m.s.close()


def test_MILTER_ERR_03_dropped_connections_and_malformed_packets(unix_daemon, world):
    """MILTER-ERR-03, MILTER-CONV-02: the MTA hanging up mid-packet, mid-body,
    after EOH, and packets with a zero length, an oversized length, an unknown
    command or a header without NULs close that connection only; signetd
    stays up and the next connection signs."""
    def hang_up(payload):
        m = unix_daemon["connect"]()
        m.negotiate()
        m.s.sendall(payload)
        m.s.close()

    hang_up(packet(b"M", nul("<a@example.com>"))[:6])                      # mid-packet
    hang_up(packet(b"M", nul("<a@example.com>")) + packet(b"L", nul("From", " a@example.com"))
            + packet(b"N") + packet(b"B", b"half a body"))                   # mid-body
    hang_up(packet(b"M", nul("<a@example.com>")) + packet(b"N"))            # after EOH
    for bad in (struct.pack(">I", 0), struct.pack(">I", 0xFFFFFFFF) + b"L",
                packet(b"Z", b"junk"), packet(b"L", b"no nul at all")):
        m = unix_daemon["connect"]()
        m.negotiate()
        m.s.sendall(bad)
        m.s.settimeout(5)
        try:
            assert m.s.recv(1) == b"", "signetd must close after a protocol error"
        except ConnectionResetError:
            pass
        m.s.close()
    m = unix_daemon["connect"]()
    m.negotiate()
    mods, verdict, _ = m.message(HEADERS, BODY, client=("localhost", "127.0.0.1"))
    assert verdict == b"c" and verify(world, assemble(mods))[0] == 0
    m.s.close()
    assert unix_daemon["proc"].poll() is None
    log = Path(unix_daemon["log"]).read_text()
    assert "protocol error" in log, log[-2000:]


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_hundred_connections_open_and_close_no_fd_leak(unix_daemon):
    """A hundred concurrent connections, half of them left mid-message, all
    closed: signetd stays up and its open descriptors come back to where they
    were (no leaked connection)."""
    pid = unix_daemon["proc"].pid
    m = unix_daemon["connect"]()
    m.negotiate()
    m.s.close()
    time.sleep(0.2)
    before = fd_count(pid)
    conns = []
    for k in range(100):
        c = unix_daemon["connect"]()
        c.negotiate()
        if k % 2:
            c.s.sendall(packet(b"M", nul("<a@example.com>")) + packet(b"L", nul("From", " a@b.c")))
        conns.append(c)
    assert fd_count(pid) >= before + 100
    for c in conns:
        c.s.close()
    deadline = time.monotonic() + 10
    while fd_count(pid) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fd_count(pid) == before, (before, fd_count(pid))
    assert unix_daemon["proc"].poll() is None


def test_unix_socket_mode_and_ipv6_inet_socket(world, unix_daemon):
    """Listening on unix:PATH (mode 0660 by default) and on inet:PORT@[::1]."""
    mode = os.stat(unix_daemon["path"]).st_mode & 0o777
    assert mode == 0o660, oct(mode)
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError as e:
        pytest.skip(f"no IPv6 loopback on this machine: {e}")
    port = harness.free_port()
    proc, log = start_signetd(world, f"inet:{port}@[::1]", "ipv6")
    try:
        m = Milter(wait_connect(socket.AF_INET6, ("::1", port), proc, log))
        m.negotiate()
        mods, verdict, _ = m.message(HEADERS, BODY, auth="joe@example.com",
                                     client=("client.example", "192.0.2.9"))
        assert verdict == b"c"
        assert verify(world, assemble(mods))[0] == 0, "authenticated sender is signed"
        m.s.close()
    finally:
        stop(proc, log)


@pytest.mark.parametrize("count", [1100, 10000])
def test_MILTER_ERR_04_too_many_headers_passed_on_unchanged(unix_daemon, count):
    """MILTER-ERR-04: a message over the header limits (here more than
    SIGNET_MAX_HEADER_FIELDS = 1000 fields) is accepted without signing or
    verifying, with no header edits, and the log line says why; memory stays
    bounded (the fields past the limit are not kept)."""
    m = unix_daemon["connect"]()
    m.negotiate()
    headers = HEADERS + [(f"X-Filler-{k}", "x" * 20) for k in range(count)]
    mods, verdict, _ = m.message(headers, BODY, client=("localhost", "127.0.0.1"))
    assert verdict == b"c"
    assert header_mods(mods) == [], header_mods(mods)
    m.s.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = Path(unix_daemon["log"]).read_text()
        if "not processed" in log and "header fields" in log:
            break
        time.sleep(0.05)
    assert "Q1234: not processed: more than 1000 header fields" in log, log[-2000:]


def test_MILTER_CONV_01_abort_while_key_lookup_pending(unix_daemon, world):
    """MILTER-CONV-01/02: a message whose key lookup is still running (the
    forwarder never answers; dns.timeout = 1s) is aborted; the next messages
    on the same connection are handled normally, and the late answer (the
    timeout) lands nowhere: no crash, no reply out of turn."""
    m = unix_daemon["connect"]()
    m.negotiate()
    sig = ("v=1; a=rsa-sha256; d=example.com; s=wire; h=from; "
           "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA")
    m.send(b"D", b"C" + nul("j", AUTHSERV))
    m.send(b"C", nul("mx.outside.example") + b"4" + struct.pack(">H", 25000) + nul("192.0.2.8"))
    m.send(b"M", nul("<a@example.com>"))
    m.send(b"L", nul("DKIM-Signature", " " + sig))
    m.send(b"L", nul("From", " a@example.com"))
    m.send(b"N")
    m.send(b"A")
    # same connection, now as a local client: signed while the lookup runs
    mods, verdict, _ = m.message(HEADERS, BODY, client=("localhost", "127.0.0.1"))
    assert verdict == b"c" and verify(world, assemble(mods))[0] == 0
    time.sleep(1.5)  # the aborted message's lookup times out now
    mods, verdict, _ = m.message(HEADERS, BODY)
    assert verdict == b"c" and verify(world, assemble(mods))[0] == 0
    m.s.close()
    assert unix_daemon["proc"].poll() is None


def test_AR_DEL_01_every_forged_ar_removed_even_forty(unix_daemon):
    """AR-DEL-01, AR-DEL-05: forty forged Authentication-Results claiming our
    authserv-id are all deleted (highest index first); none survives because
    of a per-message cap (there was one at 32)."""
    m = unix_daemon["connect"]()
    m.negotiate()
    headers = [("Authentication-Results", f"{AUTHSERV}; dkim=pass")] * 40 + HEADERS
    mods, verdict, _ = m.message(headers, BODY, client=("mx.outside.example", "192.0.2.7"))
    assert verdict == b"c"
    deleted = [i for c, i, n, v in header_mods(mods) if c == b"m"]
    assert deleted == list(range(40, 0, -1)), deleted
    m.s.close()


def test_log_lines_escape_control_bytes(unix_daemon):
    """Log lines carry text from the MTA and the message; a CR or LF in it is
    written as \\x0d / \\x0a, so it cannot start a forged log line."""
    m = unix_daemon["connect"]()
    m.negotiate()
    m.send(b"D", b"C" + nul("j", AUTHSERV))
    m.event(b"C", nul("localhost") + b"4" + struct.pack(">H", 25000) + nul("127.0.0.1"), "NR_CONN")
    m.send(b"D", b"M" + nul("i", "QX\r\nsignetd[info]: forged"))
    m.event(b"M", nul("<joe@example.com>"), "NR_MAIL")
    for name, value in HEADERS:
        m.event(b"L", nul(name, " " + value), "NR_HDR")
    m.event(b"N", b"", "NR_EOH")
    m.event(b"B", BODY, "NR_BODY")
    m.send(b"E")
    while m.read()[0] not in (b"c", b"a", b"t", b"r", b"y"):
        pass
    m.s.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = Path(unix_daemon["log"]).read_text()
        if "QX" in log:
            break
        time.sleep(0.05)
    assert "QX\\x0d\\x0asignetd[info]: forged: signed" in log, log[-1500:]
    assert not any(line.startswith("signetd[info]: forged") for line in log.splitlines())


def vm_rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_MILTER_ERR_03_mta_that_does_not_read_replies_gets_backpressure(unix_daemon):
    """An MTA that writes commands but never reads the replies: signetd stops
    reading once its replies cannot be sent (bounded memory, nothing lost), the
    MTA's writes block, and when it reads again every reply arrives in order.
    An old MTA offer without NR_ flags makes every MAIL need a reply."""
    import threading
    pid = unix_daemon["proc"].pid
    m = unix_daemon["connect"]()
    m.negotiate((6, SMFIF_ADDHDRS | SMFIF_CHGHDRS, 0x3F))
    rss0 = vm_rss_kib(pid)
    one = packet(b"M", nul("<a@example.com>"))
    total = 400000  # 4.8 MB of commands, 2 MB of replies: far past the socket buffers
    sent = [0]

    def writer():
        batch = one * 1000
        for _ in range(total // 1000):
            m.s.sendall(batch)
            sent[0] += 1000

    m.s.settimeout(60)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    last, still = -1, 0
    while still < 10 and t.is_alive():  # wait until the writer has been stuck for 1 s
        time.sleep(0.1)
        still = still + 1 if sent[0] == last else 0
        last = sent[0]
    assert t.is_alive() and sent[0] < total, "the writer never blocked: signetd read without bound"
    grown = vm_rss_kib(pid) - rss0
    assert grown < 8 * 1024, f"signetd grew {grown} KiB while its replies were not read"
    for k in range(total):
        cmd, _ = m.read()
        assert cmd == b"c", (k, cmd)
    t.join(timeout=30)
    assert not t.is_alive()
    m.s.close()
    assert unix_daemon["proc"].poll() is None


@pytest.mark.parametrize("mode", ["sign", "verify"])
def test_MILTER_EOM_05_modifications_only_after_end_of_message(unix_daemon, mode):
    """MILTER-EOM-05: "All modifications only in xxfi_eom". An MTA offering no
    NR_ flags reads a reply to every event: each one before EOM must be exactly
    'c' (no header insert/change), and the inserts (DKIM-Signature, or AR plus
    the deletion of a forged AR) come only after BODYEOB."""
    m = unix_daemon["connect"]()
    m.negotiate((6, SMFIF_ADDHDRS | SMFIF_CHGHDRS, 0x3F))
    before = []

    def ev(cmd, data=b""):
        m.send(cmd, data)
        before.append((cmd, m.read()[0]))

    m.send(b"D", b"C" + nul("j", AUTHSERV))
    client = ("localhost", "127.0.0.1") if mode == "sign" else ("mx.outside.example", "192.0.2.7")
    ev(b"C", nul(client[0]) + b"4" + struct.pack(">H", 25000) + nul(client[1]))
    m.send(b"D", b"M" + nul("i", "QEOM5"))
    ev(b"M", nul("<joe@example.com>"))
    for name, value in [("Authentication-Results", f"{AUTHSERV}; dkim=pass")] + HEADERS:
        ev(b"L", nul(name, value))
    ev(b"N")
    ev(b"B", BODY)
    assert before and all(reply == b"c" for _, reply in before), before
    m.send(b"E")
    after = []
    while True:
        cmd, data = m.read()
        after.append(cmd)
        if cmd in (b"c", b"a", b"t", b"r", b"y", b"d"):
            break
    assert after[-1] == b"c", after
    # the forged AR deleted, then DKIM-Signature (sign) or our AR (verify)
    assert after == [b"m", b"i", b"c"], after
    m.s.close()


@pytest.mark.parametrize("client,why", [
    (("localhost", "127.0.0.1"), "not signed: From header missing"),
    (("mx.outside.example", "192.0.2.7"), "not signed: sender not authenticated and client "
                                          "192.0.2.7 not in local_addrs")])
def test_MILTER_ERR_03_body_without_headers(unix_daemon, client, why):
    """A message with no header fields at all (MAIL, EOH, BODY, EOM): nothing
    to sign for (no From), so it is verified (dkim=none) and passed on with
    continue, never deferred (a retry could not do better); the log line says
    why it was not signed."""
    m = unix_daemon["connect"]()
    m.negotiate()
    mods, verdict, _ = m.message([], BODY, client=client)
    assert verdict == b"c", verdict
    assert header_mods(mods) == [(b"i", 0, "Authentication-Results",
                                  f" {AUTHSERV}; dkim=none; arc=none\n\tsmtp.remote-ip={client[1]}")]
    m.s.close()
    want = f"{why}; verified: dkim=none"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and want not in Path(unix_daemon["log"]).read_text():
        time.sleep(0.05)
    assert want in Path(unix_daemon["log"]).read_text()


def test_AR_DKIM_04_long_i_whole_in_signetd_ar_and_log(unix_daemon):
    """Issue #12: three signatures with a 194-byte d= and a 312-byte i= (whole
    in header.i, AR-DKIM-04; it was cut at 255 bytes without its @domain).
    The log line that names them is longer than its 1024 bytes and says so
    with a final "..." instead of ending mid-value."""
    d = ".".join(["l" * 60] * 3) + ".example.com"
    auid = "u" * (312 - 1 - len(d)) + "@" + d
    sig = (f"v=1; a=rsa-sha256; d={d}; s=sel;\r\n\ti={auid}; h=from;\r\n"
           "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA")
    m = unix_daemon["connect"]()
    m.negotiate()
    mods, verdict, _ = m.message([("DKIM-Signature", sig)] * 3 + HEADERS, BODY,
                                 client=("mx.outside.example", "192.0.2.7"))
    m.s.close()
    assert verdict == b"c", verdict
    mods = [(c, data) for c, data in mods if c != b"p"]  # progress while the lookups run
    ars = [v for c, _, n, v in header_mods(mods) if n == "Authentication-Results"]
    assert len(ars) == 1, mods
    flat = ars[0].replace("\n\t", " ").replace("\n", "")
    assert flat.count(f" header.i={auid} ") == 3, flat
    deadline = time.monotonic() + 5
    line = ""
    while time.monotonic() < deadline and not line:
        line = next((ln for ln in Path(unix_daemon["log"]).read_text().splitlines()
                     if "verified: dkim=" in ln and d in ln), "")
        time.sleep(0.05)
    assert line, Path(unix_daemon["log"]).read_text()[-2000:]
    assert re.search(r"\.\.\.; arc=none in \d+ ms$", line), line  # the DKIM part ends in "..."
