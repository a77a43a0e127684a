#!/usr/bin/env bash
# A five-minute tour of signet: installs the dependencies, builds, then in a
# scratch directory makes an RSA and an ed25519 key, shows the DNS records to
# publish and checks them, signs a message with both keys, verifies it step
# by step, changes one byte of the body and shows the failure.
# Idempotent: every run works in a new temporary directory (removed at the
# end; KEEP=1 keeps it). SIGNET_BIN=path skips deps and build and uses that binary.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
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

demo=$(mktemp -d "${TMPDIR:-/tmp}/signet-demo.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
	trap 'say ""; say "demo files kept in $demo"' EXIT
else
	trap 'rm -rf "$demo"' EXIT
fi
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

heading "Done"
say "Next: publish the records at rsa2024._domainkey.$domain and ed2024._domainkey.$domain,"
say "check them with '$signet dnscheck -d $domain -s rsa2024 -k KEYFILE', and see"
say "doc/signet.1 for every option."
