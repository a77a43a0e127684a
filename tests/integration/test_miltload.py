# test_miltload.py: smoke test of bench/miltload, the milter load generator
# (so it cannot rot between benchmark runs): signetd with a generated config
# and an unbound serving the key records, miltload -n 20 -c 2 in sign mode
# (signatures checked with libsignet's verifier against the published keys)
# and verify mode (signetd's Authentication-Results must say dkim=pass), over
# an inet and a unix socket. No timing assertions: benchmarks are bench/run.
# Environment: MILTLOAD_BIN, else <builddir>/bench/miltload next to the
# signetd that harness.signetd_path() picks ($SIGNETD_BIN / $SIGNET_BIN).
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

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
