# harness.py: test infrastructure for the signetd integration tests: a real
# unbound serving key records on 127.0.0.1 (high port), a real Postfix
# instance in a temp dir (own config, queue and mailbox dirs, high ports,
# optional Cyrus SASL), and signetd started with a generated config; at the
# end, a "world" of them (Mta: signetd + its Postfix). Plain classes and
# functions (no pytest fixtures); test_postfix.py and the SPF, DMARC and
# ARC Postfix tests build their fixtures from them. It does not touch the
# system Postfix, unbound or /etc: everything lives under one temp dir and
# is stopped by pid.
import atexit
import grp
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
SENDMAIL = "/usr/sbin/sendmail"
UNBOUND = "/usr/sbin/unbound"
SASLPASSWD2 = "/usr/sbin/saslpasswd2"
SASL_PLUGIN = "/usr/lib/x86_64-linux-gnu/sasl2/libsasldb.so"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def signet_path():
    return Path(os.environ.get("SIGNET_BIN", REPO / "build" / "cli" / "signet"))


def signetd_path():
    """$SIGNETD_BIN; else the signetd of the build dir $SIGNET_BIN comes from
    (<builddir>/cli/signet -> <builddir>/daemon/signetd, so an ASan run of
    scripts/test.sh tests the ASan daemon); else <repo>/build/daemon/signetd."""
    if os.environ.get("SIGNETD_BIN"):
        return Path(os.environ["SIGNETD_BIN"])
    if os.environ.get("SIGNET_BIN"):
        return Path(os.environ["SIGNET_BIN"]).resolve().parent.parent / "daemon" / "signetd"
    return REPO / "build" / "daemon" / "signetd"


def executable(p):
    return Path(p).is_file() and os.access(p, os.X_OK)


def missing_tools(*paths):
    """The paths among *paths that are not executable files."""
    return [str(p) for p in paths if not executable(p)]


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """A port nobody listens on right now (TCP and UDP both free)."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, kind)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        t = socket.socket(socket.AF_INET, other)
        try:
            t.bind((host, port))
        except OSError:
            continue
        finally:
            t.close()
        return port
    raise RuntimeError("no free port found")


def wait_tcp(host, port, timeout, proc=None, what="server"):
    """Waits until host:port accepts a TCP connection; raises with context."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} not listening on {host}:{port} after {timeout}s")


_LIVE = []  # started servers, stopped at interpreter exit if a test did not


def _register(obj):
    """Remembers a started server so that it is stopped even when pytest is
    ended by SIGTERM (scripts/test.sh runs it under timeout(1)): SIGTERM is
    turned into KeyboardInterrupt, which pytest answers by running fixture
    teardown; an atexit hook stops whatever is still running."""
    if not _LIVE:
        atexit.register(_stop_all)
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
            def on_term(signum, frame):
                raise KeyboardInterrupt("SIGTERM")
            signal.signal(signal.SIGTERM, on_term)
    if obj not in _LIVE:
        _LIVE.append(obj)


def _stop_all():
    for obj in reversed(_LIVE):
        try:
            obj.cleanup()
        except Exception:  # best effort at exit
            pass


def remove_tempdir(d):
    """Removes a harness temp dir, unless SIGNET_KEEP_TMP is set (debugging:
    the configs and logs stay, the path is printed)."""
    if os.environ.get("SIGNET_KEEP_TMP"):
        print(f"harness: kept {d}")
        return
    shutil.rmtree(d, ignore_errors=True)


def make_tempdir(prefix):
    """A temp dir the postfix user can traverse (mkdtemp makes it 0700)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


# ---------------------------------------------------------------- DNS ----

def txt_strings(value):
    """A TXT value split into <= 255-octet character-strings (RFC 1035 3.3.14)."""
    raw = value.encode() if isinstance(value, str) else value
    return [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]


def unbound_txt(value_or_strings):
    """The quoted-strings part of an unbound local-data TXT line."""
    if isinstance(value_or_strings, (list, tuple)):
        parts = [p.encode() if isinstance(p, str) else p for p in value_or_strings]
    else:
        parts = txt_strings(value_or_strings)
    out = []
    for p in parts:
        assert b'"' not in p and b"\\" not in p and b"\n" not in p, p
        out.append('"' + p.decode("ascii") + '"')
    return " ".join(out)


class DnsAnswer:
    """rcode (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...) and TXT RRs, each a list of strings."""

    def __init__(self, rcode, txts):
        self.rcode = rcode
        self.txts = txts

    def joined(self):
        return [b"".join(t) for t in self.txts]

    def __repr__(self):
        return f"DnsAnswer(rcode={self.rcode}, txts={self.txts!r})"


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def dns_query(server, port, name, qtype=16, timeout=2.0):
    """One UDP query (RD set); returns DnsAnswer or raises socket.timeout."""
    qid = random.randrange(65536)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack(
        ">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(pkt, (server, port))
        while True:
            msg, _ = s.recvfrom(65535)
            if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                break
    flags, qd, an = struct.unpack(">HHH", msg[2:8])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    txts = []
    for _ in range(an):
        off = skip_name(msg, off)
        typ, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rd = msg[off:off + rdlen]
        off += rdlen
        if typ != 16:
            continue
        strings, i = [], 0
        while i < len(rd):
            n = rd[i]
            strings.append(rd[i + 1:i + 1 + n])
            i += 1 + n
        txts.append(strings)
    return DnsAnswer(flags & 0xF, txts)


class Unbound:
    """A real unbound on 127.0.0.1:port, serving local-data from `zones`.

    zones: {zone: {name: [txt, ...]}} where each txt is a str (split into
    255-octet strings), a list of strings (published as given) or a tuple
    (type, rdata) for another RR type. Every zone is a `static` local-zone:
    names without data are NXDOMAIN, names with other types only NODATA.
    forward_zones: {zone: "127.0.0.1@port"}: queries there go to that server
    with short timeouts; a port where nothing listens makes unbound answer
    SERVFAIL within about a second.
    deny_zones: [zone]: unbound drops queries there without any answer
    (local-zone type `deny`), so the asking resolver times out.
    """

    def __init__(self, zones, forward_zones=None, deny_zones=(), ttl=60):
        self.zones = zones
        self.ttl = ttl  # of every local-data record
        self.forward_zones = forward_zones or {}
        self.deny_zones = list(deny_zones)
        self.dir = make_tempdir("signet-unbound-")
        self.port = None
        self.proc = None
        self.log = self.dir / "unbound.log"

    def config(self):
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  do-ip6: no",
            "  do-udp: yes",
            "  do-tcp: yes",
            "  do-not-query-localhost: no",
            "  use-syslog: no",
            f'  logfile: "{self.log}"',
            "  log-servfail: yes",
            "  verbosity: 1",
            '  chroot: ""',
            '  username: ""',
            f'  directory: "{self.dir}"',
            f'  pidfile: "{self.dir}/unbound.pid"',
            "  num-threads: 1",
            "  so-reuseport: no",
            "  access-control: 127.0.0.0/8 allow",
            '  module-config: "iterator"',
            "  qname-minimisation: no",
            "  cache-max-ttl: 1",
            "  cache-max-negative-ttl: 1",
            # give up quickly on a dead or silent forwarder
            "  infra-host-ttl: 1",
            "  outbound-msg-retry: 1",
            "  serve-expired: no",
        ]
        for zone, names in self.zones.items():
            lines.append(f'  local-zone: "{zone.rstrip(".")}." static')
            for name, values in names.items():
                for v in values:
                    if isinstance(v, tuple):  # (type, rdata text), e.g. ("A", "192.0.2.1")
                        rr = f"{v[0]} {v[1]}"
                    else:
                        rr = f"TXT {unbound_txt(v)}"
                    lines.append(f"  local-data: '{name.rstrip('.')}. {self.ttl} IN {rr}'")
        for zone in self.deny_zones:
            lines.append(f'  local-zone: "{zone.rstrip(".")}." deny')
        for zone in self.forward_zones:
            # unbound answers .test/.invalid/... itself (RFC 6761 defaults)
            # unless told otherwise; a forward zone must be reachable.
            lines.append(f'  local-zone: "{zone.rstrip(".")}." transparent')
            lines.append(f'  domain-insecure: "{zone.rstrip(".")}."')
        lines += ["remote-control:", "  control-enable: no"]
        for zone, addr in self.forward_zones.items():
            lines += ["forward-zone:", f'  name: "{zone.rstrip(".")}."',
                      f"  forward-addr: {addr}", "  forward-first: no"]
        return "\n".join(lines) + "\n"

    def restart(self, zones, timeout=10):
        """Serves zones instead, on the same port (a record published or
        withdrawn while the resolvers under test keep their forwarder)."""
        self.stop()
        self.zones = zones
        return self.start(timeout, port=self.port)

    def start(self, timeout=10, port=None):
        self.port = port or free_port(socket.SOCK_DGRAM)
        conf = self.dir / "unbound.conf"
        conf.write_text(self.config())
        self.stderr = open(self.dir / "unbound.stderr", "wb")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", str(conf)], stdout=self.stderr,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _register(self)
        # Ready when it answers a query for a name it serves (or any name).
        probe = next((n for z in self.zones.values() for n in z), "example.com")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"unbound exited ({self.proc.returncode}): {self.logs()}")
            try:
                dns_query("127.0.0.1", self.port, probe, timeout=0.3)
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"unbound did not answer on port {self.port}: {self.logs()}")

    def query(self, name, timeout=3.0):
        return dns_query("127.0.0.1", self.port, name, timeout=timeout)

    def forwarder(self):
        return f"127.0.0.1@{self.port}"

    def logs(self):
        out = ""
        for f in (self.dir / "unbound.stderr", self.log):
            if f.exists():
                out += f"--- {f}\n" + f.read_text(errors="replace")[-4000:]
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "stderr", None):
            self.stderr.close()

    def cleanup(self):
        self.stop()
        remove_tempdir(self.dir)


# ------------------------------------------------------------ Postfix ----

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
{smtp_services}
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
virtual    unix  -       n       n       -       -       virtual
lmtp       unix  -       -       n       -       -       lmtp
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
"""

# The domain matters: signetd (like rspamd, allow_username_mismatch = false)
# signs for an authenticated user only when the user's domain is the From domain.
SASL_USER = "alice@example.com"
SASL_PASSWORD = "wonderland-7"


class Postfix:
    """A private Postfix instance under a temp dir.

    Listens on 127.0.0.1:smtp_port (smtpd), delivers every recipient in
    domain `dest.test` with Postfix's virtual(8) agent into one Maildir
    (mail/inbox/new/), logs to `maillog`. With milter="inet:127.0.0.1:PORT"
    both smtpd_milters and non_smtpd_milters use it (milter_default_action =
    tempfail, so a dead milter shows as a 4xx, not as unfiltered mail). With
    sasl=True smtpd offers AUTH PLAIN/LOGIN backed by Cyrus SASL + a private
    sasldb (user SASL_USER / SASL_PASSWORD).

    Local vs external clients: everyone connects to the same port; the test
    decides by the client's source address (see `submit(source=...)`): the
    signetd config under test treats only 127.0.0.1 as local, so a client
    bound to 127.0.0.3 is an outside sender while Postfix's mynetworks
    (127.0.0.0/8) still lets it in. (One port instead of a second smtpd
    port: Postfix hands the milter the client address either way, and the
    non-SMTP path's emulated client 127.0.0.1 stays local.)

    Delivered files carry virtual(8)'s Return-Path, X-Original-To and
    Delivered-To on top; `Delivered` takes them off. Header rewriting for
    local clients is off (local_header_rewrite_clients empty), so what a
    client sends is what arrives below Postfix's Received.
    """

    DOMAIN = "dest.test"

    def __init__(self, milter=None, sasl=False, extra_main=None):
        self.dir = make_tempdir("signet-postfix-")
        self.etc = self.dir / "etc"
        self.spool = self.dir / "spool"
        self.data = self.dir / "data"
        self.mail = self.dir / "mail"
        self.maillog = self.dir / "maillog"
        self.milter = milter
        self.sasl = sasl
        self.extra_main = extra_main or {}
        self.smtp_port = None
        self.started = False

    def main_cf(self):
        pw = pwd.getpwnam("postfix")
        p = {
            "compatibility_level": "3.6",
            "queue_directory": self.spool,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "syslog_name": "signet-test-postfix",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            "myhostname": "mx.signet.test",
            "mydomain": "signet.test",
            "myorigin": "signet.test",
            "mydestination": "",
            "relayhost": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "append_dot_mydomain": "no",
            "readme_directory": "no",
            # Do not add or rewrite headers of SMTP mail (default would for
            # clients on inet_interfaces, i.e. 127.0.0.1): the bytes the test
            # sent are the bytes delivered, plus Postfix's Received.
            "local_header_rewrite_clients": "",
            "virtual_mailbox_domains": self.DOMAIN,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "static:inbox/",
            "virtual_uid_maps": f"static:{pw.pw_uid}",
            "virtual_gid_maps": f"static:{pw.pw_gid}",
            "virtual_transport": "virtual",
            "smtpd_relay_restrictions":
                "permit_mynetworks permit_sasl_authenticated reject_unauth_destination",
            "smtpd_banner": "$myhostname ESMTP signet-test",
            "delay_warning_time": "0",
            "maximal_queue_lifetime": "1h",
            "bounce_queue_lifetime": "1h",
            "queue_run_delay": "10s",
            "minimal_backoff_time": "10s",
            "smtpd_error_sleep_time": "0",
            "in_flow_delay": "0",
            "milter_protocol": "6",
            "milter_default_action": "tempfail",
            "milter_connect_timeout": "10s",
            "milter_command_timeout": "20s",
            "milter_content_timeout": "30s",
        }
        if self.milter:
            p["smtpd_milters"] = self.milter
            p["non_smtpd_milters"] = self.milter
        if self.sasl:
            p.update({
                "smtpd_sasl_auth_enable": "yes",
                "smtpd_sasl_type": "cyrus",
                "smtpd_sasl_path": "smtpd",
                "cyrus_sasl_config_path": self.etc / "sasl",
                "smtpd_sasl_security_options": "noanonymous",
                "smtpd_sasl_local_domain": "",
                "smtpd_sasl_authenticated_header": "no",
            })
        p.update(self.extra_main)
        return "".join(f"{k} = {v}\n" for k, v in p.items())

    def _setup_sasl(self):
        # Debian's Postfix reads $config_directory/sasl/smtpd.conf whatever
        # cyrus_sasl_config_path says (seen with strace), so put it there.
        d = self.etc / "sasl"
        d.mkdir()
        db = d / "sasldb2"
        (d / "smtpd.conf").write_text(
            "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
            f"sasldb_path: {db}\nmech_list: PLAIN LOGIN\n")
        user, realm = SASL_USER.split("@")
        r = subprocess.run([SASLPASSWD2, "-f", str(db), "-c", "-p", "-u", realm, user],
                           input=SASL_PASSWORD.encode(), capture_output=True, timeout=20)
        if r.returncode != 0:
            raise RuntimeError(f"saslpasswd2 failed: {r.stderr.decode(errors='replace')}")
        os.chown(db, 0, grp.getgrnam("postfix").gr_gid)
        db.chmod(0o640)

    def start(self, timeout=20):
        pw = pwd.getpwnam("postfix")
        self.etc.mkdir()
        self.spool.mkdir()
        self.data.mkdir()
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        self.mail.mkdir()
        os.chown(self.mail, pw.pw_uid, pw.pw_gid)
        if self.sasl:
            self._setup_sasl()
        self.smtp_port = free_port()
        (self.etc / "main.cf").write_text(self.main_cf())
        (self.etc / "master.cf").write_text(MASTER_CF.format(
            smtp_services=f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd"))
        # post-install create-missing makes the queue subdirectories with the
        # owners and modes postfix-files lists; `postfix start` checks them.
        self._postfix("post-install", "create-missing", check=True)
        _register(self)
        self._postfix("start", check=True)
        self.started = True
        wait_tcp("127.0.0.1", self.smtp_port, timeout, what=f"postfix smtpd ({self.dir})")
        return self

    def _postfix(self, *args, check=False, timeout=60):
        r = subprocess.run([POSTFIX, "-c", str(self.etc), *args], capture_output=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)} failed ({r.returncode}):\n"
                               f"{r.stdout.decode(errors='replace')}"
                               f"{r.stderr.decode(errors='replace')}\n{self.log_tail()}")
        return r

    def master_pid(self):
        try:
            return int((self.spool / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        if not self.started:
            return
        pid = self.master_pid()
        self._postfix("stop")
        # postfix stop signals master, which stops its children; make sure.
        if pid:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        for p in self._our_processes():
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.started = False

    def _our_processes(self):
        """Leftover Postfix processes of this instance: their command line
        names our config or queue dir (children inherit MAIL_CONFIG)."""
        pids = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                env = (d / "environ").read_bytes()
            except OSError:
                continue
            if f"MAIL_CONFIG={self.etc}".encode() in env.split(b"\0"):
                pids.append(int(d.name))
        return pids

    def cleanup(self):
        self.stop()
        remove_tempdir(self.dir)

    # ---- use ----

    def submit(self, msg, sender="sender@example.com", rcpts=("user@dest.test",),
               source="127.0.0.1", auth=None, timeout=30):
        """Sends msg (bytes; any line ends, sent as CRLF) over SMTP from the
        given source address. Returns the queue id from the 250 reply.
        auth=(user, password) logs in first. Raises smtplib errors."""
        data = crlf(msg)
        with smtplib.SMTP("127.0.0.1", self.smtp_port, source_address=(source, 0),
                          timeout=timeout) as s:
            s.ehlo("client.signet.test")
            if auth:
                s.login(*auth)
            code, resp = s.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            for r in rcpts:
                code, resp = s.rcpt(r)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({r: (code, resp)})
            code, resp = s.data(data)
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
        m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
        return m.group(1).decode() if m else None

    def session(self, source="127.0.0.1", auth=None, timeout=30):
        """An open smtplib.SMTP session (after EHLO and AUTH) for several
        transactions on one connection; use send_on() with it."""
        s = smtplib.SMTP("127.0.0.1", self.smtp_port, source_address=(source, 0),
                         timeout=timeout)
        s.ehlo("client.signet.test")
        if auth:
            s.login(*auth)
        return s

    @staticmethod
    def send_on(s, msg, sender="sender@example.com", rcpts=("user@dest.test",)):
        """One transaction on an open session; returns the queue id."""
        code, resp = s.mail(sender)
        assert code == 250, (code, resp)
        for r in rcpts:
            code, resp = s.rcpt(r)
            assert code in (250, 251), (code, resp)
        code, resp = s.data(crlf(msg))
        if code != 250:
            raise smtplib.SMTPDataError(code, resp)
        m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
        return m.group(1).decode() if m else None

    def sendmail(self, msg, sender="sender@example.com", rcpts=("user@dest.test",), timeout=30):
        """Submits msg through this instance's sendmail(1) (the non-SMTP
        path: pickup + cleanup, non_smtpd_milters)."""
        r = subprocess.run([SENDMAIL, "-C", str(self.etc), "-f", sender, "-i", *rcpts],
                           input=lf(msg), capture_output=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"sendmail failed ({r.returncode}): "
                               f"{r.stderr.decode(errors='replace')}")

    def delivered(self):
        """Paths of the delivered messages (Maildir new/)."""
        d = self.mail / "inbox" / "new"
        return sorted(d.iterdir()) if d.is_dir() else []

    def wait_delivery(self, token, timeout=20):
        """The delivered message (bytes, LF line ends) that contains token
        (e.g. its unique Message-ID); on timeout fails with the queue and the
        maillog."""
        tok = token.encode() if isinstance(token, str) else token
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for f in self.delivered():
                try:
                    data = f.read_bytes()
                except OSError:
                    continue
                if tok in data:
                    return data
            time.sleep(0.05)
        raise AssertionError(f"no delivery containing {token!r} after {timeout}s\n"
                             f"{self.diagnostics()}")

    def queue(self):
        r = subprocess.run([POSTQUEUE, "-c", str(self.etc), "-p"], capture_output=True,
                           timeout=20)
        return (r.stdout + r.stderr).decode(errors="replace")

    def log_text(self):
        try:
            return self.maillog.read_text(errors="replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=10):
        """The maillog once pattern (a regex) is found in it (postlogd
        writes a line after the SMTP reply that caused it: read at once,
        it may not be there yet); on timeout the log as it is."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if re.search(pattern, text) or time.monotonic() >= deadline:
                return text
            time.sleep(0.05)

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def diagnostics(self):
        return (f"--- postqueue -p ({self.dir}):\n{self.queue()}\n"
                f"--- maillog (last lines):\n{self.log_tail()}")

    def queue_id_for(self, message_id, timeout=10):
        """The queue id cleanup logged for a Message-ID (without <>)."""
        pat = re.compile(r"\]: ([0-9A-F]+): message-id=<" + re.escape(message_id) + ">")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = pat.search(self.log_text())
            if m:
                return m.group(1)
            time.sleep(0.05)
        return None


class Redis:
    """A private redis-server on a free loopback port, no persistence
    (issue #15 report data, issue #17 keys in Redis). cli() runs redis-cli
    against it. password: requirepass (the default user's password; cli()
    gives it); users: [(name, password)] Redis 6 ACL users with every
    right (`--user NAME on >PASSWORD ~* &* +@all`)."""

    def __init__(self, tmp, port=None, password=None, users=()):
        self.port = port or free_port()
        self.dir = tmp
        self.proc = None
        self.password = password
        self.users = list(users)

    def start(self):
        auth = ["--requirepass", self.password] if self.password is not None else []
        for name, pw in self.users:
            auth += ["--user", name, "on", f">{pw}", "~*", "&*", "+@all"]
        self.proc = subprocess.Popen(
            ["redis-server", "--save", "", "--appendonly", "no", "--port", str(self.port),
             "--bind", "127.0.0.1", "--dir", str(self.dir), *auth],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        _register(self)
        wait_tcp("127.0.0.1", self.port, 10, proc=self.proc, what="redis-server")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def cleanup(self):
        self.stop()

    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def server(self):
        return f"127.0.0.1:{self.port}"

    def cli(self, *args, input=None):
        auth = (["-a", self.password, "--no-auth-warning"] if self.password is not None
                else [])
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *auth, *args],
                           input=input, capture_output=True, timeout=10)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode(errors="replace").strip()

    def hset(self, key, field, value):
        """HSET with the value from stdin (-x): a PEM key keeps its newlines."""
        return self.cli("-x", "HSET", key, field,
                        input=value.encode() if isinstance(value, str) else value)

    def save(self):
        """SAVE: dump.rdb in dir, which the next start() loads (a stop and
        start then keeps the data, as a restarted production Redis would)."""
        assert self.cli("SAVE") == "OK"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        st = Path(f"/proc/{pid}/stat").read_text()
        return st.split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def crlf(msg):
    msg = msg.encode() if isinstance(msg, str) else msg
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def lf(msg):
    msg = msg.encode() if isinstance(msg, str) else msg
    return msg.replace(b"\r\n", b"\n")


# ------------------------------------------------------------ signetd ----

class Signetd:
    """signetd started as `signetd -f -c FILE` with a generated config
    (DESIGN.md "signetd command line and config"), milter socket on a free
    127.0.0.1 port, log to stderr captured in <dir>/signetd.log.

    selectors: [(domain, selector, keyfile)] signed with (keyfile None:
    no path, for dkim_signing.use_redis); signing_extra: more UCL text
    inside dkim_signing { }; extra: more UCL text appended at top level;
    on_error_sign: the on_error.sign value;
    env: variables added to signetd's environment (e.g. LD_PRELOAD).
    dmarc: False (default) writes dmarc { enabled = false; }: DMARC's
    _dmarc lookups for example.com would leave the test zones for the
    Internet (example.com publishes p=reject there), so only the DMARC
    tests (test_dmarc_postfix.py), with their own zones, turn it on."""

    def __init__(self, binary, forwarders, selectors, local_addrs=("127.0.0.1/32",),
                 dns_timeout="2s", authserv_id="mx.signet.test", extra="",
                 on_error_sign="tempfail", env=None, dmarc=False, signing_extra=""):
        self.binary = Path(binary)
        self.dir = make_tempdir("signetd-")
        self.forwarders = list(forwarders)
        self.selectors = list(selectors)
        self.local_addrs = list(local_addrs)
        self.dns_timeout = dns_timeout
        self.authserv_id = authserv_id
        self.extra = extra
        self.on_error_sign = on_error_sign
        self.env = dict(env or {})
        self.dmarc = dmarc
        self.signing_extra = signing_extra
        self.port = None
        self.proc = None
        self.conf = self.dir / "signetd.conf"
        self.logfile = self.dir / "signetd.log"

    def milter(self):
        return f"inet:127.0.0.1:{self.port}"

    def config(self):
        q = ucl_str
        domains = {}
        for domain, selector, key in self.selectors:
            path = "" if key is None else f" path = {q(str(key))};"
            domains.setdefault(domain, []).append(f"{{ selector = {q(selector)};{path} }}")
        dom_text = "".join(
            f"    {d} {{\n      selectors = [\n        " + ",\n        ".join(sels) +
            "\n      ];\n    }\n" for d, sels in domains.items())
        return (
            "# generated by tests/integration/harness.py\n"
            f"socket = {q(f'inet:{self.port}@127.0.0.1')};\n"
            f"authserv_id = {q(self.authserv_id)};\n"
            f"local_addrs = [{', '.join(q(a) for a in self.local_addrs)}];\n"
            f'on_error {{ sign = {q(self.on_error_sign)}; verify = "accept"; }}\n'
            "dns {\n"
            f"  forwarders = [{', '.join(q(f) for f in self.forwarders)}];\n"
            f"  timeout = {self.dns_timeout};\n"
            "}\n"
            'log { target = "stderr"; }\n'
            "dkim_signing {\n"
            "  sign_authenticated = true;\n"
            "  sign_local = true;\n"
            '  use_domain = "header";\n' + self.signing_extra +
            "  domain {\n" + dom_text + "  }\n"
            "}\n" + ("" if self.dmarc else "dmarc { enabled = false; }\n") + self.extra)

    def start(self, timeout=15):
        self.port = free_port()
        self.conf.write_text(self.config())
        self._log = open(self.logfile, "ab")
        self.proc = subprocess.Popen([str(self.binary), "-f", "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **self.env} if self.env else None)
        _register(self)
        try:
            wait_tcp("127.0.0.1", self.port, timeout, proc=self.proc, what="signetd")
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"{e}\n--- {self.conf}:\n{self.config()}\n--- log:\n"
                               f"{self.log_text()[-4000:]}") from None
        return self

    def check_config(self):
        """`signetd -t -c FILE`: (exit status, output)."""
        self.port = self.port or free_port()
        self.conf.write_text(self.config())
        r = subprocess.run([str(self.binary), "-t", "-c", str(self.conf)],
                           capture_output=True, timeout=30)
        return r.returncode, (r.stdout + r.stderr).decode(errors="replace")

    def log_text(self):
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    def log_lines_with(self, needle, timeout=5.0, count=1):
        """Log lines containing needle, waiting up to timeout for `count`."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [ln for ln in self.log_text().splitlines() if needle in ln]
            if len(lines) >= count or time.monotonic() >= deadline:
                return lines
            time.sleep(0.05)

    def sanitizer_reports(self):
        return [m for m in SANITIZER_MARKS if m in self.log_text()]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM, wait; returns the exit status (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        remove_tempdir(self.dir)


# ------------------------------------------------------------ fleets ----

class Fleet:
    """Several signetd sharing keys and the key rotation state in one Redis
    (dkim_signing.use_redis, issue #17), with a real unbound serving the
    key records: start_fleet() builds it; cleanup() stops everything."""

    def __init__(self):
        self.redis = self.unbound = None
        self.signetds = []

    def cleanup(self):
        for part in (*self.signetds, self.unbound, self.redis):
            if part:
                part.cleanup()


def start_fleet(tmp, n, zones, domains, ttl=60, key_prefix="dkim_keys",
                selector_prefix="DKIM_SELECTORS", extra="", metrics=False):
    """redis-server + unbound (zones, TTL ttl) + n signetd with use_redis,
    key_prefix and selector_prefix, each signing `domains` (the selector
    comes from Redis), log on stderr, optional metrics listener (sd.metrics_port).
    extra: more top-level UCL (e.g. rotation { }). On failure everything
    started is stopped again."""
    missing = missing_tools(UNBOUND)
    if missing or shutil.which("redis-server") is None:
        raise RuntimeError(f"fleet needs unbound and redis-server: {missing}")
    fl = Fleet()
    try:
        fl.redis = Redis(tmp).start()
        fl.unbound = Unbound(zones, ttl=ttl).start()
        sel = f'  selector_prefix = {ucl_str(selector_prefix)};\n' if selector_prefix else ""
        signing = (f"  use_redis = true;\n  key_prefix = {ucl_str(key_prefix)};\n{sel}"
                   f"  servers = [{ucl_str(fl.redis.server())}];\n  timeout = 1s;\n")
        for _ in range(n):
            more = extra
            port = None
            if metrics:
                port = free_port()
                more += f'metrics {{ listen = "127.0.0.1:{port}"; }}\n'
            sd = Signetd(signetd_path(), [fl.unbound.forwarder()],
                         [(d, "dkim", None) for d in domains], extra=more,
                         signing_extra=signing)
            sd.metrics_port = port
            fl.signetds.append(sd)
            sd.start()
        return fl
    except BaseException:
        fl.cleanup()
        raise


def ucl_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------- messages ----

DELIVERY_FIELDS = ("return-path", "x-original-to", "delivered-to")


def fields(msg):
    """[(lowercase name, raw field bytes with its line ends)] of the header
    block, and the rest (empty line + body)."""
    msg = lf(msg)
    out = []
    pos = 0
    while pos < len(msg):
        end = msg.find(b"\n", pos)
        end = len(msg) if end < 0 else end + 1
        line = msg[pos:end]
        if line in (b"\n", b""):
            break
        if line[:1] in (b" ", b"\t") and out:
            out[-1][1] += line
        else:
            out.append([line.split(b":", 1)[0].strip().lower().decode("latin-1"), line])
        pos = end
    return [(n, f) for n, f in out], msg[pos:]


class Delivered:
    """A delivered message taken apart: delivery-agent fields (Return-Path,
    X-Original-To, Delivered-To), the fields above Postfix's own Received
    (`added`: what milters inserted at index 0), that Received, and `rest`:
    everything after it, which must equal what the client sent."""

    def __init__(self, data):
        self.raw = lf(data)
        flds, tail = fields(self.raw)
        i = 0
        while i < len(flds) and flds[i][0] in DELIVERY_FIELDS:
            i += 1
        self.delivery = flds[:i]
        j = i
        while j < len(flds) and not (flds[j][0] == "received" and
                                     b"by mx.signet.test (Postfix" in flds[j][1]):
            j += 1
        if j == len(flds):
            raise AssertionError(f"no Received by mx.signet.test (Postfix) in:\n{data!r}")
        self.added = flds[i:j]
        self.received = flds[j][1]
        self.rest = b"".join(f for _, f in flds[j + 1:]) + tail
        # the message as a downstream reader sees it (delivery fields off)
        self.message = b"".join(f for _, f in flds[i:]) + tail

    def added_names(self):
        return [n for n, _ in self.added]

    def added_values(self, name):
        return [unfold(f).split(b":", 1)[1] for n, f in self.added if n == name.lower()]

    def all_values(self, name):
        flds, _ = fields(self.message)
        return [unfold(f).split(b":", 1)[1] for n, f in flds if n == name.lower()]


def unfold(field):
    return field.replace(b"\r\n", b"\n").replace(b"\n\t", b"\t").replace(b"\n ", b" ").rstrip(
        b"\n")


def strip_comments(s):
    """s without RFC 5322 comments (nested, quoted-pair aware, not inside quotes)."""
    out, depth, quoted, i = [], 0, False, 0
    while i < len(s):
        c = s[i]
        if c == "\\" and (depth or quoted) and i + 1 < len(s):
            if not depth:
                out.append(s[i:i + 2])
            i += 2
            continue
        if quoted:
            out.append(c)
            if c == '"':
                quoted = False
        elif c == '"' and not depth:
            quoted = True
            out.append(c)
        elif c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(c)
        i += 1
    return "".join(out)


def parse_ar(value):
    """An Authentication-Results value -> (authserv-id, [{method, result,
    reason, props}]). Good enough for our own output: no quoted ';'."""
    text = strip_comments(value.decode() if isinstance(value, bytes) else value)
    parts = [p.strip() for p in text.split(";")]
    head = parts[0].split()
    authserv = head[0] if head else ""
    results = []
    for p in parts[1:]:
        if not p:
            continue
        toks = re.findall(r'[^\s=]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s]+)|\S+', p)
        first = toks[0].split("=", 1)
        r = {"method": first[0].strip().split("/")[0].lower(),
             "result": first[1].strip().lower() if len(first) > 1 else None,
             "reason": None, "props": {}}
        for t in toks[1:]:
            if "=" not in t:
                continue
            k, v = (x.strip() for x in t.split("=", 1))
            if v.startswith('"'):
                v = v[1:-1]
            if k.lower() == "reason":
                r["reason"] = v
            else:
                r["props"][k.lower()] = v
        results.append(r)
    return authserv, results


def make_message(msgid, from_addr="user@example.com", subject="signet integration test",
                 body=b"Hello,\n\nthis is a test.\n", extra_headers=()):
    """A complete message (LF line ends) with a unique Message-ID."""
    h = [f"From: Test User <{from_addr}>", "To: Recipient <user@dest.test>",
         f"Subject: {subject}", "Date: Thu, 01 Jan 2026 10:00:00 +0000",
         f"Message-ID: <{msgid}>", "MIME-Version: 1.0",
         "Content-Type: text/plain; charset=us-ascii"]
    h = list(extra_headers) + h
    return ("\n".join(h) + "\n\n").encode() + lf(body)


def unique_id(tag):
    return f"{tag}.{os.getpid()}.{time.monotonic_ns()}.{random.randrange(1 << 30)}@example.com"


# ------------------------------------------- a world: DNS + MTAs ----
# What test_spf_postfix.py, test_dmarc_postfix.py and test_arc_postfix.py
# build their module fixtures from: an Unbound serving the test zones and
# one or more Mta (signetd + the Postfix it filters), started in order on
# a contextlib.ExitStack (started()) so that everything is stopped, the
# last first, however the setup or the tests end.

OUTSIDE = "127.0.0.3"  # an outside client: Signetd's local_addrs is 127.0.0.1/32


def world_unavailable(sasl=False):
    """Why a world cannot run here, as a reason for pytest.skip; None when
    it can: Postfix and unbound installed (and saslpasswd2 with sasl), root
    (a private Postfix instance), signetd and the signet CLI (keygen) built."""
    tools = [POSTFIX, POSTCONF, POSTQUEUE, SENDMAIL, UNBOUND] + ([SASLPASSWD2] if sasl else [])
    missing = missing_tools(*tools)
    if missing:
        return (f"Postfix/unbound tools missing: {', '.join(missing)} "
                "(install them with scripts/deps.sh)")
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (postfix -c DIR start)"
    if not executable(signetd_path()):
        return f"signetd not built at {signetd_path()} (build it, or set SIGNETD_BIN)"
    if not executable(signet_path()):
        return f"signet CLI not built at {signet_path()} (needed for keygen; set SIGNET_BIN)"
    return None


def keygen(key, domain, selector, algo="ed25519"):
    """`signet keygen` writes a private key to the path key; returns its
    DKIM key record (the TXT value)."""
    r = subprocess.run([str(signet_path()), "keygen", "-d", domain, "-s", selector, "-t", algo,
                        "-k", str(key), "--format", "txt"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().strip()


def started(stack, server):
    """server.start() with server.cleanup() pushed on stack (an ExitStack)
    first, so that one that fails half-way is cleaned up too. Returns it."""
    stack.callback(server.cleanup)
    server.start()
    return server


class Mta:
    """One MTA of a world: signetd, Signetd(signetd_path(), forwarders,
    selectors, **signetd_kw), and a Postfix (sasl, extra_main) with it as
    its milter. start() starts both; cleanup() stops what started, Postfix
    first."""

    def __init__(self, forwarders, selectors=(), sasl=False, extra_main=None, **signetd_kw):
        self.signetd = Signetd(signetd_path(), forwarders, selectors, **signetd_kw)
        self.sasl = sasl
        self.extra_main = extra_main
        self.postfix = None

    def start(self):
        self.signetd.start()
        self.postfix = Postfix(milter=self.signetd.milter(), sasl=self.sasl,
                               extra_main=self.extra_main)
        self.postfix.start()
        return self

    def cleanup(self):
        if self.postfix:
            self.postfix.cleanup()
        self.signetd.cleanup()

    def diagnostics(self, log_lines=40):
        return (f"{self.postfix.diagnostics()}\n--- signetd log (last lines):\n"
                + "\n".join(self.signetd.log_text().splitlines()[-log_lines:]))

    def transact(self, msg, sender, helo="client.signet.test", source=OUTSIDE, auth=None,
                 rcpt="user@dest.test"):
        """One SMTP transaction on a new connection from source: EHLO helo,
        AUTH auth (user, password) if given, MAIL and RCPT (both must be
        accepted), DATA msg (sent with CRLF). Returns the code and text of
        the reply to the end of DATA and the seconds it all took; an SMTP
        or socket error fails the test with diagnostics()."""
        t = time.monotonic()
        try:
            with smtplib.SMTP("127.0.0.1", self.postfix.smtp_port, source_address=(source, 0),
                              timeout=60) as s:
                s.ehlo(helo)
                if auth:
                    s.login(*auth)
                code, resp = s.mail(sender)
                assert code == 250, (code, resp)
                code, resp = s.rcpt(rcpt)
                assert code in (250, 251), (code, resp)
                code, resp = s.data(crlf(msg))
        except (smtplib.SMTPException, OSError) as e:
            raise AssertionError(f"SMTP failed: {e!r}\n{self.diagnostics()}")
        return code, resp.decode(errors="replace"), time.monotonic() - t

    def log_line(self, needle):
        """The one signetd log line with needle (a queue id, a domain)."""
        lines = self.signetd.log_lines_with(needle)
        assert len(lines) == 1, f"want one log line with {needle}: {lines}"
        return lines[0]

    # What a test's fixture asserts before and after it.
    def check_before(self):
        assert self.signetd.alive(), f"signetd died:\n{self.signetd.log_text()[-4000:]}"

    def check_after(self, diagnostics=None):
        """diagnostics: a callable giving the text shown when signetd died
        (default: this MTA's diagnostics())."""
        if not self.signetd.alive():
            raise AssertionError("signetd died during the test:\n"
                                 f"{(diagnostics or self.diagnostics)()}")
        assert not self.signetd.sanitizer_reports(), self.signetd.log_text()[-6000:]
