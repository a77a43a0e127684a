#!/usr/bin/env bash
# Installs the Debian 12 packages signet needs to build, test and run the demo.
# Idempotent: packages already installed are not asked for again, and apt-get
# update runs only when something is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
	build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
	libssl-dev libcmocka-dev libevent-dev libunbound-dev libhiredis-dev libmicrohttpd-dev
	python3 python3-pytest python3-dkim python3-nacl python3-authres python3-yaml python3-spf
	libmail-dkim-perl libcryptx-perl libmail-authenticationresults-perl opendkim-tools
	opendkim  # its example configs: tests/integration/test_import_opendkim.py
	postfix unbound ca-certificates curl
	publicsuffix libpsl-dev libidn2-dev
	sasl2-bin libsasl2-modules
	libexpat1-dev zlib1g-dev libzip-dev libgmime-3.0-dev chromium
	debhelper lintian
	libsqlite3-dev zlib1g-dev libxml2-utils
	redis-server  # tests/integration/test_dmarc_redis.py (issue #15 Fleets)
	libldns-dev knot knot-dnsutils  # signet rotate --nsupdate; tests/integration/test_nsupdate.py
)

missing=()
for p in "${PACKAGES[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: run as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# postfix asks which mail setup to use: none (the tests write their own config).
echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections
# Installing postfix/unbound must not start system daemons (port 25/53); tests
# start their own instances on high ports. policy-rc.d exit 101 = "not allowed".
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
	"${SUDO[@]}" chmod 755 "$policy"
	made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
