# test_dns_answers.py: key records whose DNS answers are large, truncated or
# oversized, served by a real unbound to a real signetd under a real Postfix.
# An answer over 512 octets comes back over UDP with TC set, and signetd's
# libunbound must retry over TCP; a record over SIGNET_MAX_KEY_RECORD (4096
# octets) and answers with far more records than DNS_MAX_RECORDS (16) must
# give a clear permerror, in bounded time, with the mail still delivered.
import os
import random
import socket
import string
import struct
import subprocess
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, make_message, parse_ar, unique_id  # noqa: E402
from test_postfix import AUTHSERV, OUTSIDE, require_root_and_tools  # noqa: E402


def junk(n, seed):
    rnd = random.Random(seed)
    return "x-junk=" + "".join(rnd.choice(string.ascii_letters) for _ in range(n))


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    require_root_and_tools()
    signetd_bin, signet = harness.signetd_path(), harness.signet_path()
    if not harness.executable(signetd_bin) or not harness.executable(signet):
        pytest.skip(f"signetd/signet not built ({signetd_bin}, {signet})")
    tmp = tmp_path_factory.mktemp("dns-answers")
    tmp.chmod(0o755)
    key = tmp / "rsa.key"
    r = subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", "big", "-t", "rsa",
                        "-k", str(key), "--format", "txt"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    record = r.stdout.decode().strip()
    zone = {
        # the key plus 10 records of 3000 octets: a ~30 KB answer (TC over UDP)
        "big._domainkey.example.com": [record] + [junk(3000, k) for k in range(10)],
        # one record of 8000 octets (32 character-strings)
        "huge._domainkey.example.com": ["v=DKIM1; k=rsa; p=" + "A" * 7980],
        # 60 records, none usable, 1 KB each
        "many._domainkey.example.com": [junk(1000, 100 + k) for k in range(60)],
    }
    ub = harness.Unbound({"example.com": zone})
    sd = pf = None
    try:
        ub.start()
        sd = harness.Signetd(signetd_bin, [ub.forwarder()], [("example.com", "big", key)],
                             authserv_id=AUTHSERV, dns_timeout="5s")
        sd.start()
        pf = harness.Postfix(milter=sd.milter())
        pf.start()
        yield {"signet": signet, "key": key, "ub": ub, "sd": sd, "pf": pf}
    finally:
        if pf:
            pf.cleanup()
        if sd:
            sd.cleanup()
        ub.cleanup()


def udp_query_flags(port, name):
    """(TC bit, answer size) of a plain UDP query without EDNS (512 octets)."""
    q = struct.pack(">HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 16, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(q, ("127.0.0.1", port))
        resp = s.recv(65535)
    return bool(resp[2] & 0x02), len(resp)


def deliver(w, selector):
    mid = unique_id(selector)
    msg = make_message(mid, from_addr="user@example.com")
    r = subprocess.run([str(w["signet"]), "sign", "-d", "example.com", "-s", selector, "-k",
                        str(w["key"])], input=msg, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    w["pf"].submit(r.stdout, source=OUTSIDE)
    d = Delivered(w["pf"].wait_delivery(mid))
    ars = [f for n, f in d.added if n == "authentication-results"]
    assert len(ars) == 1, d.added_names()
    text = harness.unfold(ars[0]).split(b":", 1)[1]
    sid, res = parse_ar(text)
    assert sid == AUTHSERV
    return [x["result"] for x in res if x["method"] == "dkim"], text.decode()


def test_DKIM_KEY_02_truncated_udp_answer_retried_over_tcp_passes(w):
    """A 30 KB answer: over UDP the server sets TC (checked here with a plain
    query), so signetd's resolver must fetch it over TCP; the one usable record
    among ten others is found and the signature passes."""
    tc, size = udp_query_flags(w["ub"].port, "big._domainkey.example.com")
    assert tc and size <= 512, (tc, size)
    results, text = deliver(w, "big")
    assert results == ["pass"], text


def test_DKIM_KEY_16_oversized_record_is_permerror(w):
    """DKIM-KEY-16: a key record of 8000 octets (over SIGNET_MAX_KEY_RECORD,
    4096) is refused with a reason naming the limit; the mail is delivered."""
    results, text = deliver(w, "huge")
    assert results == ["permerror"], text
    assert "too large" in text, text


def test_sixty_unusable_records_bounded_permerror(w):
    """Sixty records (60 KB), none a key: at most DNS_MAX_RECORDS are looked
    at, the result is permerror naming the first record's problem, and
    signetd stays up."""
    results, text = deliver(w, "many")
    assert results == ["permerror"], text
    assert "key record at many._domainkey.example.com unusable" in text, text
    assert w["sd"].alive()
