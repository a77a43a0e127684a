# milter_recorder.py: a recording milter for the integration tests. It
# listens on 127.0.0.1 (a free port) or a unix socket, negotiates like a real
# filter (answers OPTNEG with the protocol flags and actions it was given and,
# optionally, setsymlist macro lists), answers every command that needs an
# answer (libmilter rules: not MACRO/ABORT/QUIT/QUIT_NC, not an event whose
# NR_ flag was negotiated) and records, per connection, every packet the MTA
# sent, decoded. It is what Postfix and bench/miltload talk to in
# test_generator_conformance.py; it signs nothing and checks nothing itself.
import os
import socket
import struct
import sys
import threading
import time

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_milter_wire import SMFIP, nul, packet  # noqa: E402  (mfdef.h values, packet framing)

SMFIP_SKIP = 0x400  # mfdef.h: the filter may reply SKIP to BODY
SMFIF_ALL = 0x1FF   # every action Postfix offers (MILTER-GEN-01)
SMFIF_SETSYMLIST = 0x100
# mfdef.h SMFIM_* stage numbers of a setsymlist list, and the MACRO command
# byte that the MTA puts in the 'D' packet of each stage.
STAGE_NUMBER = {"C": 0, "H": 1, "M": 2, "R": 3, "T": 4, "E": 5, "N": 6}
# Commands that get a reply unless their NR_ flag was negotiated.
NR_FLAG = {"C": "NR_CONN", "H": "NR_HELO", "M": "NR_MAIL", "R": "NR_RCPT", "T": "NR_DATA",
           "L": "NR_HDR", "N": "NR_EOH", "B": "NR_BODY", "U": None, "E": None}
SMFIP_NR_UNKN = 0x20000
# A DKIM-Signature-looking insert, so that miltload's sign-mode check
# (b= and bh= present) passes against the recorder; Postfix just adds it.
FAKE_SIGNATURE = " v=1; a=rsa-sha256; d=example.com; s=rec; h=from; bh=AAAA; b=BBBB"


def decode(cmd, data):
    """One MTA packet as a tuple (see Recorder): the command letter first."""
    c = cmd.decode("latin-1")
    if c == "O":
        return ("O",) + struct.unpack(">III", data[:12])
    if c == "D":
        parts = data[1:].split(b"\0")
        if parts and parts[-1] == b"":
            parts = parts[:-1]
        pairs = tuple((parts[i].decode("latin-1"), parts[i + 1].decode("latin-1"))
                      for i in range(0, len(parts) - 1, 2))
        return ("D", data[:1].decode("latin-1"), pairs)
    if c == "C":
        host, rest = data.split(b"\0", 1)
        family = rest[:1].decode("latin-1")
        if family == "U":
            return ("C", host.decode("latin-1"), family, None, None)
        port = struct.unpack(">H", rest[1:3])[0]
        addr = rest[3:].split(b"\0", 1)[0]
        return ("C", host.decode("latin-1"), family, port, addr.decode("latin-1"))
    if c == "H":
        return ("H", data.rstrip(b"\0").decode("latin-1"))
    if c in ("M", "R"):
        args = data.split(b"\0")
        if args and args[-1] == b"":
            args = args[:-1]
        return (c, tuple(a.decode("latin-1") for a in args))
    if c == "L":
        name, value, _ = data.split(b"\0", 2)
        return ("L", name.decode("latin-1"), value.decode("latin-1"))
    if c in ("B", "E", "U"):
        return (c, bytes(data))
    return (c,) if not data else (c, bytes(data))


class Conn:
    """One accepted connection: `events` (decoded packets in order),
    `closed` (the peer hung up), `error` (a framing problem, or None),
    `protocol` (the flags negotiated: what we returned, masked by the offer)."""

    def __init__(self, n):
        self.n = n
        self.events = []
        self.closed = False
        self.error = None
        self.protocol = 0
        self.stalled = set()

    def commands(self):
        return "".join(e[0] for e in self.events)

    def __repr__(self):
        return f"Conn#{self.n}(closed={self.closed}, error={self.error}, events={self.events!r})"


class Recorder:
    """The recording milter.

    protocol: SMFIP_* flags to ask for (masked by the MTA's offer, as
    libmilter does); actions: SMFIF_* flags returned; symlist: {stage
    letter ("C","H","M","R","T","N","E"): "names ..."} sent as setsymlist
    lists; eom: extra packets [(cmd bytes, data bytes)] sent before the final
    reply at EOM (default: one insheader of a fake DKIM-Signature at index 0);
    eom_final: that final reply (default 'c');
    body_reply: the reply to BODY ('c', or 's' for SKIP); stall: {command
    letter: seconds} - do not answer the first such command of a connection
    for so long (None = never: the connection then just reads until the peer
    gives up);
    unix_path: listen there instead of on 127.0.0.1."""

    def __init__(self, unix_path=None, **behaviour):
        self.unix_path = unix_path
        self.lock = threading.Condition()
        self.conns = []
        self.port = None
        self.sock = None
        self.stopping = False
        self.threads = []
        self.configure(**behaviour)

    def configure(self, protocol=0, actions=0x11, symlist=None, eom=None, eom_final=b"c",
                  body_reply=b"c", stall=None):
        """Sets how later connections are answered (see the class comment;
        eom_final: the last reply at EOM) and forgets what was recorded."""
        with self.lock:
            self.want_protocol = protocol
            self.actions = actions | (SMFIF_SETSYMLIST if symlist else 0)
            self.symlist = dict(symlist or {})
            self.eom = list(eom) if eom is not None else [
                (b"i", struct.pack(">I", 0) + nul("DKIM-Signature", FAKE_SIGNATURE))]
            self.eom_final = eom_final
            self.body_reply = body_reply
            self.stall = dict(stall or {})
            self.conns = []

    # ---- addresses ----
    def postfix_spec(self):
        """The address as Postfix's smtpd_milters writes it."""
        return f"unix:{self.unix_path}" if self.unix_path else f"inet:127.0.0.1:{self.port}"

    def miltload_spec(self):
        """The address as miltload -s (and signetd's socket =) write it."""
        return f"unix:{self.unix_path}" if self.unix_path else f"inet:{self.port}@127.0.0.1"

    # ---- life ----
    def start(self):
        if self.unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(str(self.unix_path))
            os.chmod(self.unix_path, 0o666)  # Postfix's smtpd runs as postfix
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(5)
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.unix_path and os.path.exists(self.unix_path):
            os.unlink(self.unix_path)

    def reset(self):
        """Forgets the connections recorded so far (the next run starts at 0)."""
        with self.lock:
            self.conns = []

    def wait_closed(self, count, timeout=60):
        """The first `count` connections, once each was closed by the peer;
        fails the calling test with what was seen if that takes too long."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                done = [c for c in self.conns if c.closed]
                if len(done) >= count:
                    return done[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(done)} of {count} milter connections closed "
                                         f"after {timeout}s: {self.conns!r}")
                self.lock.wait(min(left, 0.2))

    # ---- one connection ----
    def _accept_loop(self):
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                conn = Conn(len(self.conns))
                self.conns.append(conn)
            t = threading.Thread(target=self._serve, args=(s, conn), daemon=True)
            t.start()
            self.threads.append(t)

    @staticmethod
    def _exact(s, n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                return None if not buf else buf
            buf += chunk
        return buf

    def _read(self, s):
        hdr = self._exact(s, 4)
        if hdr is None:
            return None
        if len(hdr) < 4:
            raise ConnectionError("connection closed inside a packet header")
        n = struct.unpack(">I", hdr)[0]
        if n < 1 or n > (1 << 20):
            raise ConnectionError(f"bad packet length {n}")
        body = self._exact(s, n)
        if body is None or len(body) < n:
            raise ConnectionError("connection closed inside a packet")
        return body[:1], body[1:]

    def _optneg_reply(self, offer_protocol):
        self_protocol = self.want_protocol & offer_protocol
        data = struct.pack(">III", 6, self.actions, self_protocol)
        for stage, names in self.symlist.items():
            data += struct.pack(">I", STAGE_NUMBER[stage]) + nul(names)
        return self_protocol, data

    def _needs_reply(self, conn, c):
        if c not in NR_FLAG:
            return False  # D, A, Q, K, and O (answered separately)
        flag = NR_FLAG[c]
        if c == "U":
            return not conn.protocol & SMFIP_NR_UNKN
        return flag is None or not conn.protocol & SMFIP[flag]

    def _serve(self, s, conn):
        s.settimeout(600)  # the peer's own timeouts end a stalled session
        try:
            while True:
                pkt = self._read(s)
                if pkt is None:
                    break
                cmd, data = pkt
                ev = decode(cmd, data)
                with self.lock:
                    conn.events.append(ev)
                    self.lock.notify_all()
                c = ev[0]
                if c == "Q":
                    break
                if c != "O" and not self._needs_reply(conn, c):
                    continue
                if c in self.stall and c not in conn.stalled:
                    conn.stalled.add(c)
                    delay = self.stall[c]
                    if delay is None:
                        continue  # never answer; the peer times out
                    time.sleep(delay)
                if c == "O":
                    conn.protocol, reply = self._optneg_reply(ev[3])
                    s.sendall(packet(b"O", reply))
                elif c == "B":
                    s.sendall(packet(self.body_reply))
                elif c == "E":
                    out = b"".join(packet(k, d) for k, d in self.eom)
                    s.sendall(out + packet(self.eom_final))
                else:
                    s.sendall(packet(b"c"))
        except (ConnectionError, OSError) as e:
            conn.error = str(e)
        finally:
            s.close()
            with self.lock:
                conn.closed = True
                self.lock.notify_all()


def stage_macros(events):
    """[(stage letter, (names...))] of the 'D' packets, in order."""
    return [(e[1], tuple(n for n, _ in e[2])) for e in events if e[0] == "D"]


def macro_values(events):
    """{(stage, name): [values in order]} of every 'D' packet."""
    out = {}
    for e in events:
        if e[0] == "D":
            for n, v in e[2]:
                out.setdefault((e[1], n), []).append(v)
    return out
