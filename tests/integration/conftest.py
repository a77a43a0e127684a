# conftest.py: shared fixtures for the signet integration tests (pytest).
# The signet binary comes from $SIGNET_BIN, else <repo>/build/cli/signet; the
# public vectors from <repo>/../shared/testdata ($SIGNET_TESTDATA overrides).
# Every call of the CLI goes through Signet.run, which fails the test on a
# crash (killed by a signal) or a sanitizer report, whatever the test checks.
import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TESTDATA = Path(os.environ.get("SIGNET_TESTDATA", REPO.parent / "shared" / "testdata"))
TESTDATA_MISSING = (
    f"public test vectors not found at {TESTDATA} (expected ../shared/testdata beside the "
    "repository, or set SIGNET_TESTDATA)"
)
EX_USAGE = 64
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def signet_path():
    return Path(os.environ.get("SIGNET_BIN", REPO / "build" / "cli" / "signet"))


class Result:
    """Outcome of one signet run: rc, out (bytes), err (text)."""

    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr.decode("utf-8", "replace")

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    def json(self):
        """The --json lines as a list of dicts (header order)."""
        rows = []
        for line in self.text.splitlines():
            if line.strip():
                rows.append(json.loads(line))
        return rows

    def results(self):
        return [r["result"] for r in self.json()]

    def __repr__(self):
        return (f"signet {' '.join(map(str, self.args))}\n  exit {self.rc}\n"
                f"  stdout: {self.out[:2000]!r}\n  stderr: {self.err[:2000]}")


class Signet:
    def __init__(self, path):
        self.path = path

    def run(self, *args, input=None, timeout=20, env=None):
        """Runs signet; asserts it neither crashed nor tripped a sanitizer."""
        args = [str(a) for a in args]
        e = dict(os.environ)
        if env:
            e.update(env)
        proc = subprocess.run([str(self.path), *args], input=input if input is not None else b"",
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=e)
        r = Result(args, proc)
        assert r.rc >= 0, f"signet was killed by signal {-r.rc}: {r!r}"
        for mark in SANITIZER_MARKS:
            assert mark not in r.err, f"sanitizer report ({mark}): {r!r}"
        return r

    def keygen(self, keyfile, domain="example.com", selector="sel", type_="rsa", bits=None,
               fmt="txt"):
        args = ["keygen", "-d", domain, "-s", selector, "-t", type_, "-k", keyfile, "--format", fmt]
        if bits:
            args += ["-b", bits]
        r = self.run(*args, timeout=60)
        assert r.rc == 0, r
        return r

    def sign(self, msg, keyfile, domain="example.com", selector="sel", extra=(), ok=True):
        """Signs msg (bytes) read from stdin; returns the Result."""
        r = self.run("sign", "-d", domain, "-s", selector, "-k", keyfile, *extra, input=msg)
        if ok:
            assert r.rc == 0, r
        return r

    def verify(self, msg, keys, extra=("--json",)):
        return self.run("verify", "--keys", keys, *extra, input=msg)


@pytest.fixture(scope="session")
def signet_bin():
    p = signet_path()
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(f"signet binary not found at {p}: build it (bash scripts/build.sh) or set SIGNET_BIN")
    return p


@pytest.fixture(scope="session")
def signet(signet_bin):
    return Signet(signet_bin)


@pytest.fixture(scope="session")
def testdata():
    if not TESTDATA.is_dir():
        pytest.skip(TESTDATA_MISSING)
    return TESTDATA


def read_tsv(path):
    """Rows of a tab-separated file with a header line, as dicts."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, ln.split("\t"))) for ln in lines[1:] if ln.strip()]


def keys_line(selector, domain, record):
    return f"{selector}._domainkey.{domain} {record}\n"


def split_message(msg):
    """(header block incl. the empty line, body) of a message in bytes."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = msg.find(sep)
        if i >= 0:
            return msg[: i + len(sep)], msg[i + len(sep):]
    return msg, b""


def unfold(field):
    """A header field with CRLF/LF + WSP folds removed (bytes)."""
    return field.replace(b"\r\n", b"\n").replace(b"\n\t", b"\t").replace(b"\n ", b" ").rstrip(b"\n")


def header_fields(msg):
    """[(name, raw field bytes incl. its line end)] of the header block."""
    head, _ = split_message(msg)
    lines = head.splitlines(keepends=True)
    fields = []
    for ln in lines:
        if ln in (b"\r\n", b"\n"):
            break
        if ln[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += ln
        else:
            fields.append([ln.split(b":", 1)[0].strip(), ln])
    return [(n.decode("latin-1"), f) for n, f in fields]


def sig_tags(field):
    """Tag dict of a DKIM-Signature field (raw bytes incl. the name)."""
    v = unfold(field).split(b":", 1)[1]
    tags = {}
    for part in v.split(b";"):
        if b"=" in part:
            k, val = part.split(b"=", 1)
            tags[k.strip().decode()] = b"".join(val.split()).decode("latin-1")
    return tags


def ed25519_seed_from_pem(pem):
    """The 32-byte seed of a PKCS#8 ed25519 PEM key (RFC 8410), base64 (dkimpy's form)."""
    b64 = b"".join(ln for ln in pem.splitlines() if ln and not ln.startswith(b"-----"))
    der = base64.b64decode(b64)
    prefix = bytes.fromhex("302e020100300506032b657004220420")
    assert der.startswith(prefix) and len(der) == 48, "not a PKCS#8 ed25519 key"
    return base64.b64encode(der[16:])
