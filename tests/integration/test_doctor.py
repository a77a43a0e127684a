# test_doctor.py: `signet doctor` (issue #18) against a real setup: a real
# Postfix (its own config directory, read by the real postconf), a running
# signetd, a real unbound serving the domain's DKIM, SPF, DMARC and MX
# records. First the whole setup right (no FAIL, exit 0), then Postfix and
# signetd set up wrong one way at a time, and doctor must name each problem
# with its fix.
# Environment: SIGNET_BIN, SIGNETD_BIN.
import os
import re
import subprocess
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DOMAIN = "example.com"
PUBLIC_IP = "127.0.0.3"


def require_tools():
    missing = harness.missing_tools(harness.POSTFIX, harness.POSTCONF, harness.UNBOUND)
    if missing:
        pytest.skip(f"Postfix/unbound tools missing: {', '.join(missing)} "
                    "(install them with scripts/deps.sh)")
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root (postfix -c DIR start)")


class World:
    unbound = signetd = postfix = None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    require_tools()
    signetd_bin, signet = harness.signetd_path(), harness.signet_path()
    for b in (signetd_bin, signet):
        if not harness.executable(b):
            pytest.skip(f"{b} not built (build it, or set SIGNET_BIN / SIGNETD_BIN)")
    tmp = tmp_path_factory.mktemp("doctor")
    tmp.chmod(0o755)
    key = tmp / "example.com.ed.key"
    r = subprocess.run([str(signet), "keygen", "-d", DOMAIN, "-s", "ed", "-t", "ed25519",
                        "-k", str(key), "--format", "txt"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    w = World()
    w.tmp = tmp
    w.key = key
    w.unbound = harness.Unbound({DOMAIN: {
        "ed._domainkey.example.com": [r.stdout.decode().strip()],
        "example.com": [f"v=spf1 ip4:{PUBLIC_IP} -all", ("MX", "10 mx.example.com.")],
        "_dmarc.example.com": ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com"],
        "mx.example.com": [("A", PUBLIC_IP)],
    }})
    try:
        w.unbound.start()
        w.signetd = harness.Signetd(signetd_bin, [w.unbound.forwarder()],
                                    [(DOMAIN, "ed", key)])
        w.signetd.start()
        w.postfix = harness.Postfix(milter=w.signetd.milter())
        w.postfix.start()
        yield w
    finally:
        for part in (w.postfix, w.signetd, w.unbound):
            if part:
                part.cleanup()


def doctor(world, conf, postfix_dir, *extra, dns=False):
    args = [str(harness.signet_path()), "doctor", "-c", str(conf),
            "--postfix-config", str(postfix_dir), *extra]
    args += ["--server", world.unbound.forwarder()]  # also for --send-test's verify
    if not dns:
        args += ["--no-dns"]
    r = subprocess.run(args, capture_output=True, timeout=120)
    out = r.stdout.decode(errors="replace")
    assert r.returncode >= 0, f"killed by signal {-r.returncode}"
    assert re.search(r"^\d+ OK, \d+ WARN, \d+ FAIL$", out, re.M), out
    return r.returncode, out


def findings(out, level):
    return [ln for ln in out.splitlines() if ln.startswith(level + " ")]


def postfix_dir(world, name, main=None, services=None, master_extra=""):
    """A Postfix config directory (main.cf + master.cf) that postconf reads;
    the instance is not started: the wiring is what postconf says it is."""
    d = world.tmp / name
    (d / "etc").mkdir(parents=True)
    p = harness.Postfix(milter=world.signetd.milter(), extra_main=main or {})
    p.dir = d
    (d / "etc" / "main.cf").write_text(p.main_cf())
    smtp = services or "127.0.0.1:2525 inet n - n - - smtpd"
    (d / "etc" / "master.cf").write_text(
        harness.MASTER_CF.format(smtp_services=smtp) + master_extra)
    return d / "etc"


def signetd_conf(world, name, socket, extra=""):
    text = world.signetd.config()
    text = re.sub(r'^socket = .*$', f'socket = "{socket}";', text, flags=re.M)
    p = world.tmp / f"{name}.conf"
    p.write_text(text + extra)
    return p


def test_doctor_whole_setup_right(world):
    rc, out = doctor(world, world.signetd.conf, world.postfix.etc, "--ip", PUBLIC_IP, dns=True)
    assert rc == 0, out
    assert findings(out, "FAIL") == [], out
    port = world.postfix.smtp_port
    for want in [
        f"{world.signetd.conf} loads: 1 signing domain, 1 key",
        f"127.0.0.1:{port}/inet: smtpd_milters reaches signetd (inet:127.0.0.1:{world.signetd.port})",
        "cleanup/unix: non_smtpd_milters reaches signetd",
        "milter_default_action = tempfail",
        f"answers a milter negotiation on inet:{world.signetd.port}@127.0.0.1",
        f"ed._domainkey.{DOMAIN} matches {world.key}",
        f"{DOMAIN}: SPF authorizes {PUBLIC_IP}",
        f"{DOMAIN}: DMARC record is sound",
        f"{DOMAIN} has 1 MX record",
    ]:
        assert any(want in ln for ln in findings(out, "OK")), f"no OK line with {want!r}:\n{out}"


def test_doctor_smtpd_milters_missing(world):
    etc = postfix_dir(world, "no-smtpd", main={"smtpd_milters": "inet:127.0.0.1:1"})
    rc, out = doctor(world, world.signetd.conf, etc)
    assert rc == 1, out
    fail = findings(out, "FAIL")
    assert any("smtpd_milters does not reach signetd" in ln and "127.0.0.1:2525/inet" in ln
               for ln in fail), out
    assert f"postconf -e 'smtpd_milters = inet:127.0.0.1:1, {world.signetd.milter()}'" in out


def test_doctor_non_smtpd_milters_missing(world):
    etc = postfix_dir(world, "no-nonsmtpd", main={"non_smtpd_milters": ""})
    rc, out = doctor(world, world.signetd.conf, etc)
    assert rc == 1, out
    assert any("cleanup/unix: non_smtpd_milters does not reach signetd" in ln
               and "mail from sendmail and local programs" in ln
               for ln in findings(out, "FAIL")), out


def test_doctor_submission_override_drops_signetd(world):
    etc = postfix_dir(world, "submission", master_extra=(
        "submission inet n - n - - smtpd\n"
        "  -o smtpd_sasl_auth_enable=yes\n"
        "  -o smtpd_milters=\n"))
    rc, out = doctor(world, world.signetd.conf, etc)
    assert rc == 1, out
    assert any("submission/inet: smtpd_milters (-o in master.cf) does not reach signetd" in ln
               for ln in findings(out, "FAIL")), out
    assert "add " + world.signetd.milter() + " to the -o smtpd_milters= of submission/inet" in out
    # the main smtpd service is still right
    assert any("127.0.0.1:2525/inet: smtpd_milters reaches signetd" in ln
               for ln in findings(out, "OK")), out


def test_doctor_content_filter_return_path_is_fine(world):
    etc = postfix_dir(world, "reinject", master_extra=(
        "127.0.0.1:10025 inet n - n - - smtpd\n"
        "  -o receive_override_options=no_unknown_recipient_checks,no_milters\n"))
    rc, out = doctor(world, world.signetd.conf, etc)
    assert rc == 0, out
    assert any("127.0.0.1:10025/inet: receive_override_options=no_milters" in ln
               for ln in findings(out, "OK")), out


def test_doctor_milter_after_signetd(world):
    other = "inet:127.0.0.1:7357"
    etc = postfix_dir(world, "order", main={"smtpd_milters": f"{world.signetd.milter()}, {other}"})
    rc, out = doctor(world, world.signetd.conf, etc)
    assert rc == 0, out  # a warning, not a failure: the other milter may not touch the message
    warn = findings(out, "WARN")
    assert any(f"smtpd_milters: {other} comes after signetd" in ln for ln in warn), out


def test_doctor_milter_braces_syntax(world):
    etc = postfix_dir(world, "braces", main={
        "smtpd_milters": f"{{ {world.signetd.milter()}, connect_timeout=10s, "
                         "default_action=tempfail }"})
    rc, out = doctor(world, world.signetd.conf, etc)
    assert rc == 0, out
    assert any("127.0.0.1:2525/inet: smtpd_milters reaches signetd" in ln
               for ln in findings(out, "OK")), out


def test_doctor_default_action_accept_and_old_protocol(world):
    etc = postfix_dir(world, "accept", main={"milter_default_action": "accept",
                                              "milter_protocol": "2"})
    rc, out = doctor(world, world.signetd.conf, etc)
    assert rc == 0, out
    warn = "\n".join(findings(out, "WARN"))
    assert "milter_default_action = accept: when signetd is down or times out, mail is " \
           "passed on unsigned and unchecked" in warn, out
    assert "postconf -e 'milter_default_action = tempfail'" in out
    assert "milter_protocol = 2: below 6" in warn, out


def test_doctor_unix_socket_outside_chroot(world):
    """The classic Debian trap: smtpd runs chrooted in the queue directory,
    the milter is a unix socket under /run, which smtpd cannot see."""
    sock = world.tmp / "run" / "signetd.sock"
    conf = signetd_conf(world, "unix", f"unix:{sock}")
    etc = postfix_dir(world, "chroot", main={"smtpd_milters": f"unix:{sock}",
                                              "non_smtpd_milters": f"unix:{sock}"},
                      services="127.0.0.1:2525 inet n - y - - smtpd")
    rc, out = doctor(world, conf, etc)
    assert rc == 1, out
    fail = findings(out, "FAIL")
    assert any("127.0.0.1:2525/inet: smtpd_milters names unix:" + str(sock) in ln
               and "runs chrooted" in ln for ln in fail), out
    assert "set the chroot column of 127.0.0.1:2525/inet to n in master.cf" in out
    # cleanup is not chrooted in this master.cf: its path reaches the socket
    assert any("cleanup/unix: non_smtpd_milters reaches signetd" in ln
               for ln in findings(out, "OK")), out


def test_doctor_unix_socket_inside_chroot_is_right(world):
    qdir = subprocess.run([harness.POSTCONF, "-c", str(world.postfix.etc), "-h",
                           "queue_directory"], capture_output=True, text=True).stdout.strip()
    conf = signetd_conf(world, "unix-in", f"unix:{qdir}/signetd/signetd.sock")
    etc = postfix_dir(world, "chroot-ok", main={
        "smtpd_milters": "unix:/signetd/signetd.sock",
        "non_smtpd_milters": f"unix:{qdir}/signetd/signetd.sock",
        "queue_directory": qdir},
        services="127.0.0.1:2525 inet n - y - - smtpd")
    rc, out = doctor(world, conf, etc)
    ok = findings(out, "OK")
    assert any("127.0.0.1:2525/inet: smtpd_milters reaches signetd (unix:/signetd/signetd.sock)"
               in ln for ln in ok), out
    assert not any("chroot" in ln for ln in findings(out, "FAIL")), out


def test_doctor_signetd_not_running(world):
    port = harness.free_port()
    conf = signetd_conf(world, "down", f"inet:{port}@127.0.0.1")
    etc = postfix_dir(world, "down", main={"smtpd_milters": f"inet:127.0.0.1:{port}",
                                            "non_smtpd_milters": f"inet:127.0.0.1:{port}"})
    rc, out = doctor(world, conf, etc)
    assert rc == 1, out
    assert any(f"does not answer on inet:{port}@127.0.0.1: connect: Connection refused" in ln
               for ln in findings(out, "FAIL")), out


def test_doctor_unix_socket_postfix_cannot_open(world):
    """signetd (as root, no user=) makes its socket root's with mode 0600:
    the postfix user cannot connect."""
    d = world.tmp / "perm"
    d.mkdir()
    sock = d / "signetd.sock"
    conf = signetd_conf(world, "perm", f"unix:{sock}", extra="socket_mode = 0600;\n")
    proc = subprocess.Popen([str(harness.signetd_path()), "-f", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            import time
            time.sleep(0.1)
        assert sock.exists(), "signetd did not create its socket"
        etc = postfix_dir(world, "perm", main={"smtpd_milters": f"unix:{sock}",
                                                "non_smtpd_milters": f"unix:{sock}"})
        rc, out = doctor(world, conf, etc)
        assert rc == 1, out
        assert any(f"answers a milter negotiation on unix:{sock}" in ln
                   for ln in findings(out, "OK")), out
        assert any(f"the postfix user cannot connect to {sock} (mode 0600" in ln
                   for ln in findings(out, "FAIL")), out
        assert "usermod -aG root postfix" in out
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_doctor_broken_config(world):
    conf = world.tmp / "broken.conf"
    conf.write_text('socket = "inet:99999@127.0.0.1";\n')
    rc, out = doctor(world, conf, world.postfix.etc)
    assert rc == 1, out
    fail = findings(out, "FAIL")
    assert any("99999" in ln for ln in fail), out
    assert any("cannot be used: signetd would not start" in ln for ln in fail), out


def test_doctor_world_readable_key(world):
    key = world.tmp / "loose.key"
    key.write_bytes(world.key.read_bytes())
    key.chmod(0o644)
    conf = signetd_conf(world, "loose", f"inet:{world.signetd.port}@127.0.0.1")
    conf.write_text(conf.read_text().replace(str(world.key), str(key)))
    rc, out = doctor(world, conf, world.postfix.etc)
    assert any("readable by others" in ln for ln in findings(out, "WARN") + findings(out, "FAIL")), out


def test_doctor_dns_problems(world):
    """A key record that does not match, no SPF for --ip, no DMARC."""
    other = world.tmp / "other.key"
    r = subprocess.run([str(harness.signet_path()), "keygen", "-d", "example.net", "-s", "ed",
                        "-t", "ed25519", "-k", str(other)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    conf = signetd_conf(world, "dnsbad", f"inet:{world.signetd.port}@127.0.0.1")
    conf.write_text(conf.read_text().replace(str(world.key), str(other)))
    rc, out = doctor(world, conf, world.postfix.etc, "--ip", "192.0.2.77", dns=True)
    assert rc == 1, out
    fail = "\n".join(findings(out, "FAIL"))
    assert f"ed._domainkey.{DOMAIN}:" in fail, out
    assert f"{DOMAIN}: SPF for this host (192.0.2.77): fail" in fail, out
    assert f"add ip4:/ip6:192.0.2.77 to {DOMAIN}'s SPF record" in out


def test_doctor_send_test_delivered_and_verified(world):
    """--send-test: through Postfix's sendmail (non_smtpd_milters: signetd
    signs it as a local program's mail), followed in Postfix's maillog_file,
    the copy virtual(8) delivered found in the Maildir and verified."""
    rc, out = doctor(world, world.signetd.conf, world.postfix.etc, "--send-test",
                     "user@dest.test", "--mailbox", str(world.postfix.mail / "inbox"))
    ok = findings(out, "OK")
    assert rc == 0, out
    assert any(re.search(r"send +test message [0-9A-F]+: status=sent \(delivered to maildir\)",
                         ln) for ln in ok), out
    assert any("the delivered copy verifies:" in ln and "pass" in ln for ln in ok), out


def test_doctor_send_test_not_signed_fails(world):
    """Signed with a key whose record is not the published one: the
    delivered copy does not verify, and doctor says so."""
    other = world.tmp / "send-other.key"
    if not other.exists():
        r = subprocess.run([str(harness.signet_path()), "keygen", "-d", "example.com", "-s",
                            "ed", "-t", "ed25519", "-k", str(other)], capture_output=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
    # a second signetd signing with a key whose record is not published
    sd = harness.Signetd(harness.signetd_path(), [world.unbound.forwarder()],
                         [(DOMAIN, "ed", other)])
    sd.start()
    try:
        # the running Postfix, its non-SMTP path pointed at the second signetd
        subprocess.run([harness.POSTCONF, "-c", str(world.postfix.etc), "-e",
                        f"non_smtpd_milters = {sd.milter()}"], check=True)
        subprocess.run([harness.POSTFIX, "-c", str(world.postfix.etc), "reload"], check=True,
                       capture_output=True)
        rc, out = doctor(world, sd.conf, world.postfix.etc, "--send-test", "user@dest.test",
                         "--mailbox", str(world.postfix.mail / "inbox"))
        assert rc == 1, out
        assert any("the delivered copy" in ln and "does not verify" in ln
                   for ln in findings(out, "FAIL")), out
    finally:
        subprocess.run([harness.POSTCONF, "-c", str(world.postfix.etc), "-e",
                        f"non_smtpd_milters = {world.signetd.milter()}"], check=True)
        subprocess.run([harness.POSTFIX, "-c", str(world.postfix.etc), "reload"],
                       capture_output=True)
        sd.cleanup()
