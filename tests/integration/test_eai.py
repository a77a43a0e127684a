# test_eai.py: DKIM-EAI-04 end to end (RFC 8616 5). One configured domain,
# xn--bcher-kva.example (bücher.example), and selector: `signet sign` and
# signetd (dkim_signing.idn_labels) write d=, s= and the domain of i= as
# A-labels in an all-ASCII message and as U-labels in a message whose
# header fields already carry UTF-8; with "a-labels" always as A-labels.
# Every signature verifies with `signet verify` and with dkimpy. dkimpy is
# run with its own DNS code (dkim.dnsplug.get_txt: dnspython), pointed at a
# real unbound that serves the key at its A-label name only, so a U-label
# d= verifies only if dkimpy's side turns it into the A-label query.
import os
import socket
import subprocess
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from conftest import header_fields, sig_tags  # noqa: E402
from test_milter_wire import Milter, header_mods  # noqa: E402

dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) is not installed")
dns_resolver = pytest.importorskip("dns.resolver", reason="python3-dnspython is not installed")

ALABEL = "xn--bcher-kva.example"
ULABEL = "bücher.example"
SEL_A = "xn--schn-7qa"  # schön
SEL_U = "schön"

ASCII_MSG = (f"From: Joe <joe@{ALABEL}>\nTo: Sue <sue@example.net>\nSubject: plain\n"
             "Date: Thu, 01 Jan 2026 10:00:00 +0000\nMessage-ID: <ascii@example.net>\n"
             "\nHello.\n").encode()
# UTF-8 in header fields makes it an EAI message (RFC 6532). The From domain
# is the A-label: signetd's policy matches configured domains as written.
EAI_MSG = (f"From: Jörg <jörg@{ALABEL}>\nTo: Süe <sue@example.net>\nSubject: Grüße\n"
           "Date: Thu, 01 Jan 2026 10:00:00 +0000\nMessage-ID: <eai@example.net>\n"
           "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "\nHallo, schöne Grüße.\n").encode()


@pytest.fixture(scope="module")
def world(signet, tmp_path_factory):
    if harness.missing_tools(harness.UNBOUND):
        pytest.skip(f"unbound missing ({harness.UNBOUND}): install it with scripts/deps.sh")
    d = tmp_path_factory.mktemp("eai")
    key = d / "rsa.key"
    rec = signet.keygen(key, domain=ALABEL, selector=SEL_A).text.strip()
    name = f"{SEL_A}._domainkey.{ALABEL}"
    keys = d / "keys.txt"
    keys.write_text(f"{name} {rec}\n")
    ub = harness.Unbound({ALABEL: {name: [rec]}})
    ub.start()
    yield {"dir": d, "key": key, "keys": keys, "rec": rec, "ub": ub}
    ub.cleanup()


def dkimpy_verify(world, msg):
    """dkimpy with its own DNS code, asking our unbound; returns (verdict,
    [names dkimpy handed to its DNS layer])."""
    asked = []

    def dnsfunc(name, timeout=5):
        asked.append(name)
        return dkim.dnsplug.get_txt(name, timeout)

    r = dns_resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = world["ub"].port
    saved = dns_resolver.default_resolver
    dns_resolver.default_resolver = r
    try:
        return dkim.verify(msg, dnsfunc=dnsfunc), asked
    finally:
        dns_resolver.default_resolver = saved


def our_tags(msg):
    return sig_tags(header_fields(msg)[0][1])


def sign_cli(signet, world, msg, *extra):
    r = signet.run("sign", "-d", ALABEL, "-s", SEL_A, "-k", world["key"], "-i",
                   f"joe@mail.{ALABEL}", *extra, input=msg)
    assert r.rc == 0, r
    return r.out


def test_DKIM_EAI_04_cli_alabels_in_ascii_ulabels_in_eai(signet, world):
    """DKIM-EAI-04: `signet sign -d xn--bcher-kva.example -s xn--schn-7qa`
    writes A-labels into an ASCII message and U-labels (d=bücher.example,
    s=schön, i=joe@mail.bücher.example) into an EAI one; both pass with
    `signet verify` and with dkimpy (its DNS layer gets the U-label name as
    UTF-8 bytes and dnspython queries the A-label, which is all unbound has)."""
    plain = sign_cli(signet, world, ASCII_MSG)
    t = our_tags(plain)
    assert (t["d"], t["s"], t["i"]) == (ALABEL, SEL_A, f"joe@mail.{ALABEL}"), t
    eai = sign_cli(signet, world, EAI_MSG)
    t = {k: v.encode("latin-1").decode() for k, v in our_tags(eai).items()}
    assert (t["d"], t["s"], t["i"]) == (ULABEL, SEL_U, f"joe@mail.{ULABEL}"), t

    for msg in (plain, eai):
        v = signet.verify(msg, world["keys"])
        assert v.rc == 0 and v.results() == ["pass"], v
    ok, asked = dkimpy_verify(world, plain)
    assert ok is True and asked == [f"{SEL_A}._domainkey.{ALABEL}.".encode()], asked
    ok, asked = dkimpy_verify(world, eai)
    assert asked == [f"{SEL_U}._domainkey.{ULABEL}.".encode()], asked
    assert ok is True, "dkimpy did not verify the U-label signature"


def test_DKIM_EAI_04_cli_a_labels_option(signet, world):
    """DKIM-EAI-04, configurable: --idn-labels a-labels keeps A-labels in an
    EAI message; it verifies with both; a bad value is a usage error."""
    eai = sign_cli(signet, world, EAI_MSG, "--idn-labels", "a-labels")
    t = our_tags(eai)
    assert (t["d"], t["s"], t["i"]) == (ALABEL, SEL_A, f"joe@mail.{ALABEL}"), t
    assert signet.verify(eai, world["keys"]).results() == ["pass"]
    ok, _ = dkimpy_verify(world, eai)
    assert ok is True
    auto = sign_cli(signet, world, EAI_MSG, "--idn-labels", "auto")
    assert our_tags(auto)["d"].encode("latin-1").decode() == ULABEL
    r = signet.run("sign", "-d", ALABEL, "-s", SEL_A, "-k", world["key"], "--idn-labels",
                   "u-labels", input=EAI_MSG)
    assert r.rc == 64 and "--idn-labels u-labels: give auto or a-labels" in r.err, r


# ------------------------------------------------------------------ signetd

def wire(msg):
    head, body = msg.split(b"\n\n", 1)
    fields = [ln.split(b":", 1) for ln in head.split(b"\n")]
    return [(n.decode(), v.strip().decode()) for n, v in fields], body.replace(b"\n", b"\r\n")


def signetd_signs(world, idn_labels, msg):
    """The DKIM-Signature value signetd adds to msg from a local client, and
    the message as delivered (our field on top)."""
    signetd = harness.signetd_path()
    if not harness.executable(signetd):
        pytest.skip(f"signetd not built at {signetd} (set SIGNETD_BIN or SIGNET_BIN)")
    extra = "" if idn_labels is None else f'dkim_signing {{ idn_labels = "{idn_labels}"; }}\n'
    sd = harness.Signetd(signetd, [world["ub"].forwarder()], [(ALABEL, SEL_A, world["key"])],
                         extra=extra)
    sd.start()
    try:
        headers, body = wire(msg)
        m = Milter(socket.create_connection(("127.0.0.1", sd.port), timeout=10))
        m.negotiate()
        mods, verdict, _ = m.message(headers, body, sender=f"<joe@{ALABEL}>",
                                     client=("localhost", "127.0.0.1"))
        m.s.close()
    finally:
        rc = sd.stop()
    assert not sd.sanitizer_reports() and rc == 0, sd.log_text()[-3000:]
    assert verdict == b"c", verdict
    ins = [x for x in header_mods(mods) if x[0] == b"i"]
    assert [x[2] for x in ins] == ["DKIM-Signature"], (ins, sd.log_text())
    value = ins[0][3].replace("\r\n", "\n")
    delivered = f"DKIM-Signature:{value}\n".encode() + msg
    return sig_tags(f"DKIM-Signature:{value}".encode()), delivered


@pytest.mark.parametrize("idn_labels,msg,want", [
    (None, ASCII_MSG, (ALABEL, SEL_A)),
    (None, EAI_MSG, (ULABEL, SEL_U)),
    ("auto", EAI_MSG, (ULABEL, SEL_U)),
    ("a-labels", EAI_MSG, (ALABEL, SEL_A)),
], ids=["default-ascii", "default-eai", "auto-eai", "a-labels-eai"])
def test_DKIM_EAI_04_signetd_idn_labels(signet, world, idn_labels, msg, want):
    """DKIM-EAI-04 in signetd: dkim_signing.idn_labels (default auto) with
    the configured domain xn--bcher-kva.example: U-labels only in the EAI
    message, A-labels with "a-labels"; signet verify and dkimpy pass."""
    t, delivered = signetd_signs(world, idn_labels, msg)
    got = (t["d"].encode("latin-1").decode(), t["s"].encode("latin-1").decode())
    assert got == want, t
    assert signet.verify(delivered, world["keys"]).results() == ["pass"]
    ok, _ = dkimpy_verify(world, delivered)
    assert ok is True


def test_DKIM_EAI_04_signetd_idn_labels_config_checked(world, tmp_path):
    """dkim_signing.idn_labels: a bad value is refused by `signetd -t`, naming
    the key; --dump-config shows the effective value."""
    signetd = harness.signetd_path()
    if not harness.executable(signetd):
        pytest.skip(f"signetd not built at {signetd} (set SIGNETD_BIN or SIGNET_BIN)")
    sd = harness.Signetd(signetd, [world["ub"].forwarder()], [(ALABEL, SEL_A, world["key"])],
                         extra='dkim_signing { idn_labels = "u-labels"; }\n')
    try:
        rc, out = sd.check_config()
        assert rc != 0 and "dkim_signing.idn_labels must be \"auto\"" in out, out
        sd.extra = 'dkim_signing { idn_labels = "a-labels"; }\n'
        rc, out = sd.check_config()
        assert rc == 0, out
        d = subprocess.run([str(signetd), "--dump-config", "-c", str(sd.conf)],
                           capture_output=True, timeout=30)
        assert d.returncode == 0 and b'  idn_labels = "a-labels";\n' in d.stdout, d
    finally:
        sd.cleanup()
