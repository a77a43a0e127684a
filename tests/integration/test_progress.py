# test_progress.py: a key lookup slower than Postfix's milter_content_timeout
# must not turn into Postfix's default_action. signetd sends SMFIR_PROGRESS
# while the MTA waits for its EOM reply (MILTER-EOM-06, MILTER-PFX-04); a real
# Postfix with milter_content_timeout = 2s and milter_default_action =
# tempfail, a real signetd with dns.timeout = 5s and a real unbound that never
# answers for timeout.example.net. Without progress replies Postfix gives up
# after 2 s and answers 4xx; with them the message is delivered carrying
# dkim=temperror once the lookup times out.
import os
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Delivered, make_message, parse_ar, unique_id  # noqa: E402
from test_postfix import AUTHSERV, OUTSIDE, require_root_and_tools  # noqa: E402

CONTENT_TIMEOUT_S = 2
DNS_TIMEOUT_S = 5  # longer than Postfix waits without a progress reply


@pytest.fixture(scope="module")
def slow_world(tmp_path_factory):
    require_root_and_tools()
    signetd_bin = harness.signetd_path()
    signet = harness.signet_path()
    if not harness.executable(signetd_bin) or not harness.executable(signet):
        pytest.skip(f"signetd/signet not built ({signetd_bin}, {signet}): set SIGNETD_BIN/SIGNET_BIN")
    tmp = tmp_path_factory.mktemp("progress")
    tmp.chmod(0o755)
    key = tmp / "rsa.key"
    r = harness.subprocess.run([str(signet), "keygen", "-d", "example.com", "-s", "rsa", "-t", "rsa",
                                "-k", str(key), "--format", "txt"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    ub = harness.Unbound({"example.com": {}}, deny_zones=["timeout.example.net"])
    sd = pf = None
    try:
        ub.start()
        sd = harness.Signetd(signetd_bin, [ub.forwarder()], [("example.com", "rsa", key)],
                             dns_timeout=f"{DNS_TIMEOUT_S}s", authserv_id=AUTHSERV)
        sd.start()
        pf = harness.Postfix(milter=sd.milter(), extra_main={
            "milter_content_timeout": f"{CONTENT_TIMEOUT_S}s",
            "milter_default_action": "tempfail"})
        pf.start()
        yield signet, key, sd, pf
    finally:
        if pf:
            pf.cleanup()
        if sd:
            sd.cleanup()
        ub.cleanup()


def test_MILTER_EOM_06_MILTER_PFX_04_progress_outlasts_content_timeout(slow_world):
    """MILTER-EOM-06: "For long EOM work (DNS), call smfi_progress at least
    every milter_content_timeout/2". MILTER-PFX-04: "EOM with progress packets
    during a slow DNS answer". The lookup takes dns.timeout (5 s), Postfix
    waits 2 s per read: the message must still be delivered, with
    dkim=temperror, and Postfix must not log a milter timeout."""
    signet, key, sd, pf = slow_world
    mid = unique_id("progress")
    msg = make_message(mid, from_addr="user@timeout.example.net")
    r = harness.subprocess.run([str(signet), "sign", "-d", "timeout.example.net", "-s", "sel",
                                "-k", str(key)], input=msg, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    try:
        pf.submit(r.stdout, source=OUTSIDE)
    except Exception as e:  # a 4xx here is Postfix's default_action after its timeout
        raise AssertionError(f"submission refused: {e!r}\n{pf.diagnostics()}\n"
                             f"--- signetd log:\n{sd.log_text()[-2000:]}")
    d = Delivered(pf.wait_delivery(mid))
    ars = [f for n, f in d.added if n == "authentication-results"]
    assert len(ars) == 1, d.added_names()
    sid, res = parse_ar(harness.unfold(ars[0]).split(b":", 1)[1])
    assert sid == AUTHSERV, ars[0]
    assert [x["result"] for x in res if x["method"] == "dkim"] == ["temperror"], ars[0]
    # Postfix: "milter ...: can't read SMFIC_BODYEOB reply packet header:
    # Connection timed out" when a read runs out of time.
    stalls = [ln for ln in pf.log_text().splitlines() if "milter" in ln and "timed out" in ln]
    assert stalls == [], stalls
