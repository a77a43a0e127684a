#!/usr/bin/env bash
# A short tour of signet: installs the dependencies, builds, then in a scratch
# directory makes an RSA and an ed25519 key, shows the DNS records to publish
# and checks them, signs a message with both keys, verifies it step by step,
# changes one byte of the body and shows the failure. Then the real job
# (scripts/demo_postfix.py, with the servers of tests/integration/harness.py):
# a real unbound on 127.0.0.1 serves the two records, signetd signs for a
# private Postfix on loopback (over SMTP and through sendmail(1)), the
# delivered message is verified through DNS, and mail from outside gets
# signetd's Authentication-Results. Needs root for that part (Postfix).
# Idempotent and self-cleaning: every run works in new temporary directories,
# and the servers are stopped and the directories removed at the end, on error
# and on Ctrl-C (KEEP=1 keeps the files). SIGNET_BIN=path skips deps and build
# and uses that binary (signetd: $SIGNETD_BIN, else SIGNET_BIN's build dir).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# absolute, before any cd
abspath() { printf '%s/%s' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")"; }
if [ -n "${SIGNET_BIN:-}" ]; then
	SIGNET_BIN=$(abspath "$SIGNET_BIN")
	SIGNETD_BIN=$(abspath "${SIGNETD_BIN:-$(dirname "$SIGNET_BIN")/../daemon/signetd}")
fi
cd "$root"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
heading() { printf '\n%s=== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '%s\n' "$*"; }
# Prints the command (shell-quoted, on stderr so $(show ...) captures only its output), runs it.
show() {
	local a line='$'
	for a in "$@"; do
		case $a in *[!A-Za-z0-9_./=:-]*) line+=" '$a'" ;; *) line+=" $a" ;; esac
	done
	printf '%s\n' "$line" >&2
	"$@"
}

if [ -n "${SIGNET_BIN:-}" ]; then
	signet=$SIGNET_BIN
else
	heading "Installing dependencies (Debian packages)"
	bash scripts/deps.sh
	heading "Building signet (meson + ninja, ./build)"
	bash scripts/build.sh build
	signet=$root/build/cli/signet
fi
signetd=${SIGNETD_BIN:-$root/build/daemon/signetd}

demo=$(mktemp -d "${TMPDIR:-/tmp}/signet-demo.XXXXXX")
driver_pid=
# The Postfix part runs in the background so that a signal to this script
# can be passed on: the driver then stops its servers and removes its files.
stop_driver() {
	if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
		kill -TERM "$driver_pid" 2>/dev/null || true
		wait "$driver_pid" 2>/dev/null || true
	fi
}
if [ "${KEEP:-0}" = 1 ]; then
	export SIGNET_KEEP_TMP=1 # harness.py keeps its dirs too, and names them
	trap 'stop_driver; say ""; say "demo files kept in $demo"' EXIT
else
	trap 'stop_driver; rm -rf "$demo"' EXIT
fi
trap 'exit 130' INT
trap 'exit 143' TERM HUP
cd "$demo"
mkdir -m 700 keys
domain=example.com

heading "1. Make keys: RSA 2048 (selector rsa2024) and ed25519 (selector ed2024)"
say "keygen writes the private key (PEM, mode 0600, never overwritten) and prints the"
say "DNS record. --format txt prints the bare value a registrar's web form wants; the"
say "default (--format zone) prints a zone-file line."
rsa_rec=$(show "$signet" keygen -d "$domain" -s rsa2024 -t rsa -k keys/rsa2024.key --format txt)
say "$rsa_rec"
ed_rec=$(show "$signet" keygen -d "$domain" -s ed2024 -t ed25519 -k keys/ed2024.key --format txt)
say "$ed_rec"
show ls -l keys

heading "2. Publish the records (here: a keys file standing in for DNS)"
{
	printf '# what DNS would answer: <selector>._domainkey.<domain> <TXT value>\n'
	printf 'rsa2024._domainkey.%s %s\n' "$domain" "$rsa_rec"
	printf 'ed2024._domainkey.%s %s\n' "$domain" "$ed_rec"
} >keys.txt
show cut -c1-100 keys.txt
say ""
say "Check each record against its private key before publishing it:"
show "$signet" dnscheck -d "$domain" -s rsa2024 -k keys/rsa2024.key --record "$rsa_rec"
show "$signet" dnscheck -d "$domain" -s ed2024 -k keys/ed2024.key --record "$ed_rec"

heading "3. Sign a message with both keys (rsa-sha256, then ed25519-sha256)"
cat >message.eml <<MSG
From: Joe SixPack <joe@$domain>
To: Suzie Q <suzie@shopping.example.net>
Subject: Is dinner ready?
Date: $(date -R)
Message-ID: <demo.$$@$domain>

Hi.

We lost the game. Are you hungry yet?

Joe.
MSG
show "$signet" sign -d "$domain" -s rsa2024 -k keys/rsa2024.key message.eml >signed-once.eml
show "$signet" sign -d "$domain" -s ed2024 -k keys/ed2024.key -a ed25519-sha256 signed-once.eml \
	>signed.eml
say "(written to signed-once.eml, then signed.eml)"
say ""
say "The signed message (signatures on top, the message itself unchanged):"
cat signed.eml

heading "4. Verify, step by step"
rc=0
show "$signet" verify --keys keys.txt --explain signed.eml || rc=$?
say "exit status: $rc (0: a signature passes)"
[ "$rc" -eq 0 ] || { say "demo: expected a pass" >&2; exit 1; }

heading "5. Change one byte of the body and verify again"
sed 's/We lost the game/We last the game/' signed.eml >tampered.eml
show diff signed.eml tampered.eml || true
rc=0
show "$signet" verify --keys keys.txt --explain tampered.eml || rc=$?
say "exit status: $rc (1: signatures present, none passes)"
[ "$rc" -eq 1 ] || { say "demo: expected a failure" >&2; exit 1; }

heading "5b. A mailing list appends a footer: --explain says what was added"
{ cat signed.eml; printf '%s\n' '--' 'You received this because you are subscribed to dinner@lists.example.net.' \
	'To unsubscribe, send a message to dinner-leave@lists.example.net.'; } >footer.eml
rc=0
show "$signet" verify --keys keys.txt --explain footer.eml || rc=$?
[ "$rc" -eq 1 ] || { say "demo: expected a failure" >&2; exit 1; }

say ""
say "So far the CLI alone. Now the real job: signetd, the milter, signing and verifying"
say "the mail of a real Postfix, with keys published in a real DNS server."
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
		say "(a private Postfix instance needs root: running the rest with sudo)"
	else
		say "demo: the Postfix part needs root (a private Postfix instance); run as root" >&2
		exit 1
	fi
fi
"${SUDO[@]}" /usr/bin/python3 -u "$root/scripts/demo_postfix.py" --signet "$signet" \
	--signetd "$signetd" --keys "$demo/keys" --records "$demo/keys.txt" &
driver_pid=$!
rc=0
wait "$driver_pid" || rc=$?
driver_pid=
[ "$rc" -eq 0 ] || { say "demo: the Postfix part failed (exit status $rc)" >&2; exit "$rc"; }

heading "Done"
say "To run signetd for real: write /etc/signet/signetd.conf (signetd.conf(5); the"
say "config above is a start), check it with 'signetd -t', point Postfix's smtpd_milters"
say "and non_smtpd_milters at its socket, and publish the records at"
say "rsa2024._domainkey.$domain and ed2024._domainkey.$domain (check them with"
say "'signet dnscheck -d $domain -s rsa2024 -k KEYFILE'). Manual pages: doc/signet.1,"
say "doc/signetd.8, doc/signetd.conf.5."
