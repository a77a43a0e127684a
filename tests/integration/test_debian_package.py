# test_debian_package.py: the Debian packages (issue #18): `dpkg-buildpackage
# -us -uc -b` builds signet and signetd from a copy of this tree, lintian finds
# nothing at its default level, the packages install on this machine (the
# _signet user, the keys directory, the systemd unit, the example config that
# `signetd -t` accepts), the installed signetd starts and answers a milter
# negotiation as _signet (directly: CI machines run no systemd), and purge
# leaves nothing behind.
# Needs root (dpkg -i) and debhelper + lintian (scripts/deps.sh).
import grp
import os
import pwd
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("signet", "signetd")
INSTALLED = ["/usr/bin/signet", "/usr/sbin/signetd", "/etc/signet/signetd.conf",
             "/lib/systemd/system/signetd.service", "/usr/share/man/man1/signet.1.gz",
             "/usr/share/man/man8/signetd.8.gz", "/usr/share/man/man5/signetd.conf.5.gz"]


def run(*args, timeout=600, cwd=None, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check:
        assert r.returncode == 0, f"{' '.join(args)} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def installed(pkg):
    r = run("dpkg-query", "-W", "-f=${db:Status-Status}", pkg, check=False)
    return r.returncode == 0 and r.stdout.strip() == "installed"


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    missing = [t for t in ("dpkg-buildpackage", "dh", "lintian", "dpkg") if not shutil.which(t)]
    if missing:
        pytest.skip(f"packaging tools missing: {', '.join(missing)} (scripts/deps.sh installs them)")
    if os.geteuid() != 0:
        pytest.skip("installing the packages needs root")
    for p in PACKAGES:
        if installed(p):
            pytest.skip(f"{p} is installed on this machine already; not touching it")
    work = tmp_path_factory.mktemp("deb")
    src = work / "signet"
    files = run("git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z").stdout
    for name in filter(None, files.split("\0")):
        p = ROOT / name
        if p.is_file() or p.is_symlink():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, src / name, follow_symlinks=False)
    run("dpkg-buildpackage", "-us", "-uc", "-b", cwd=src, timeout=1200)
    out = {p: work / f"{p}_0.1.0_amd64.deb" for p in PACKAGES}
    for p, f in out.items():
        assert f.is_file(), f"{f} was not built"
    return work, out


def test_lintian_clean(debs):
    work, _ = debs
    changes = next(work.glob("signet_*.changes"))
    r = run("lintian", str(changes), check=False, timeout=300)
    tags = [ln for ln in r.stdout.splitlines() if ln[:2] in ("E:", "W:")]
    assert tags == [], "\n".join(tags)
    assert r.returncode == 0, r.stdout + r.stderr


def milter_negotiates(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack("!IcIII", 13, b"O", 6, 0x1FF, 0x1FFFFF))
        head = s.recv(9)
        return len(head) == 9 and head[4:5] == b"O"


def test_install_run_purge(debs):
    _, out = debs
    try:
        run("dpkg", "-i", str(out["signet"]), str(out["signetd"]), timeout=300)
        for f in INSTALLED:
            assert Path(f).exists(), f"{f} not installed"
        user = pwd.getpwnam("_signet")
        keys = os.stat("/etc/signet/keys")
        assert keys.st_mode & 0o777 == 0o750, oct(keys.st_mode)
        assert (keys.st_uid, keys.st_gid) == (0, grp.getgrnam("_signet").gr_gid)
        assert os.stat("/var/lib/signet").st_uid == user.pw_uid
        # The example config is valid as shipped: no keys, verify only.
        r = run("/usr/sbin/signetd", "-t", "-c", "/etc/signet/signetd.conf", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "signetd will only verify" in r.stderr, r.stderr
        r = run("systemd-analyze", "verify", "/lib/systemd/system/signetd.service", check=False)
        assert "rror" not in r.stderr and "nvalid" not in r.stderr, r.stderr
        # Start the installed daemon as systemd would (ExecStart), on a free
        # port so it cannot collide with anything else on the machine.
        port = harness.free_port()
        conf = Path("/etc/signet/test-package.conf")
        conf.write_text(Path("/etc/signet/signetd.conf").read_text().replace(
            "inet:8891@127.0.0.1", f"inet:{port}@127.0.0.1").replace(
            'log { target = "syslog"; }', 'log { target = "stderr"; }'))
        proc = subprocess.Popen(["/usr/sbin/signetd", "-f", "-c", str(conf)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            harness.wait_tcp("127.0.0.1", port, 15, proc=proc, what="installed signetd")
            assert milter_negotiates(port)
            deadline = time.monotonic() + 5
            owner = None
            while time.monotonic() < deadline:
                owner = run("ps", "-o", "user=", "-p", str(proc.pid)).stdout.strip()
                if owner == "_signet":
                    break
                time.sleep(0.1)
            assert owner == "_signet", f"signetd runs as {owner!r}, not _signet"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            conf.unlink()
        r = run("/usr/bin/signet", "--version")
        assert r.stdout.startswith("signet 0.1.0"), r.stdout
    finally:
        run("dpkg", "--purge", *PACKAGES, check=False, timeout=300)
    for p in PACKAGES:
        assert not installed(p), f"{p} still installed after purge"
    for f in INSTALLED + ["/etc/signet", "/var/lib/signet"]:
        assert not Path(f).exists(), f"{f} left behind by purge"
