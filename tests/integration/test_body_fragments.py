# test_body_fragments.py: signetd hashes the data of a BODY packet as it
# arrives, straight from its read buffer (daemon/milter.h, fragment mode), so
# a BODY packet sent in pieces is seen in pieces. These tests drive the real
# daemon over a unix socket with BODY packets cut at awkward places (inside
# the length field, right after the command byte, mid-line, one byte before
# the end) with pauses between the pieces, and check what the MTA sees: one
# reply per BODY packet, after its last byte (none under NR_BODY), a
# signature that verifies over the whole body, a hang-up inside a BODY
# packet, and an oversized BODY refused. The client here is an MTA stand-in
# for the milter wire only; the signature is checked with `signet verify`.
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

import harness
from test_milter_wire import Milter, assemble, nul, packet

SMFIP_NR_BODY = 0x80000
SMFIP_HDR_LEADSPC = 0x100000
POSTFIX_OFFER = (6, 0x1FF, 0x1FFFFF)  # MILTER-GEN-01: NR_BODY offered
SENDMAIL_LIKE_OFFER = (6, 0x1FF, 0x1FFFFF & ~SMFIP_NR_BODY)  # the MTA wants a reply per BODY
HEADERS = [("From", "Joe <joe@example.com>"), ("To", "sue@example.net"),
           ("Subject", "body fragments"), ("Date", "Tue, 24 Nov 2026 10:00:00 +0000")]
LINE = b"The quick brown fox jumps over the lazy dog; fragments 0123456789\r\n"
BODY = LINE * 2500 + b"\r\n\r\nlast line, no paragraph after it\r\n"  # ~170 KB: 3 BODY packets


class Mta(Milter):
    """test_milter_wire's MTA side on a unix socket, with the BODY-piece steps."""

    def __init__(self, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        super().__init__(s)

    def close(self):
        self.s.close()

    def quiet(self, wait=0.1):
        """True if nothing is there to read within wait seconds. Only ever
        used to assert that nothing came: a slow machine can make it miss a
        stray reply (the count at EOM still catches extra ones), never fail
        a correct daemon."""
        self.s.settimeout(wait)
        try:
            self.s.recv(1, socket.MSG_PEEK)  # a byte, or b"" for a close: not quiet
            return False
        except socket.timeout:
            return True
        finally:
            self.s.settimeout(10)

    def start(self, offer):
        self.s.sendall(packet(b"O", struct.pack(">III", *offer)))
        cmd, data = self.read()
        assert cmd == b"O", cmd
        self.protocol = struct.unpack(">III", data[:12])[2]
        # A local sender (port 0): signetd signs (MILTER-PFX-01). NR_CONN,
        # NR_MAIL, NR_HDR, NR_EOH come back from both offers.
        self.s.sendall(packet(b"D", b"C" + nul("j", "mx.frag.test")))
        self.s.sendall(packet(b"C", nul("localhost") + b"4" + struct.pack(">H", 0)
                              + nul("127.0.0.1")))
        self.s.sendall(packet(b"D", b"M" + nul("i", "QFRAG")))
        self.s.sendall(packet(b"M", nul("<joe@example.com>")))
        lead = self.protocol & SMFIP_HDR_LEADSPC
        for name, value in HEADERS:
            self.s.sendall(packet(b"L", nul(name, (" " + value) if lead else value)))
        self.s.sendall(packet(b"N"))

    def eom(self):
        """EOM; the header edits before the final reply, and that reply."""
        self.s.sendall(packet(b"D", b"E" + nul("i", "QFRAG")) + packet(b"E"))
        mods = []
        while True:
            cmd, data = self.read()
            if cmd in (b"c", b"a", b"t", b"r", b"y", b"d"):
                return mods, cmd
            mods.append((cmd, data))


def pieces(pk):
    """Cut points: inside the length field, after it, after the command
    byte, a few bytes in, mid-data, one byte before the end."""
    cuts = sorted({c for c in (2, 4, 5, 9, len(pk) // 2, len(pk) - 1) if 0 < c < len(pk)})
    return [pk[a:b] for a, b in zip([0] + cuts, cuts + [len(pk)])]


def message(mods, body):
    return assemble(mods, headers=HEADERS, body=body)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    signet, signetd = harness.signet_path(), harness.signetd_path()
    if harness.missing_tools(signet, signetd):
        pytest.skip(f"signet or signetd not built: {harness.missing_tools(signet, signetd)}")
    d = tmp_path_factory.mktemp("frag")
    key = d / "rsa.key"
    r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", "frag", "-k", str(key),
                        "--format", "txt"], capture_output=True, text=True, check=True)
    keys = d / "keys.txt"
    keys.write_text(f"frag._domainkey.example.com {r.stdout.strip()}\n")
    sock, conf, log = d / "signetd.sock", d / "signetd.conf", d / "signetd.log"
    conf.write_text(
        f'socket = "unix:{sock}";\nauthserv_id = "mx.frag.test";\n'
        'local_addrs = ["127.0.0.1/32"];\n'
        'log { target = "stderr"; }\ndns { forwarders = ["127.0.0.1@9"]; timeout = 1s; }\n'
        'dkim_signing { domain { example.com { selector = "frag"; '
        f'path = "{key}"; }} }} }}\n')
    proc = subprocess.Popen([str(signetd), "-f", "-c", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 10
    while not sock.exists():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"signetd did not listen:\n{log.read_text()}"
        time.sleep(0.05)
    yield {"path": sock, "proc": proc, "log": log, "signet": signet, "keys": keys}
    proc.terminate()
    rc = proc.wait(timeout=15)
    text = log.read_text(errors="replace")
    for mark in harness.SANITIZER_MARKS:
        assert mark not in text, text[-4000:]
    assert rc == 0, f"signetd exited {rc}\n{text[-2000:]}"


def verify(daemon, msg):
    r = subprocess.run([str(daemon["signet"]), "verify", "--keys", str(daemon["keys"]), "--json"],
                       input=msg, capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode()


def send_body(m, body, expect_reply):
    """BODY packets of up to 65535 bytes, each in pieces with pauses; a
    reply is read after each packet's last byte when one is due."""
    npk = 0
    for off in range(0, len(body), 65535):
        parts = pieces(packet(b"B", body[off:off + 65535]))
        for k, part in enumerate(parts):
            m.s.sendall(part)
            if k < len(parts) - 1:
                assert m.quiet(), "a reply came before the BODY packet's last byte"
        npk += 1
        if expect_reply:
            cmd, _ = m.read()
            assert cmd == b"c", cmd
    return npk


@pytest.mark.parametrize("offer", [SENDMAIL_LIKE_OFFER, POSTFIX_OFFER],
                         ids=["reply_per_body", "nr_body"])
def test_MILTER_CONV_04_MILTER_CONV_08_body_packets_in_pieces(daemon, offer):
    """MILTER-CONV-08 (chunk borders are arbitrary) on the wire: BODY packets
    arriving in pieces sign the same body as whole ones (the signature
    verifies). MILTER-CONV-04: without NR_BODY exactly one CONTINUE per BODY
    packet, after its last byte; with NR_BODY none at all. Either way the
    first reply after EOM is the DKIM-Signature insert, so no stray reply is
    left over."""
    m = Mta(daemon["path"])
    m.start(offer)
    nr_body = bool(m.protocol & SMFIP_NR_BODY)
    assert nr_body == bool(offer[2] & SMFIP_NR_BODY)
    assert send_body(m, BODY, expect_reply=not nr_body) == 3
    assert m.quiet(), "a reply nobody asked for"
    mods, verdict = m.eom()
    assert verdict == b"c"
    assert [c for c, _ in mods] == [b"i"], mods
    assert mods[0][1][4:].startswith(b"DKIM-Signature\0")
    rc, out = verify(daemon, message(mods, BODY))
    assert rc == 0 and '"result":"pass"' in out.replace(" ", ""), out
    # A second message on the same connection: a 1-byte BODY, a BODY
    # without data, then the CRLF.
    m.s.sendall(packet(b"D", b"M" + nul("i", "QFRAG2")) + packet(b"M", nul("<joe@example.com>")))
    lead = m.protocol & SMFIP_HDR_LEADSPC
    for name, value in HEADERS:
        m.s.sendall(packet(b"L", nul(name, (" " + value) if lead else value)))
    m.s.sendall(packet(b"N"))
    for data in (b"x", b"", b"\r\n"):
        parts = pieces(packet(b"B", data))
        for k, part in enumerate(parts):
            m.s.sendall(part)
            if k < len(parts) - 1:
                assert m.quiet(), "a reply came before the BODY packet's last byte"
        if not nr_body:
            assert m.read()[0] == b"c"
    mods, verdict = m.eom()
    assert verdict == b"c" and [c for c, _ in mods] == [b"i"], mods
    rc, out = verify(daemon, message(mods, b"x\r\n"))
    assert rc == 0 and '"result":"pass"' in out.replace(" ", ""), out
    m.close()


def test_MILTER_ERR_03_hang_up_inside_a_body_packet(daemon):
    """MILTER-ERR-03 "mid-packet and mid-body": the MTA hangs up inside a
    BODY packet whose first part was already hashed, and another sends a
    BODY longer than the packet bound (MILTER-WIRE-02): the first is logged
    as a message cut short, the second as a protocol error and closed;
    signetd stays up and the next connection signs."""
    m = Mta(daemon["path"])
    m.start(POSTFIX_OFFER)
    pk = packet(b"B", LINE * 200)
    m.s.sendall(pk[:5000])
    time.sleep(0.2)
    m.close()
    m = Mta(daemon["path"])
    m.start(POSTFIX_OFFER)
    m.s.sendall(struct.pack(">I", 65535 + 1024 + 2) + b"B" + LINE)
    m.s.settimeout(10)
    try:
        assert m.s.recv(1) == b"", "signetd must close after an oversized BODY"
    except ConnectionResetError:
        pass
    m.close()
    m = Mta(daemon["path"])
    m.start(POSTFIX_OFFER)
    send_body(m, BODY, expect_reply=not (m.protocol & SMFIP_NR_BODY))
    mods, verdict = m.eom()
    assert verdict == b"c" and [c for c, _ in mods] == [b"i"], mods
    assert verify(daemon, message(mods, BODY))[0] == 0
    m.close()
    assert daemon["proc"].poll() is None
    log = Path(daemon["log"]).read_text()
    assert "QFRAG: the MTA closed the connection mid-message" in log, log[-2000:]
    assert "milter packet of 66560 data bytes exceeds the limit of 66559" in log, log[-2000:]
