#!/usr/bin/python3
# demo_postfix.py: the second half of scripts/demo.sh, the real job: a real
# unbound serving the two key records, signetd as the milter of a private
# Postfix on loopback, mail in over SMTP and sendmail(1), read back from the
# Maildir, verified through DNS with `signet verify --dns --server`, and mail
# from "outside" verified by signetd (Authentication-Results).
# The servers come from tests/integration/harness.py (one implementation of
# the setup for tests and demo); everything lives in temp dirs and is stopped
# by pid at the end, on error and on Ctrl-C / SIGTERM. Needs root.
# Usage: demo_postfix.py --signet BIN --signetd BIN [--keys DIR --records FILE]
#   --keys DIR: rsa2024.key and ed2024.key of example.com (else made here);
#   --records FILE: "<selector>._domainkey.<domain> <TXT value>" lines.
import argparse
import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
import harness  # noqa: E402

DOMAIN = "example.com"
SELECTORS = (("rsa2024", "rsa"), ("ed2024", "ed25519"))
AUTHSERV = "mx.demo.test"
LOCAL, OUTSIDE = "127.0.0.1", "127.0.0.3"
BOLD, PLAIN = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def heading(text):
    print(f"\n{BOLD}=== {text}{PLAIN}", flush=True)


def say(text=""):
    print(text, flush=True)


def indent(text, prefix="    "):
    return "\n".join(prefix + ln for ln in text.rstrip("\n").splitlines())


def show(args, input=None, check=True, quiet=False):
    """Prints the command like demo.sh's show(), runs it, prints its output
    (unless quiet); returns the CompletedProcess."""
    say("$ " + " ".join(a if a and all(c.isalnum() or c in "_./=:@-" for c in a) else f"'{a}'"
                        for a in map(str, args)))
    r = subprocess.run([str(a) for a in args], input=input, capture_output=True, timeout=60)
    out = (r.stderr if quiet else r.stdout + r.stderr).decode(errors="replace")
    if out:
        say(out.rstrip("\n"))
    if check and r.returncode != 0:
        raise SystemExit(f"demo: {args[0]} exited with status {r.returncode}")
    return r


def on_signal(signum, frame):
    # Once: Ctrl-C reaches both this process and demo.sh, which then sends
    # SIGTERM; a second interrupt must not cut the clean-up short.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def keys_and_records(args, work):
    """{selector: key path} and {record name: TXT value}."""
    keys, records = {}, {}
    if args.keys:
        for sel, _ in SELECTORS:
            keys[sel] = Path(args.keys) / f"{sel}.key"
    else:
        say(f"Making the keys of {DOMAIN} (rsa2024: RSA 2048, ed2024: ed25519):")
        for sel, type_ in SELECTORS:
            keys[sel] = work / f"{sel}.key"
            r = show([args.signet, "keygen", "-d", DOMAIN, "-s", sel, "-t", type_, "-k", keys[sel],
                      "--format", "txt"])
            records[f"{sel}._domainkey.{DOMAIN}"] = r.stdout.decode().strip()
    if args.records:
        for line in Path(args.records).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, value = line.split(None, 1)
                records[name] = value
    return keys, records


def message(msgid, subject, body, from_addr=f"joe@{DOMAIN}"):
    return (f"From: Joe SixPack <{from_addr}>\nTo: Suzie Q <suzie@dest.test>\n"
            f"Subject: {subject}\nDate: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\n"
            f"Message-ID: <{msgid}>\n\n{body}").encode()


def header_fields(data, name):
    flds, _ = harness.fields(data)
    return [harness.unfold(f).decode(errors="replace") for n, f in flds if n == name.lower()]


def run(args):
    work = harness.make_tempdir("signet-demo-mx-")
    unbound = signetd = postfix = None
    try:
        keys, records = keys_and_records(args, work)

        heading(f"6. Publish the records in a real DNS server (unbound on 127.0.0.1)")
        say("Up to here a keys file stood in for DNS. Now a private unbound serves the two")
        say("TXT records, as your DNS host would (the RSA one split into 255-octet strings),")
        say(f"with {DOMAIN}'s SPF record (its mail comes from 127.0.0.3 in this demo) and")
        say("its DMARC policy, which receivers apply to mail that fails both:")
        zone = {n: [v] for n, v in records.items()}
        zone[DOMAIN] = ["v=spf1 ip4:127.0.0.3 -all"]
        zone[f"_dmarc.{DOMAIN}"] = [f"v=DMARC1; p=reject; rua=mailto:dmarc@{DOMAIN}"]
        for n, v in sorted(zone.items()):
            if not n.endswith("._domainkey." + DOMAIN):
                say(f"    {n}. IN TXT \"{v[0]}\"")
        unbound = harness.Unbound({DOMAIN: zone})
        unbound.start()
        dns = f"127.0.0.1@{unbound.port}"
        say(f"unbound is listening on {dns}. Check each record against its private key:")
        for sel, _ in SELECTORS:
            show([args.signet, "dnscheck", "-d", DOMAIN, "-s", sel, "-k", keys[sel],
                  "--server", dns])

        heading("7. Start signetd, the milter, with both keys")
        signetd = harness.Signetd(args.signetd, [unbound.forwarder()],
                                  [(DOMAIN, sel, keys[sel]) for sel, _ in SELECTORS],
                                  local_addrs=["127.0.0.1/32"], authserv_id=AUTHSERV,
                                  dmarc=True)
        signetd.start()
        say(f"signetd -f -c {signetd.conf} is running (pid {signetd.proc.pid}); mail from")
        say("127.0.0.1 and mail handed over without SMTP is signed, everything else is")
        say("verified with keys from the unbound. Its configuration:")
        say(indent(signetd.conf.read_text()))
        say("`signetd -t` checks a configuration and its keys without starting (run it before")
        say("each reload, `kill -HUP`); every key problem would be named here, with its fix:")
        show([args.signetd, "-t", "-c", signetd.conf])

        heading("8. Start a private Postfix with signetd as its milter")
        postfix = harness.Postfix(milter=signetd.milter(), extra_main={"myhostname": AUTHSERV})
        postfix.start()
        say(f"Own config, queue and Maildir under {postfix.dir};")
        say(f"SMTP on 127.0.0.1:{postfix.smtp_port}; mail for @dest.test is delivered by virtual(8)")
        say(f"to the Maildir {postfix.mail}/inbox/.")
        say("The milter lines of its main.cf:")
        for line in postfix.main_cf().splitlines():
            if line.startswith(("smtpd_milters", "non_smtpd_milters", "milter_protocol",
                                "milter_default_action")):
                say("    " + line)
        say("(milter_default_action = tempfail: if signetd is down, mail waits instead of")
        say("leaving unsigned.)")

        heading("9. Send two messages: over SMTP from 127.0.0.1, and with sendmail(1)")
        smtp_id, sm_id = harness.unique_id("demo-smtp"), harness.unique_id("demo-sendmail")
        qid = postfix.submit(message(smtp_id, "Is dinner ready?",
                                     "Hi.\n\nWe lost the game. Are you hungry yet?\n\nJoe.\n"),
                             sender=f"joe@{DOMAIN}", rcpts=("suzie@dest.test",), source=LOCAL)
        say(f"SMTP from {LOCAL} (in local_addrs): accepted, queue id {qid}")
        postfix.sendmail(message(sm_id, "Sent with sendmail", "Hello from the command line.\n"),
                         sender=f"joe@{DOMAIN}", rcpts=("suzie@dest.test",))
        say(f"sendmail -C {postfix.etc} -f joe@{DOMAIN} suzie@dest.test:")
        say("accepted (the non-SMTP path: pickup and cleanup, non_smtpd_milters)")
        t0 = time.monotonic()
        signed = postfix.wait_delivery(smtp_id)
        via_sendmail = postfix.wait_delivery(sm_id)
        say(f"Both delivered to the Maildir within {time.monotonic() - t0:.1f} s.")

        heading("10. The delivered message, as Suzie's mail program reads it")
        say("On top: the two DKIM-Signature fields signetd added (above Postfix's Received);")
        say("Return-Path, X-Original-To and Delivered-To are the delivery agent's.")
        say(indent(signed.decode(errors="replace"), "| "))
        sigs = header_fields(via_sendmail, "DKIM-Signature")
        say(f"\nThe sendmail(1) message got {len(sigs)} signatures as well:")
        for s in sigs:
            s = " ".join(s.split())
            say("    " + (s[:92] + " ..." if len(s) > 96 else s))
        if len(header_fields(signed, "DKIM-Signature")) != 2 or len(sigs) != 2:
            raise SystemExit("demo: expected two DKIM-Signature fields on each message")

        heading("11. Verify it the way a receiver does: keys from DNS")
        (work / "delivered.eml").write_bytes(signed)
        r = show([args.signet, "verify", "--dns", "--server", dns, "--explain",
                  work / "delivered.eml"], check=False)
        say(f"exit status: {r.returncode} (0: a signature passes)")
        if r.returncode != 0:
            raise SystemExit("demo: expected the delivered message to verify")

        heading(f"12. Mail from outside: signetd verifies it and writes Authentication-Results")
        out_id = harness.unique_id("demo-outside")
        say("A message signed elsewhere (here: with `signet sign` and the rsa2024 key),")
        say(f"sent from {OUTSIDE}, which is not in local_addrs:")
        (work / "outside.eml").write_bytes(
            message(out_id, "Signed before it left", "Dinner is at eight.\n"))
        r = show([args.signet, "sign", "-d", DOMAIN, "-s", "rsa2024", "-k", keys["rsa2024"],
                  work / "outside.eml"], quiet=True)
        qid = postfix.submit(r.stdout, sender=f"joe@{DOMAIN}", rcpts=("suzie@dest.test",),
                             source=OUTSIDE)
        say(f"SMTP from {OUTSIDE}: accepted, queue id {qid}")
        got = postfix.wait_delivery(out_id)
        ar = header_fields(got, "Authentication-Results")
        say("The Authentication-Results field Postfix delivered (the first field of the message):")
        for a in ar:
            say("    " + " ".join(a.split()))
        _, results = harness.parse_ar(ar[0].split(":", 1)[1]) if ar else (None, [])
        # one field with every check of signetd (AR-POS-02): dkim, spf, arc, dmarc
        if [x["result"] for x in results if x["method"] == "dkim"] != ["pass"]:
            raise SystemExit("demo: expected dkim=pass in Authentication-Results")
        say(f"Only an Authentication-Results claiming {AUTHSERV} is trusted downstream; signetd")
        say("removes any such field that arrives from outside (it would be forged).")

        heading(f"13. A forgery: From {DOMAIN}, unsigned, from an address its SPF does not list")
        forged = "127.0.0.4"
        f_id = harness.unique_id("demo-forged")
        say(f"sent from {forged}: no DKIM signature, SPF fails, so DMARC fails and {DOMAIN}'s")
        say("policy (p=reject) is applied at the end of the message:")
        try:
            postfix.submit(message(f_id, "Urgent: wire transfer", "Please pay today.\n"),
                           sender=f"ceo@{DOMAIN}", rcpts=("suzie@dest.test",), source=forged)
            raise SystemExit("demo: the forged message was accepted")
        except smtplib.SMTPDataError as e:
            say(f"SMTP from {forged}: {e.smtp_code} {e.smtp_error.decode(errors='replace')}")
            if e.smtp_code != 550:
                raise SystemExit(f"demo: expected 550 for the forgery, got {e.smtp_code}")

        heading("14. signetd's log: one line per message")
        lines = signetd.log_lines_with(qid, timeout=3)
        say(indent(signetd.log_text()))
        if not lines:
            raise SystemExit("demo: no signetd log line for the outside message")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # the clean-up runs to its end
        heading("Cleaning up: stopping Postfix, signetd and unbound, removing their files")
        if postfix is not None and (postfix.etc / "main.cf").exists():
            # interrupted inside start(): `postfix stop` and the sweep for
            # this instance's processes must still run
            postfix.started = True
        for server in (postfix, signetd, unbound):
            if server is not None:
                server.cleanup()
        harness.remove_tempdir(work)
        say("done")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--signet", required=True)
    ap.add_argument("--signetd", required=True)
    ap.add_argument("--keys")
    ap.add_argument("--records")
    args = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    missing = harness.missing_tools(args.signet, args.signetd, harness.POSTFIX, harness.UNBOUND,
                                    harness.SENDMAIL)
    if missing:
        raise SystemExit(f"demo: missing: {', '.join(missing)} (scripts/deps.sh installs "
                         "postfix and unbound; scripts/build.sh builds signet and signetd)")
    if os.geteuid() != 0:
        raise SystemExit("demo: the Postfix part needs root (a private Postfix instance)")
    try:
        run(args)
    except KeyboardInterrupt as e:
        say(f"\ndemo: interrupted ({e or 'SIGINT'}); everything was stopped and removed")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
