# test_file_safety.py: the files signet and signetd read from a path go
# through one reader (conf/fileread.c, issue #12): a FIFO, a directory, a
# character device (/dev/zero) or a file over its cap (SECURITY.md "Files
# signet reads") is refused with a message naming the file and why, and
# never hangs (every run has a timeout). Then the private-key rules of
# SECURITY.md "Private key files" (issue #19: 0644/0666 refused by signetd,
# warned about by `signet sign`), keygen -b, --time and plural agreement.
# Environment: SIGNET_BIN (signet CLI), SIGNETD_BIN (else beside SIGNET_BIN's build).
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

EX_CONFIG = 78
# The caps of SECURITY.md "Files read from a path", as the messages name them.
CAP_KEY = ("CLI_MAX_KEYFILE", 64 * 1024)           # = FILEREAD_MAX_KEY = KEYS_MAX_FILE
CAP_CONFIG = ("UCL_MAX_INPUT", 1024 * 1024)        # = FILEREAD_MAX_CONFIG
CAP_KEYSFILE = ("CLI_MAX_KEYSFILE", 16 * 1024 * 1024)  # = FILEREAD_MAX_KEYSFILE
CAP_MESSAGE = ("CLI_MAX_MESSAGE", 64 * 1024 * 1024)    # = FILEREAD_MAX_MESSAGE
MSG = b"From: a@example.com\nTo: b@example.org\nSubject: files\n\nbody\n"
DEAD_DNS_PORT = harness.free_port(socket.SOCK_DGRAM)


def signetd_bin():
    p = harness.signetd_path()
    if not harness.executable(p):
        pytest.skip(f"signetd not built at {p} (build it, or set SIGNETD_BIN)")
    return p


@pytest.fixture
def d():
    """A temp dir every user can traverse."""
    path = harness.make_tempdir("file-safety-")
    yield path
    harness.remove_tempdir(path)


@pytest.fixture(scope="module")
def key(signet, tmp_path_factory):
    """An ed25519 key of example.com, selector sel (mode 0600)."""
    p = tmp_path_factory.mktemp("file-safety-key") / "sel.key"
    signet.keygen(p, type_="ed25519")
    return p


def bad_file(d, kind, cap):
    """A path of the given kind: fifo, dir, chardev (/dev/zero) or big (a
    sparse regular file of cap + 1 bytes; cap = (name, bytes)). Returns
    (path, why)."""
    if kind == "fifo":
        p = d / "fifo"
        os.mkfifo(p)
        return p, "it is a FIFO, not a regular file"
    if kind == "dir":
        p = d / "dir"
        p.mkdir()
        return p, "it is a directory, not a regular file"
    if kind == "chardev":
        return "/dev/zero", "it is a character device, not a regular file"
    name, size = cap
    p = d / "big"
    with open(p, "wb") as f:
        f.truncate(size + 1)
    return p, f"it is {size + 1} bytes, more than {name} ({size} bytes)"


KINDS = ["fifo", "dir", "chardev", "big"]


# --------------------------------------------------------------------------
# signet: sign -k, sign FILE, verify --keys, verify FILE

@pytest.mark.parametrize("kind", KINDS)
def test_cli_sign_key_not_regular_or_too_big(signet, d, kind):
    """issue #12: `signet sign -k FIFO` hung; now a clear error, exit 1."""
    p, why = bad_file(d, kind, CAP_KEY)
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", p, input=MSG, timeout=10)
    assert r.rc == 1, r
    assert r.err == f"signet: cannot read private key {p}: {why}\n", r
    assert r.out == b""


@pytest.mark.parametrize("kind", KINDS)
def test_cli_sign_message_file_not_regular_or_too_big(signet, d, key, kind):
    p, why = bad_file(d, kind, CAP_MESSAGE)
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", key, p, timeout=10)
    assert r.rc == 1, r
    assert r.err == f"signet: cannot read message {p}: {why}\n", r


@pytest.mark.parametrize("kind", KINDS)
def test_cli_verify_keys_not_regular_or_too_big(signet, d, kind):
    p, why = bad_file(d, kind, CAP_KEYSFILE)
    r = signet.run("verify", "--keys", p, input=MSG, timeout=10)
    assert r.rc != 0, r
    assert r.err == f"signet: cannot read keys file {p}: {why}\n", r


@pytest.mark.parametrize("kind", KINDS)
def test_cli_verify_message_file_not_regular_or_too_big(signet, d, key, kind):
    keys = d / "keys.txt"
    keys.write_text("sel._domainkey.example.com v=DKIM1; k=ed25519; p=\n")
    p, why = bad_file(d, kind, CAP_MESSAGE)
    r = signet.run("verify", "--keys", keys, p, timeout=10)
    assert r.rc != 0, r
    assert r.err == f"signet: cannot read message {p}: {why}\n", r


def test_cli_key_at_cap_is_read(signet, d, key):
    """FILEREAD_MAX_KEY itself is read (and parsed): limit is in, limit+1 out."""
    p = d / "padded.key"
    pem = key.read_bytes()
    p.write_bytes(pem + b"\n" * (CAP_KEY[1] - len(pem)))
    p.chmod(0o600)
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", p, input=MSG)
    assert r.rc == 0, r
    p.write_bytes(pem + b"\n" * (CAP_KEY[1] + 1 - len(pem)))
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", p, input=MSG)
    assert r.rc == 1, r
    assert r.err == (f"signet: cannot read private key {p}: it is {CAP_KEY[1] + 1} bytes, "
                     f"more than CLI_MAX_KEYFILE ({CAP_KEY[1]} bytes)\n"), r


@pytest.mark.parametrize("mode,what", [(0o644, "readable"), (0o666, "readable"),
                                       (0o602, "writable")])
def test_cli_sign_unsafe_key_warns_and_signs(signet, d, key, mode, what):
    """issue #19: `signet sign -k` warns on a key others may read or write
    (signetd refuses it) but still signs."""
    p = d / "open.key"
    shutil.copyfile(key, p)
    p.chmod(mode)
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", p, input=MSG)
    assert r.rc == 0, r
    assert r.err == (f"signet: warning: private key {p} is {what} by others (mode "
                     f"{mode:04o}), which signetd refuses; run: chmod 600 {p}\n"), r
    assert b"DKIM-Signature:" in r.out


# --------------------------------------------------------------------------
# signet keygen -b, --time

@pytest.mark.parametrize("bits", ["0", "1023", "4097", "65536", "4294967297",
                                  "18446744073709551616"])
def test_keygen_bits_outside_1024_4096_refused(signet, d, bits):
    """issue #19: -b 0 meant 2048; DKIM-SIGN-04 (RFC 8301 3.2): 1024..4096."""
    r = signet.run("keygen", "-d", "example.com", "-s", "sel", "-b", bits, "-k", d / "k.key")
    assert r.rc == 1, r
    assert r.err == (f"signet: -b {bits}: RSA keys must have 1024 to 4096 bits (RFC 8301 "
                     "3.2); use 2048\n"), r
    assert not (d / "k.key").exists()


def test_keygen_bits_limits_accepted(signet, d):
    """1024 is accepted with a warning that says what RFC 8301 3.2 says (1536 was
    once called "the minimum verifiers accept": it is 1024)."""
    r = signet.run("keygen", "-d", "example.com", "-s", "sel", "-b", "1024", "-k", d / "a.key",
                   timeout=60)
    assert r.rc == 0, r
    assert r.err.splitlines()[0] == ("signet: warning: 1024-bit RSA: verifiers accept 1024 bits "
                                     "and more, but signers should use at least 2048 "
                                     "(RFC 8301 3.2)"), r
    r = signet.run("keygen", "-d", "example.com", "-s", "sel", "-t", "ed25519", "-b", "0", "-k",
                   d / "b.key")
    assert r.rc == 1, r
    assert r.err == "signet: -b 0: ed25519 keys are always 256 bits; leave out -b\n", r


TIME_ERR = ("--time {t}: give unix seconds from 0 to 999999999999 (RFC 6376 3.5: t= and x= "
            "have at most 12 digits)")


@pytest.mark.parametrize("t", ["1000000000000", "18446744073709551615",
                               "18446744073709551616"])
def test_time_over_12_digits_refused(signet, key, t):
    """RFC 6376 3.5: t= and x= are 1*12DIGIT."""
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", key, "--time", t, input=MSG)
    assert r.rc == 64, r
    assert r.err.startswith("signet sign: " + TIME_ERR.format(t=t) + "\n"), r
    r = signet.run("verify", "--keys", "/dev/null", "--time", t, input=MSG)
    assert r.rc == 64, r
    assert r.err.startswith("signet verify: " + TIME_ERR.format(t=t) + "\n"), r


def test_time_12_digits_signs_and_expire_limit(signet, key):
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", key, "--time",
                   "999999999999", input=MSG)
    assert r.rc == 0, r
    assert re.search(rb"\bt=999999999999;", r.out), r
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", key, "--time",
                   "999999999998", "--expire", "1", input=MSG)
    assert r.rc == 0 and re.search(rb"\bx=999999999999;", r.out), r
    r = signet.run("sign", "-d", "example.com", "-s", "sel", "-k", key, "--time",
                   "999999999998", "--expire", "2", input=MSG)
    assert r.rc == 64, r
    assert r.err.startswith("signet sign: --expire 2 is too large: t= + 2 is past "
                            "999999999999 (RFC 6376 3.5: x= has at most 12 digits)\n"), r


# --------------------------------------------------------------------------
# signetd: key path, config, .include

def conf_text(keys, extra=""):
    q = harness.ucl_str
    entries = ", ".join(f"{{ selector = {q(s)}; path = {q(str(p))}; }}" for s, p in keys)
    return (f'socket = "inet:{harness.free_port()}@127.0.0.1";\n'
            'authserv_id = "mx.signet.test";\n'
            f'dns {{ forwarders = ["127.0.0.1@{DEAD_DNS_PORT}"]; timeout = 1s; }}\n'
            'log { target = "stderr"; }\n' + extra +
            f"dkim_signing {{ domain {{ example.com {{ selectors = [ {entries} ]; }} }} }}\n")


def check(conf, timeout=10):
    """`signetd -t -c conf` -> (exit status, stdout, stderr); a hang fails."""
    r = subprocess.run([str(signetd_bin()), "-t", "-c", str(conf)], capture_output=True,
                       timeout=timeout)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    for m in harness.SANITIZER_MARKS:
        assert m not in out + err, f"sanitizer report:\n{out}{err}"
    return r.returncode, out, err


@pytest.mark.parametrize("kind", KINDS)
def test_signetd_key_path_not_regular_or_too_big(d, kind):
    p, why = bad_file(d, kind, CAP_KEY)
    conf = d / "signetd.conf"
    conf.write_text(conf_text([("sel", p)]))
    rc, out, err = check(conf)
    assert rc == EX_CONFIG, (rc, out, err)
    assert out == ""
    want = {
        "fifo": "is a FIFO, not a regular file — set path to a key file made with: signet "
                f"keygen -d example.com -s sel -k {p}",
        "chardev": "is a character device, not a regular file — set path to a key file made "
                   f"with: signet keygen -d example.com -s sel -k {p}",
        "dir": "is a directory, not a key file",
        "big": f"is {CAP_KEY[1] + 1} bytes, more than KEYS_MAX_FILE ({CAP_KEY[1]}): not a "
               "private key",
    }[kind]
    assert f"key file {p} (domain example.com, selector sel): {want}" in err, err


@pytest.mark.parametrize("kind", KINDS)
def test_signetd_config_not_regular_or_too_big(d, kind):
    p, why = bad_file(d, kind, CAP_CONFIG)
    rc, out, err = check(p)
    assert rc == EX_CONFIG, (rc, out, err)
    assert err == (f"signetd: error: cannot read config file {p}: {why}\n"
                   f"signetd: {p}: configuration not usable (see above)\n")


@pytest.mark.parametrize("kind", KINDS)
def test_signetd_include_not_regular_or_too_big(d, key, kind):
    p, why = bad_file(d, kind, CAP_CONFIG)
    conf = d / "signetd.conf"
    conf.write_text(f".include {harness.ucl_str(str(p))}\n" + conf_text([("sel", key)]))
    rc, out, err = check(conf)
    assert rc == EX_CONFIG, (rc, out, err)
    assert err == (f"signetd: error: {conf}:1:1: cannot include {p}: {why}\n"
                   f"signetd: {conf}: configuration not usable (see above)\n")


def test_signetd_config_at_cap_is_read(d, key):
    """UCL_MAX_INPUT bytes are read; one more is refused (above)."""
    conf = d / "signetd.conf"
    text = conf_text([("sel", key)]).encode()
    conf.write_bytes(text + b"#" * (CAP_CONFIG[1] - len(text) - 1) + b"\n")
    assert conf.stat().st_size == CAP_CONFIG[1]
    rc, out, err = check(conf)
    assert (rc, err) == (0, ""), (rc, out, err)


# --------------------------------------------------------------------------
# signetd: unsafe private keys (SECURITY.md "Private key files")

def copy_key(key, d, mode, name="sel.key", gid=None):
    p = d / name
    shutil.copyfile(key, p)
    os.chmod(p, mode)
    if gid is not None:
        os.chown(p, 0, gid)
    return p


@pytest.mark.parametrize("mode,what,verb", [(0o644, "readable", "copy"),
                                            (0o666, "readable", "copy"),
                                            (0o602, "writable", "replace")])
def test_signetd_t_key_others_refused(d, key, mode, what, verb):
    """issue #19: as OpenDKIM's RequireSafeKeys, a key others may read or
    write fails `signetd -t` (exit 78) with the fix."""
    p = copy_key(key, d, mode)
    conf = d / "signetd.conf"
    conf.write_text(conf_text([("sel", p)]))
    rc, out, err = check(conf)
    assert rc == EX_CONFIG, (rc, out, err)
    assert (f"key file {p} (domain example.com, selector sel): {what} by others (mode "
            f"{mode:04o}): any local user could {verb} the private key, so it is refused — "
            f"fix: chmod 600 {p}\n") in err, err


def test_signetd_t_key_0640_own_group_warns(d, key):
    """Group-readable, the group (root, as signetd -t runs as root here) holds
    no other user: a warning, exit 0."""
    if os.geteuid() != 0:
        pytest.skip("needs root (chown)")
    p = copy_key(key, d, 0o640, gid=0)
    conf = d / "signetd.conf"
    conf.write_text(conf_text([("sel", p)]))
    rc, out, err = check(conf)
    assert rc == 0, (rc, out, err)
    assert err.endswith(f"key file {p} (domain example.com, selector sel): readable by group "
                        f"or others (mode 0640) — fix: chmod 600 {p}\n"), err


def test_signetd_t_key_0640_group_with_other_users_refused(d, key):
    """Group nogroup holds other users (their primary group): refused, and
    the message names them."""
    if os.geteuid() != 0:
        pytest.skip("needs root (chown)")
    try:
        g = grp.getgrnam("nogroup")
    except KeyError:
        pytest.skip("no group nogroup")
    others = sorted({u.pw_name for u in pwd.getpwall() if u.pw_gid == g.gr_gid and u.pw_uid}
                    | {m for m in g.gr_mem if pwd.getpwnam(m).pw_uid != 0})
    if not others:
        pytest.skip("group nogroup holds no user")
    p = copy_key(key, d, 0o640, gid=g.gr_gid)
    conf = d / "signetd.conf"
    conf.write_text(conf_text([("sel", p)]))
    rc, out, err = check(conf)
    assert rc == EX_CONFIG, (rc, out, err)
    m = re.search(r"readable by group nogroup \(mode 0640\), which also holds (.*): they "
                  r"could copy the private key, so it is refused — fix: chmod 600 (\S+)\n", err)
    assert m and m.group(2) == str(p), err
    assert sorted(m.group(1).split(", ")) == others, err


def test_signetd_refuses_to_start_with_0644_key(d, key):
    p = copy_key(key, d, 0o644)
    conf = d / "signetd.conf"
    conf.write_text(conf_text([("sel", p)]))
    r = subprocess.run([str(signetd_bin()), "-f", "-c", str(conf)], capture_output=True,
                       timeout=15)
    assert r.returncode == EX_CONFIG, r
    assert b"readable by others (mode 0644)" in r.stderr, r


def test_SIGHUP_unsafe_key_keeps_old_config(signet, d, key):
    """A reload that meets a 0644 key fails, logs why, and the running
    configuration stays in service; after chmod 600 the reload succeeds."""
    p = copy_key(key, d, 0o600)
    sd = harness.Signetd(signetd_bin(), [f"127.0.0.1@{DEAD_DNS_PORT}"],
                         [("example.com", "sel", p)])
    try:
        sd.start()
        os.chmod(p, 0o644)
        sd.proc.send_signal(signal.SIGHUP)
        failed = sd.log_lines_with("reload failed", timeout=10)
        assert failed, sd.log_text()
        log = sd.log_text()
        assert (f"key file {p} (domain example.com, selector sel): readable by others "
                f"(mode 0644): any local user could copy the private key, so it is refused "
                f"— fix: chmod 600 {p}") in log, log
        assert sd.alive(), log
        harness.wait_tcp("127.0.0.1", sd.port, 5, proc=sd.proc, what="signetd")
        os.chmod(p, 0o600)
        sd.proc.send_signal(signal.SIGHUP)
        assert sd.log_lines_with("reload done", timeout=10), sd.log_text()
        sd.stop()
        assert not sd.sanitizer_reports(), sd.log_text()
    finally:
        sd.stop()
        sd.cleanup()


# --------------------------------------------------------------------------
# plural agreement (issue #19: "1 keys loaded")

def test_signetd_t_one_key_two_keys(d, key):
    conf = d / "signetd.conf"
    conf.write_text(conf_text([("sel", key)]))
    assert check(conf) == (0, f"signetd: {conf}: configuration OK, 1 key loaded\n", "")
    conf.write_text(conf_text([("sel", key), ("sel2", key)]))
    assert check(conf) == (0, f"signetd: {conf}: configuration OK, 2 keys loaded\n", "")


def test_signetd_listening_line_singular(d, key):
    sd = harness.Signetd(signetd_bin(), [f"127.0.0.1@{DEAD_DNS_PORT}"],
                         [("example.com", "sel", key)], extra="workers = 1;\n")
    try:
        sd.start()
        lines = sd.log_lines_with("listening on", timeout=5)
        assert lines and lines[0].endswith("with 1 key, 1 worker"), sd.log_text()
        sd.stop()
        assert not sd.sanitizer_reports(), sd.log_text()
    finally:
        sd.stop()
        sd.cleanup()


def test_cli_explain_one_line_and_lines(signet, d, key):
    """signet verify --explain: "1 line ... matches", "1 line was added",
    then "3 lines were added"."""
    rec = signet.keygen(d / "e.key", type_="ed25519").text.strip()
    keys = d / "keys.txt"
    keys.write_text(f"sel._domainkey.example.com {rec}\n")
    signed = signet.sign(MSG, d / "e.key").out
    r = signet.run("verify", "--keys", keys, "--explain", input=signed + b"added\n")
    assert ("body change: the first 1 line (6 bytes) matches the signature; 1 line was added "
            "after signing\n") in r.text, r
    r = signet.run("verify", "--keys", keys, "--explain", input=signed + b"a\nb\nc\n")
    assert ("body change: the first 1 line (6 bytes) matches the signature; 3 lines were "
            "added after signing\n") in r.text, r


CAP_PSL = ("SIGNET_PSL_MAX_BYTES", 8 * 1024 * 1024)  # = FILEREAD_MAX_PSL


@pytest.mark.parametrize("kind", KINDS)
def test_cli_psl_not_regular_or_too_big_warns(signet, d, key, kind):
    """DKIM-VER-17: a public suffix list that cannot be read is a warning
    (the check is off); a FIFO never blocks verify."""
    keys = d / "keys.txt"
    keys.write_text("sel._domainkey.example.com v=DKIM1; k=ed25519; p=\n")
    p, why = bad_file(d, kind, CAP_PSL)
    r = signet.run("verify", "--keys", keys, "--psl", p, input=MSG, timeout=10)
    assert r.err == (f"signet: warning: public suffix list {p}: {why}; the public suffix "
                     "check of d= (DKIM-VER-17) is off\n"), r


@pytest.mark.parametrize("kind", KINDS)
def test_signetd_psl_not_regular_or_too_big_warns(d, key, kind):
    p, why = bad_file(d, kind, CAP_PSL)
    conf = d / "signetd.conf"
    conf.write_text(conf_text([("sel", key)],
                              f"verify {{ public_suffix_list = {harness.ucl_str(str(p))}; }}\n"))
    rc, out, err = check(conf)
    assert rc == 0, (rc, out, err)
    assert err == (f"signetd: warning: verify.public_suffix_list: cannot read {p}: {why}; the "
                   "public suffix check of d= (DKIM-VER-17) is off\n"), err
