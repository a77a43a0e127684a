# test_nsupdate.py: `signet rotate --nsupdate SERVER --tsig FILE` (issue #17):
# the new selector's record published by RFC 2136 dynamic update signed with
# TSIG (RFC 8945), against a real Knot DNS (knotd) on 127.0.0.1 and a free
# high port with its own config, storage and run directories. The record
# DNS then serves is the new key's (signet dnscheck -k), the rotation stays
# pending for signetd; a wrong secret, an unknown key, a key no ACL allows,
# a REFUSED or unsigned answer, a server that is down or silent each give a
# clear error, exit 4 and a pending rotation; a malformed or world-readable
# TSIG file is refused (file:line) before anything is made; `--status
# --nsupdate` publishes the revoked record of retired selectors.
# Environment: SIGNET_BIN.
import base64
import os
import re
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

KNOTD = "/usr/sbin/knotd"
KEYMGR = "/usr/sbin/keymgr"
KDIG = "/usr/bin/kdig"
ZONE = "example.test"
EXIT_UNPUBLISHED = 4     # rotate: rotation recorded, DNS update failed (doc/signet.1)
NSUPDATE_TIMEOUT_S = 5   # cli/nsupdate.h
NSUPDATE_MAX_TTL = 2 * 86400
NSUPDATE_MAX_TSIG_FILE = 64 * 1024
RETIRE_AFTER = 60        # rotation.retire_after of the test config


def secret(n):
    return base64.b64encode(os.urandom(n)).decode()


def bind_key(name, alg, sec):
    """As tsig-keygen writes it, with the comments BIND allows."""
    return (f'# made for test_nsupdate.py\nkey "{name}" {{\n\talgorithm {alg};\n'
            f'\t// the shared secret\n\tsecret "{sec}"; /* base64 */\n}};\n')


def knot_key(name, alg, sec):
    return f"key:\n  - id: {name}\n    algorithm: {alg}\n    secret: {sec}\n"


class Knot:
    """knotd -c CONF in the foreground on 127.0.0.1:port, zone example.test
    (and the records `extra`), updates allowed for the keys `allowed`."""

    def __init__(self, tmp, keys, allowed, extra):
        self.dir = tmp / "knot"
        self.dir.mkdir()
        (self.dir / "run").mkdir()
        (self.dir / "storage").mkdir()
        self.port = harness.free_port()
        self.keys, self.allowed, self.extra = keys, allowed, extra
        self.proc = None

    def config(self):
        d = self.dir
        keys = "".join(f"  - id: {k}\n    algorithm: {a}\n    secret: {s}\n"
                       for k, (a, s) in self.keys.items())
        return (f"server:\n    listen: 127.0.0.1@{self.port}\n    rundir: {d}/run\n"
                f"database:\n    storage: {d}/storage\n"
                f"log:\n  - target: {d}/knot.log\n    any: info\n"
                f"key:\n{keys}"
                f"acl:\n  - id: signet-update\n    key: [{', '.join(self.allowed)}]\n"
                f"    action: update\n"
                f"template:\n  - id: default\n    storage: {d}/storage\n"
                f"    zonefile-sync: -1\n    journal-content: changes\n"
                f"zone:\n  - domain: {ZONE}\n    acl: signet-update\n")

    def start(self, timeout=10):
        (self.dir / "knot.conf").write_text(self.config())
        zone = (f"$ORIGIN {ZONE}.\n$TTL 60\n"
                f"@ SOA ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60\n"
                f"@ NS ns\nns A 127.0.0.1\n" + "".join(
                    f"{name} TXT {harness.unbound_txt(value)}\n"
                    for name, value in self.extra.items()))
        (self.dir / "storage" / f"{ZONE}.zone").write_text(zone)
        self.out = open(self.dir / "knotd.out", "wb")
        self.proc = subprocess.Popen([KNOTD, "-c", str(self.dir / "knot.conf")],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"knotd exited {self.proc.returncode}:\n{self.logs()}")
            try:
                if harness.dns_query("127.0.0.1", self.port, ZONE, qtype=6,
                                     timeout=0.3).rcode == 0:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"knotd not ready after {timeout} s:\n{self.logs()}")

    def logs(self):
        text = ""
        for f in ("knotd.out", "knot.log"):
            p = self.dir / f
            if p.exists():
                text += p.read_text(errors="replace")
        return text[-4000:]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.out.close()

    def txt(self, name):
        """[(ttl, [string, ...]), ...] of the TXT RRset at name, over TCP."""
        r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(self.port), "+tcp", "+noall",
                            "+answer", "TXT", name], capture_output=True, text=True, timeout=10)
        rows = []
        for line in r.stdout.splitlines():
            f = line.split(None, 4)
            if len(f) == 5 and f[3] == "TXT":
                rows.append((int(f[1]), re.findall(r'"((?:[^"\\]|\\.)*)"', f[4])))
        return rows


class World:
    pass


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    missing = harness.missing_tools(KNOTD, KDIG)
    if missing:
        pytest.skip(f"Knot DNS tools missing ({', '.join(missing)}): apt-get install knot "
                    "knot-dnsutils (scripts/deps.sh)")
    if not harness.executable(harness.signet_path()):
        pytest.skip(f"{harness.signet_path()} not built")
    w = World()
    w.tmp = tmp_path_factory.mktemp("nsupdate")
    w.keys_dir = w.tmp / "keys"
    w.keys_dir.mkdir()
    w.conf = w.tmp / "signetd.conf"
    w.conf.write_text(f"rotation {{ retire_after = {RETIRE_AFTER}s; }}\n")
    # the main key as Knot's keymgr writes it (a comment line, then YAML)
    if harness.executable(KEYMGR):
        out = subprocess.run([KEYMGR, "-t", "signet-key", "hmac-sha256"], capture_output=True,
                             text=True, check=True, timeout=30).stdout
    else:
        out = knot_key("signet-key", "hmac-sha256", secret(32))
    w.tsig = w.tmp / "signet-key.yaml"
    w.tsig.write_text(out)
    w.tsig.chmod(0o600)
    sec = re.search(r"secret: (\S+)", out).group(1)
    w.bind_secret = secret(64)
    keys = {"signet-key": ("hmac-sha256", sec),
            "bind-key": ("hmac-sha512", w.bind_secret),
            "k384": ("hmac-sha384", secret(48)),
            "denied-key": ("hmac-sha256", secret(32))}
    w.keysecrets = keys
    # retired / retiring selectors of the --status test, published as they were
    w.old = {}
    extra = {}
    for dom, sel in (("example.test", "old1"), ("mail.example.test", "old2"),
                     ("mail.example.test", "young")):
        k = w.keys_dir / f"{dom}.{sel}.key"
        r = subprocess.run([str(harness.signet_path()), "keygen", "-d", dom, "-s", sel, "-t",
                            "ed25519", "-k", str(k), "--format", "txt"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        w.old[(dom, sel)] = (k, r.stdout.strip())
        extra[f"{sel}._domainkey.{dom}."] = r.stdout.strip()
    w.knot = Knot(w.tmp, keys, ["signet-key", "bind-key", "k384"], extra)
    w.server = None
    try:
        w.knot.start()
        w.server = f"127.0.0.1:{w.knot.port}"
        yield w
    finally:
        w.knot.stop()


_n = [0]


def fresh(w, tag):
    """A state file and a selector no other test uses."""
    _n[0] += 1
    return w.tmp / f"{tag}{_n[0]}.state", f"{tag}{_n[0]}"


def rotate(signet, w, state, sel, *extra, domain=ZONE, type_="ed25519", timeout=30):
    return signet.run("rotate", "-d", domain, "-t", type_, "-c", w.conf, "--keys-dir", w.keys_dir,
                      "--state", state, "--selector", sel, *extra, timeout=timeout)


def states(path):
    rows = {}
    for ln in path.read_text().splitlines():
        if ln and not ln.startswith("#"):
            f = ln.split(" ")
            rows[(f[0], f[1])] = f[2]
    return rows


def printed_value(r):
    return re.search(r"value: (v=DKIM1;.*)", r.text).group(1)


def assert_pending_unpublished(w, r, state, sel, domain=ZONE):
    """Exit 4, the key kept, the rotation still pending, no record in DNS."""
    assert r.rc == EXIT_UNPUBLISHED, r
    assert states(state)[(domain, sel)] == "pending", state.read_text()
    assert (w.keys_dir / f"{domain}.{sel}.key").exists()
    assert printed_value(r)  # the record to publish by hand is still printed
    assert w.knot.txt(f"{sel}._domainkey.{domain}") == []


def test_nsupdate_publishes_the_new_record(signet, world):
    """The record DNS serves after the update is the new key's, with the
    default TTL; the rotation stays pending (signetd advances it)."""
    w = world
    state, sel = fresh(w, "pub")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", w.tsig)
    assert r.rc == 0, r
    assert f"published by dynamic update to {w.server}" in r.text, r
    value = printed_value(r)
    assert w.knot.txt(f"{sel}._domainkey.{ZONE}") == [(3600, [value])]
    chk = signet.run("dnscheck", "-d", ZONE, "-s", sel, "-k", w.keys_dir / f"{ZONE}.{sel}.key",
                     "--server", f"127.0.0.1@{w.knot.port}")
    assert chk.rc == 0 and "matches the private key" in chk.text, chk
    assert states(state)[(ZONE, sel)] == "pending"
    assert "DDNS" in w.knot.logs()


def test_nsupdate_rsa_record_in_255_byte_strings_and_ttl_at_limit(signet, world):
    """RFC 6376 3.6.2.2: a record over 255 bytes goes as several
    character-strings; --ttl at NSUPDATE_MAX_TTL is accepted (one over is
    refused: test_nsupdate_options)."""
    w = world
    state, sel = fresh(w, "rsa")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", w.tsig,
               "--ttl", NSUPDATE_MAX_TTL, "--zone", ZONE, type_="rsa", timeout=60)
    assert r.rc == 0, r
    rows = w.knot.txt(f"{sel}._domainkey.{ZONE}")
    assert len(rows) == 1 and rows[0][0] == NSUPDATE_MAX_TTL, rows
    strings = rows[0][1]
    assert [len(s) for s in strings[:-1]] == [255] * (len(strings) - 1) and len(strings) >= 2
    assert "".join(strings) == printed_value(r)
    chk = signet.run("dnscheck", "-d", ZONE, "-s", sel, "-k", w.keys_dir / f"{ZONE}.{sel}.key",
                     "--server", f"127.0.0.1@{w.knot.port}")
    assert chk.rc == 0 and "matches the private key" in chk.text, chk


def test_nsupdate_bind_key_file_hmac_sha512(signet, world):
    """BIND's key statement (tsig-keygen), with comments, hmac-sha512."""
    w = world
    f = w.tmp / "bind.key"
    f.write_text(bind_key("bind-key", "hmac-sha512", w.bind_secret))
    f.chmod(0o640)  # root:bind 0640 is BIND's layout: the group may read it
    state, sel = fresh(w, "bind")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", f)
    assert r.rc == 0, r
    assert w.knot.txt(f"{sel}._domainkey.{ZONE}") == [(3600, [printed_value(r)])]


def test_nsupdate_hmac_sha384(signet, world):
    """hmac-sha384 publishes, or (ldns 1.8.3 misspells its name,
    NLnetLabs/ldns#306) is refused with why before anything is made."""
    w = world
    a, s = w.keysecrets["k384"]
    f = w.tmp / "k384.yaml"
    f.write_text(knot_key("k384", a, s))
    f.chmod(0o600)
    state, sel = fresh(w, "sha384x")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", f)
    if r.rc == 0:
        assert w.knot.txt(f"{sel}._domainkey.{ZONE}") == [(3600, [printed_value(r)])]
    else:
        assert r.rc == 1, r
        assert f"{f}:3: this system's ldns" in r.err and "cannot sign with hmac-sha384" in r.err, r
        assert not state.exists() and not (w.keys_dir / f"{ZONE}.{sel}.key").exists()


def test_nsupdate_wrong_secret_is_badsig(signet, world):
    w = world
    f = w.tmp / "wrong-secret.yaml"
    f.write_text(knot_key("signet-key", "hmac-sha256", secret(32)))
    f.chmod(0o600)
    state, sel = fresh(w, "badsig")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", f)
    assert "NOTAUTH, TSIG error BADSIG" in r.err and "the secret differs" in r.err, r
    assert_pending_unpublished(w, r, state, sel)


def test_nsupdate_unknown_key_is_badkey(signet, world):
    w = world
    f = w.tmp / "unknown.key"
    f.write_text(bind_key("nobody-knows-me", "hmac-sha256", secret(32)))
    f.chmod(0o600)
    state, sel = fresh(w, "badkey")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", f)
    assert "with key nobody-knows-me: NOTAUTH, TSIG error BADKEY" in r.err, r
    assert "does not know this key" in r.err, r
    assert_pending_unpublished(w, r, state, sel)


def test_nsupdate_key_no_acl_allows(signet, world):
    """A key Knot knows but no acl of the zone allows: Knot answers NOTAUTH
    with BADKEY; the message says to allow the key updates of the zone."""
    w = world
    a, s = w.keysecrets["denied-key"]
    f = w.tmp / "denied.yaml"
    f.write_text(knot_key("denied-key", a, s))
    f.chmod(0o600)
    state, sel = fresh(w, "acl")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", f)
    assert "with key denied-key: NOTAUTH, TSIG error BADKEY" in r.err, r
    assert "no rule lets this key update this zone" in r.err, r
    assert_pending_unpublished(w, r, state, sel)


def test_nsupdate_not_authoritative_zone(signet, world):
    """--zone naming a zone the server does not serve: NOTAUTH, no TSIG error."""
    w = world
    state, sel = fresh(w, "notauth")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", w.tsig,
               "--zone", "other.test")
    assert "in zone other.test. at" in r.err and ": NOTAUTH: the server is not authoritative" \
        in r.err, r
    assert_pending_unpublished(w, r, state, sel)


def test_nsupdate_zone_not_served_by_server(signet, world):
    """Finding the zone of a domain the server does not serve (REFUSED to
    the SOA query) names the RCODE and says to give --zone."""
    w = world
    state, sel = fresh(w, "nozone")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", w.tsig,
               domain="other.test")
    assert r.rc == EXIT_UNPUBLISHED, r
    assert "answered the SOA query with REFUSED" in r.err and "give --zone" in r.err, r
    assert states(state)[("other.test", sel)] == "pending"


def bogus_tsig(key_name, qid):
    """A TSIG RR (RFC 8945 4.2) for key_name with hmac-sha256 and a random
    MAC: well formed, but no MAC the real key gives."""
    mac = os.urandom(32)
    rdata = (harness.encode_name("hmac-sha256") + struct.pack(">HI", 0, int(time.time())) +
             struct.pack(">HH", 300, len(mac)) + mac + struct.pack(">HHH", qid, 0, 0))
    return harness.encode_name(key_name) + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata


class FakeDns(threading.Thread):
    """Answers every DNS message over TCP with rcode, unsigned (no TSIG) or
    with a TSIG for key_name whose MAC is wrong."""

    def __init__(self, rcode, key_name=None, soa_zone=None, aa=True):
        super().__init__(daemon=True)
        self.rcode = rcode
        self.key_name = key_name
        self.soa_zone, self.aa = soa_zone, aa  # SOA queries (opcode 0): see soa_reply
        self.questions = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.seen = 0

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(5)
                try:
                    n = struct.unpack(">H", c.recv(2))[0]
                    msg = b""
                    while len(msg) < n:
                        msg += c.recv(n - len(msg))
                    opcode = (msg[2] >> 3) & 0xF
                    if opcode == 0:
                        reply = self.soa_reply(msg)
                        c.sendall(struct.pack(">H", len(reply)) + reply)
                        continue
                    self.seen += 1
                    flags = 0x8000 | (opcode << 11) | self.rcode
                    if self.key_name:
                        qid = struct.unpack(">H", msg[:2])[0]
                        reply = msg[:2] + struct.pack(">HHHHH", flags, 0, 0, 0, 1) + \
                            bogus_tsig(self.key_name, qid)
                    else:
                        reply = msg[:2] + struct.pack(">HHHHH", flags, 0, 0, 0, 0)
                    c.sendall(struct.pack(">H", len(reply)) + reply)
                except (OSError, struct.error):
                    pass

    def soa_reply(self, msg):
        """NOERROR: the SOA of soa_zone in the answer when asked for it, else
        nothing (a minimal-responses server); AA unless aa is False (a
        referral-like answer)."""
        end = harness.skip_name(msg, 12)
        labels, off = [], 12
        while msg[off]:
            labels.append(msg[off + 1:off + 1 + msg[off]].decode())
            off += 1 + msg[off]
        qname = ".".join(labels)
        self.questions.append(qname)
        question = msg[12:end + 4]
        an = b""
        if self.soa_zone and qname.lower() == self.soa_zone:
            rdata = (harness.encode_name("ns." + self.soa_zone) +
                     harness.encode_name("hostmaster." + self.soa_zone) +
                     struct.pack(">IIIII", 1, 3600, 600, 86400, 60))
            an = b"\xc0\x0c" + struct.pack(">HHIH", 6, 1, 60, len(rdata)) + rdata
        flags = 0x8000 | (0x0400 if self.aa else 0)
        return msg[:2] + struct.pack(">HHHHH", flags, 1, 1 if an else 0, 0, 0) + question + an

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("rcode,name,fix", [
    (5, "REFUSED", "the server's policy refuses it"),
    (4, "NOTIMP", "the server does not accept dynamic updates"),
    (10, "NOTZONE", "the name is not inside the zone"),
])
def test_nsupdate_rcode_named_with_fix(signet, world, rcode, name, fix):
    w = world
    fake = FakeDns(rcode)
    fake.start()
    try:
        state, sel = fresh(w, "rcode")
        r = rotate(signet, w, state, sel, "--nsupdate", f"127.0.0.1:{fake.port}",
                   "--tsig", w.tsig, "--zone", ZONE)
    finally:
        fake.close()
    assert f": {name}: {fix}" in r.err, r
    assert fake.seen == 1
    assert_pending_unpublished(w, r, state, sel)


@pytest.mark.parametrize("key_name", [None, "signet-key"], ids=["no-tsig", "wrong-mac"])
def test_nsupdate_unverified_noerror_is_not_trusted(signet, world, key_name):
    """RFC 8945 5.3: a NOERROR answer whose TSIG does not verify (none, or a
    MAC the key does not give: ldns_pkt_tsig_verify) may not come from the
    server: reported, exit 4."""
    w = world
    fake = FakeDns(0, key_name)
    fake.start()
    try:
        state, sel = fresh(w, "unsigned")
        r = rotate(signet, w, state, sel, "--nsupdate", f"127.0.0.1:{fake.port}",
                   "--tsig", w.tsig, "--zone", ZONE)
    finally:
        fake.close()
    assert "the answer says NOERROR but its TSIG does not verify with key signet-key" in r.err, r
    assert_pending_unpublished(w, r, state, sel)


@pytest.mark.parametrize("soa_zone,aa", [(ZONE, True), (None, True), (ZONE, False)],
                         ids=["walk-up", "no-soa", "not-authoritative"])
def test_nsupdate_zone_found_by_walking_up(signet, world, soa_zone, aa):
    """A server that names no SOA in the authority section: the SOA query
    walks up a label at a time until the zone's apex answers (the update
    then goes to that zone); no SOA up to the root, or answers without AA,
    are named with --zone as the fix. (The update's answer is unsigned:
    exit 4 in every case.)"""
    w = world
    fake = FakeDns(0, soa_zone=soa_zone, aa=aa)
    fake.start()
    try:
        state, sel = fresh(w, "walk")
        r = rotate(signet, w, state, sel, "--nsupdate", f"127.0.0.1:{fake.port}",
                   "--tsig", w.tsig)
    finally:
        fake.close()
    assert r.rc == EXIT_UNPUBLISHED, r
    owner = f"{sel}._domainkey.{ZONE}"
    if soa_zone and aa:
        assert fake.questions == [owner, f"_domainkey.{ZONE}", ZONE], fake.questions
        assert f"updating {owner}. in zone {ZONE}. at" in r.err and "does not verify" in r.err, r
        assert fake.seen == 1
    elif aa:
        assert fake.questions == [owner, f"_domainkey.{ZONE}", ZONE, "test"], fake.questions
        assert "names no SOA for it or any name above; give --zone ZONE" in r.err, r
        assert fake.seen == 0
    else:
        assert fake.questions == [owner], fake.questions
        assert "is not authoritative for it" in r.err, r
        assert fake.seen == 0


def test_nsupdate_server_not_listening(signet, world):
    w = world
    port = harness.free_port()
    state, sel = fresh(w, "down")
    t = time.monotonic()
    r = rotate(signet, w, state, sel, "--nsupdate", f"127.0.0.1:{port}", "--tsig", w.tsig)
    took = time.monotonic() - t
    assert f"cannot reach 127.0.0.1:{port} over TCP" in r.err, r
    assert took < NSUPDATE_TIMEOUT_S, took
    assert_pending_unpublished(w, r, state, sel)


@pytest.mark.parametrize("zone", [None, ZONE])
def test_nsupdate_silent_server_times_out(signet, world, zone):
    """A server that accepts the connection and never answers: the SOA
    query (no --zone) or the update (--zone) gives up after
    NSUPDATE_TIMEOUT_S, measured under timeout + 1 s."""
    w = world
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)  # never accepted: the kernel completes the handshake
    port = s.getsockname()[1]
    try:
        state, sel = fresh(w, "silent")
        extra = ["--zone", zone] if zone else []
        t = time.monotonic()
        r = rotate(signet, w, state, sel, "--nsupdate", f"127.0.0.1:{port}", "--tsig", w.tsig,
                   *extra)
        took = time.monotonic() - t
    finally:
        s.close()
    what = "updating" if zone else "finding the zone of"
    assert f"{what} {sel}._domainkey.{ZONE}.: no answer from 127.0.0.1:{port} within " \
        f"NSUPDATE_TIMEOUT_S ({NSUPDATE_TIMEOUT_S} s)" in r.err, r
    assert NSUPDATE_TIMEOUT_S - 0.5 <= took < NSUPDATE_TIMEOUT_S + 1, took
    assert_pending_unpublished(w, r, state, sel)


MALFORMED = [
    ("bind-no-semicolon", 'key "k" {\n\talgorithm hmac-sha256\n\tsecret "AAAA";\n};\n',
     3, "expected ';' after the value"),
    ("bind-unterminated", 'key "k" {\n\talgorithm hmac-sha256;\n\tsecret "AAAA;\n};\n',
     3, "unterminated string"),
    ("bind-no-secret", 'key "k" {\n\talgorithm hmac-sha256;\n};\n', 1, "key k has no secret"),
    ("bind-no-algorithm", 'key "k" {\n\tsecret "AAAA";\n};\n', 1, "key k has no algorithm"),
    ("bind-md5", 'key "k" {\n\talgorithm hmac-md5;\n\tsecret "AAAA";\n};\n', 2,
     "algorithm hmac-md5 is refused: RFC 8945 6"),
    ("bind-sha1", 'key "k" {\n\talgorithm hmac-sha1;\n\tsecret "AAAA";\n};\n', 2,
     "algorithm hmac-sha1 is refused: RFC 8945 6"),
    ("bind-sha224", 'key "k" {\n\talgorithm hmac-sha224;\n\tsecret "AAAA";\n};\n', 2,
     "'hmac-sha224' is not supported"),
    ("bind-bad-base64", 'key "k" {\n\talgorithm hmac-sha256;\n\tsecret "no*base64";\n};\n',
     3, "the secret is not base64"),
    ("bind-two-keys", 'key "a" {\n\talgorithm hmac-sha256;\n\tsecret "AAAA";\n};\n'
     'key "b" {\n};\n', 5, "a second key statement"),
    ("bind-twice", 'key "k" {\n\talgorithm hmac-sha256;\n\tsecret "AAAA";\n\tsecret "AAAA";\n'
     '};\n', 4, "secret given twice (first on line 3)"),
    ("bind-unknown-clause", 'key "k" {\n\talgorithm hmac-sha256;\n\tsecrets "AAAA";\n};\n',
     3, "unknown clause 'secrets'"),
    ("bind-long-secret", 'key "k" {\n\talgorithm hmac-sha256;\n\tsecret "' + "A" * 173 + '";\n};\n',
     3, "secret is longer than 172 characters"),
    ("bind-empty-name", 'key "" {\n\talgorithm hmac-sha256;\n\tsecret "AAAA";\n};\n', 1,
     "the key name is empty"),
    ("empty", "", 1, "expected 'key \"NAME\" {'"),
    ("garbage", "\n\nhello world\n", 3, "expected 'key \"NAME\" {'"),
    ("knot-unknown-option", "key:\n  - id: k\n    algorithm: hmac-sha256\n    secrett: AAAA\n",
     4, "unknown key option 'secrett'"),
    ("knot-no-id", "key:\n    algorithm: hmac-sha256\n", 2, "a key entry starts with '- id: NAME'"),
    ("knot-two-keys", "key:\n  - id: a\n    algorithm: hmac-sha256\n    secret: AAAA\n"
     "  - id: b\n", 5, "a second key (first on line 2)"),
    ("knot-other-section", "key:\n  - id: a\n    algorithm: hmac-sha256\n    secret: AAAA\n"
     "acl:\n", 5, "expected 'key:' entries only"),
    ("knot-bad-name", "key:\n  - id: a..b\n    algorithm: hmac-sha256\n    secret: AAAA\n",
     2, "'a..b' is not a valid key name"),
]


@pytest.mark.parametrize("name,text,line,why", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_nsupdate_malformed_tsig_file(signet, world, name, text, line, why):
    """Each malformed key file: a clear error naming file:line, exit 1,
    before any key or state is made."""
    w = world
    f = w.tmp / f"malformed-{name}"
    f.write_text(text)
    f.chmod(0o600)
    state, sel = fresh(w, "bad")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", f)
    assert r.rc == 1, r
    assert f"TSIG key file {f}:{line}: " in r.err and why in r.err, r
    assert not state.exists() and not (w.keys_dir / f"{ZONE}.{sel}.key").exists()


def test_nsupdate_tsig_file_nul_byte(signet, world):
    w = world
    f = w.tmp / "nul.key"
    f.write_bytes(b'key "k" {\n\talgorithm hmac-sha256;\0\n};\n')
    f.chmod(0o600)
    state, sel = fresh(w, "nul")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", f)
    assert r.rc == 1 and "contains a NUL byte" in r.err, r


def test_nsupdate_tsig_file_size_limit(signet, world):
    """NSUPDATE_MAX_TSIG_FILE: a key file of exactly that size is read (the
    update then fails on a closed port: exit 4), one byte more is refused."""
    w = world
    body = bind_key("signet-key", "hmac-sha256", "AAAA")
    port = harness.free_port()
    for size, rc in ((NSUPDATE_MAX_TSIG_FILE, EXIT_UNPUBLISHED),
                     (NSUPDATE_MAX_TSIG_FILE + 1, 1)):
        f = w.tmp / f"big{size}.key"
        pad = size - len(body) - 2
        f.write_text(body + "#" + "x" * pad + "\n")
        assert f.stat().st_size == size
        f.chmod(0o600)
        state, sel = fresh(w, "big")
        r = rotate(signet, w, state, sel, "--nsupdate", f"127.0.0.1:{port}", "--tsig", f)
        assert r.rc == rc, r
        if rc == 1:
            assert "more than NSUPDATE_MAX_TSIG_FILE" in r.err, r
        else:
            assert "TSIG key file" not in r.err, r


def test_nsupdate_tsig_secret_size_limit(signet, world):
    """NSUPDATE_MAX_SECRET (128 bytes, an hmac-sha512 key is 64): at the
    limit the file is read (the update then fails on a closed port: exit 4),
    one byte more is refused with the limit's name."""
    w = world
    port = harness.free_port()
    for n, rc in ((128, EXIT_UNPUBLISHED), (129, 1)):
        f = w.tmp / f"secret{n}.key"
        f.write_text(bind_key("signet-key", "hmac-sha256", secret(n)))
        f.chmod(0o600)
        state, sel = fresh(w, "sec")
        r = rotate(signet, w, state, sel, "--nsupdate", f"127.0.0.1:{port}", "--tsig", f)
        assert r.rc == rc, r
        if rc == 1:
            assert f"{f}:5: the secret is 129 bytes, more than NSUPDATE_MAX_SECRET (128)" \
                in r.err, r
        else:
            assert "TSIG key file" not in r.err, r


def test_nsupdate_world_readable_tsig_file_refused(signet, world):
    w = world
    f = w.tmp / "open.key"
    f.write_text(bind_key("signet-key", "hmac-sha256", "AAAA"))
    for mode, word in ((0o644, "readable"), (0o602, "writable")):
        f.chmod(mode)
        state, sel = fresh(w, "mode")
        r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", f)
        assert r.rc == 1, r
        assert f"TSIG key file {f} is {word} by others (mode 0{mode:o})" in r.err, r
        assert f"chmod 600 {f}" in r.err, r
        assert not state.exists() and not (w.keys_dir / f"{ZONE}.{sel}.key").exists()


def test_nsupdate_tsig_file_not_regular(signet, world):
    w = world
    state, sel = fresh(w, "dir")
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", w.tmp)
    assert r.rc == 1 and "not a regular file" in r.err, r
    r = rotate(signet, w, state, sel, "--nsupdate", w.server, "--tsig", w.tmp / "absent")
    assert r.rc == 1 and "absent" in r.err, r


@pytest.mark.parametrize("args,rc,why", [
    (["--nsupdate", "127.0.0.1"], 64, "--nsupdate and --tsig go together"),
    (["--tsig", "/dev/null"], 64, "--nsupdate and --tsig go together"),
    (["--zone", ZONE], 64, "--zone and --ttl need --nsupdate"),
    (["--ttl", "60"], 64, "--zone and --ttl need --nsupdate"),
    (["--nsupdate", "127.0.0.1", "--tsig", "TSIG", "--ttl", "0"], 1, "--ttl 0: give seconds"),
    (["--nsupdate", "127.0.0.1", "--tsig", "TSIG", "--ttl", str(NSUPDATE_MAX_TTL + 1)], 1,
     f"1 to {NSUPDATE_MAX_TTL}"),
    (["--nsupdate", "ns.example.test", "--tsig", "TSIG"], 1, "give a numeric ADDRESS[:PORT]"),
    (["--nsupdate", "127.0.0.1:99999", "--tsig", "TSIG"], 1, "give a numeric ADDRESS[:PORT]"),
    (["--nsupdate", "", "--tsig", "TSIG"], 1, "give a numeric ADDRESS[:PORT]"),
    (["--nsupdate", "[]", "--tsig", "TSIG"], 1, "give a numeric ADDRESS[:PORT]"),
    (["--nsupdate", "[127.0.0.1]:53", "--tsig", "TSIG"], 1, "give a numeric ADDRESS[:PORT]"),
])
def test_nsupdate_options(signet, world, args, rc, why):
    w = world
    state, sel = fresh(w, "opt")
    args = [str(w.tsig) if a == "TSIG" else a for a in args]
    r = rotate(signet, w, state, sel, *args)
    assert r.rc == rc and why in r.err, r
    assert not state.exists()


def test_nsupdate_ipv6_server_form(signet, world):
    """[IPV6]:PORT is taken (nothing listens there: the error names it)."""
    w = world
    state, sel = fresh(w, "six")
    r = rotate(signet, w, state, sel, "--nsupdate", "[::1]:9", "--tsig", w.tsig, "--zone", ZONE)
    assert r.rc == EXIT_UNPUBLISHED and "cannot reach [::1]:9 over TCP" in r.err, r


def test_nsupdate_status_publishes_revoked_records(signet, world):
    """RFC 6376 3.6.1 ("An empty value means that this public key has been
    revoked"): --status --nsupdate replaces the record of every retired
    selector (retired in the state, or retiring past retire_after) with
    v=DKIM1; p=, and leaves the others; a second run does the same. The
    update replaces the RRset (RFC 2136 2.5.2): the old record is gone."""
    w = world
    now = 2_000_000_000
    state = w.tmp / "status.state"
    (k1, _), (k2, _), (k3, young_value) = (w.old[("example.test", "old1")],
                                           w.old[("mail.example.test", "old2")],
                                           w.old[("mail.example.test", "young")])
    state.write_text(
        "# signet key rotation state\n"
        f"example.test old1 retired {now - 5 * RETIRE_AFTER} 0 0 {k1}\n"
        f"mail.example.test old2 retiring {now - RETIRE_AFTER - 1} 0 0 {k2}\n"
        f"mail.example.test young retiring {now - 1} 0 0 {k3}\n")
    state.chmod(0o640)
    for _ in range(2):
        r = signet.run("rotate", "--status", "-c", w.conf, "--state", state, "--time", now,
                       "--nsupdate", w.server, "--tsig", w.tsig)
        assert r.rc == 0, r
        assert r.text.count("published the revoked record by dynamic update") == 2, r
        assert w.knot.txt("old1._domainkey.example.test") == [(3600, ["v=DKIM1; p="])]
        assert w.knot.txt("old2._domainkey.mail.example.test") == [(3600, ["v=DKIM1; p="])]
        assert w.knot.txt("young._domainkey.mail.example.test") == [(60, [young_value])]
    chk = signet.run("dnscheck", "-d", "example.test", "-s", "old1", "--server",
                     f"127.0.0.1@{w.knot.port}")
    assert "revoked" in chk.text, chk


def test_nsupdate_status_failure_exit_code(signet, world):
    """--status --nsupdate to a server that is down: the status is printed,
    the failure named, exit 4."""
    w = world
    k1 = w.old[("example.test", "old1")][0]
    state = w.tmp / "status-down.state"
    state.write_text(f"example.test old1 retired 1000 0 0 {k1}\n")
    port = harness.free_port()
    r = signet.run("rotate", "--status", "-c", w.conf, "--state", state, "--nsupdate",
                   f"127.0.0.1:{port}", "--tsig", w.tsig, "--zone", ZONE)
    assert r.rc == EXIT_UNPUBLISHED, r
    assert "example.test old1: retired" in r.text and "cannot reach" in r.err, r
