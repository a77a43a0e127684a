# test_dns_server.py: `signet verify --dns --server` and `signet dnscheck
# --server` against a real unbound, over IPv4 (127.0.0.1@PORT) and over
# IPv6 loopback in every accepted form ([::1]:PORT, [::1]@PORT, ::1@PORT):
# the key comes from that server and the message passes; malformed server
# addresses are refused with a message. The IPv6 unbound is harness.Unbound
# with its interface moved to ::1 (skipped, saying why, where this machine
# has no IPv6 loopback).
import os
import random
import socket
import struct
import subprocess
import sys
import time

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DOMAIN = "example.com"
SEL = "v6"
NAME = f"{SEL}._domainkey.{DOMAIN}"


def ipv6_loopback_problem():
    """None when UDP and TCP sockets can bind [::1]; else why not."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        try:
            with socket.socket(socket.AF_INET6, kind) as s:
                s.bind(("::1", 0))
        except OSError as e:
            return f"cannot bind [::1]: {e}"
    return None


def free_port6():
    """A port free on [::1] for both UDP and TCP."""
    for _ in range(50):
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u:
            u.bind(("::1", 0))
            port = u.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as t:
                t.bind(("::1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port on [::1]")


def answers6(port, name, timeout=0.3):
    """True when something at [::1]:port answers a TXT query for name."""
    qid = random.randrange(65536)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + harness.encode_name(name) + \
        struct.pack(">HH", 16, 1)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(pkt, ("::1", port))
        try:
            msg, _ = s.recvfrom(65535)
        except OSError:
            return False
    return len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid


class Unbound6(harness.Unbound):
    """harness.Unbound listening on [::1] only."""

    def config(self):
        text = super().config()
        for old, new in (("  interface: 127.0.0.1\n", "  interface: ::1\n"),
                         ("  do-ip6: no\n", "  do-ip6: yes\n"),
                         ("  access-control: 127.0.0.0/8 allow\n",
                          "  access-control: ::1/128 allow\n")):
            assert old in text, f"harness.Unbound config changed: {old!r} not found"
            text = text.replace(old, new)
        return text

    def start(self, timeout=10):
        self.port = free_port6()
        conf = self.dir / "unbound.conf"
        conf.write_text(self.config())
        self.stderr = open(self.dir / "unbound.stderr", "wb")
        self.proc = subprocess.Popen([harness.UNBOUND, "-d", "-c", str(conf)],
                                     stdout=self.stderr, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        harness._register(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"unbound exited ({self.proc.returncode}): {self.logs()}")
            if answers6(self.port, NAME):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"unbound did not answer on [::1]:{self.port}: {self.logs()}")


@pytest.fixture(scope="module")
def kit(signet, tmp_path_factory):
    if harness.missing_tools(harness.UNBOUND):
        pytest.skip(f"unbound missing ({harness.UNBOUND}): install it with scripts/deps.sh")
    d = tmp_path_factory.mktemp("dns-server")
    key = d / "rsa.key"
    rec = signet.keygen(key, domain=DOMAIN, selector=SEL).text.strip()
    msg = (f"From: Joe <joe@{DOMAIN}>\nTo: Sue <sue@example.net>\nSubject: over v6\n\n"
           "Hello.\n").encode()
    signed = signet.sign(msg, key, domain=DOMAIN, selector=SEL).out
    return {"key": key, "rec": rec, "signed": signed}


@pytest.fixture(scope="module")
def unbound4(kit):
    ub = harness.Unbound({DOMAIN: {NAME: [kit["rec"]]}})
    ub.start()
    yield ub
    ub.cleanup()


@pytest.fixture(scope="module")
def unbound6(kit):
    why = ipv6_loopback_problem()
    if why:
        pytest.skip(f"no IPv6 loopback on this machine ({why}); the address parser is "
                    "still covered by test_server_address_errors")
    ub = Unbound6({DOMAIN: {NAME: [kit["rec"]]}})
    ub.start()
    yield ub
    ub.cleanup()


def check_verify(signet, kit, server):
    v = signet.run("verify", "--dns", "--server", server, "--json", input=kit["signed"])
    assert v.rc == 0 and v.results() == ["pass"], v
    assert v.err == "", v


def check_dnscheck(signet, kit, server):
    r = signet.run("dnscheck", "-d", DOMAIN, "-s", SEL, "-k", kit["key"], "--server", server)
    assert r.rc == 0, r
    assert f"checking {NAME}" in r.text, r
    assert "problem:" not in r.text, r


def test_server_ipv4(signet, kit, unbound4):
    """IPv4[@PORT], as before: the key comes from that server."""
    check_verify(signet, kit, f"127.0.0.1@{unbound4.port}")
    check_dnscheck(signet, kit, f"127.0.0.1@{unbound4.port}")


@pytest.mark.parametrize("form", ["[::1]:{port}", "[::1]@{port}", "::1@{port}",
                                  "[0:0:0:0:0:0:0:1]:{port}"])
def test_server_ipv6(signet, kit, unbound6, form):
    """IPv6 in brackets with :PORT or @PORT, or bare with @PORT: verify and
    dnscheck ask unbound on [::1] (it listens nowhere else)."""
    server = form.format(port=unbound6.port)
    check_verify(signet, kit, server)
    check_dnscheck(signet, kit, server)


@pytest.mark.parametrize("server,msg", [
    ("[::1", "give IPv4[@PORT], IPv6[@PORT], [IPv6] or [IPv6]:PORT"),
    ("[::1]x53", "give IPv4[@PORT], IPv6[@PORT], [IPv6] or [IPv6]:PORT"),
    ("[]:53", "give IPv4[@PORT], IPv6[@PORT], [IPv6] or [IPv6]:PORT"),
    ("@53", "give IPv4[@PORT], IPv6[@PORT], [IPv6] or [IPv6]:PORT"),
    ("[::1]:0", "port must be a number from 1 to 65535"),
    ("[::1]:65536", "port must be a number from 1 to 65535"),
    ("::1@x", "port must be a number from 1 to 65535"),
    ("[127.0.0.1]:53", "'127.0.0.1' is not an IPv6 address"),
    ("::1:5353x", "'::1:5353x' is not an IPv4 or IPv6 address"),
    ("localhost", "'localhost' is not an IPv4 or IPv6 address"),
])
def test_server_address_errors(signet, server, msg):
    """Malformed --server values are refused before any query, naming the value."""
    v = signet.run("verify", "--dns", "--server", server, input=b"From: a@b\n\nx\n")
    assert v.rc == 4 and f"signet: --server {server}: {msg}" in v.err, v
    r = signet.run("dnscheck", "-d", DOMAIN, "-s", SEL, "--server", server)
    assert r.rc == 1 and f"signet: --server {server}: {msg}" in r.err, r
