#!/usr/bin/env bash
# Configures (or reconfigures) and builds signet with meson + ninja.
# Usage: scripts/build.sh [BUILDDIR] [extra meson args...]   (BUILDDIR default: build)
# Idempotent: an existing build dir is reconfigured with the given args; a
# build dir whose earlier setup failed half-way is wiped and set up again.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
builddir=${1:-build}
[ $# -gt 0 ] && shift

if [ -f "$builddir/build.ninja" ]; then
	if [ $# -gt 0 ]; then
		meson configure "$builddir" "$@"
	fi
elif [ -f "$builddir/meson-private/coredata.dat" ]; then
	meson setup --wipe "$builddir" "$@"
else
	meson setup "$builddir" "$@"
fi
# SIGNET_NINJA_ARGS: extra ninja arguments (scripts/test.sh passes "-k 0" to build
# everything that compiles, so the suites that can run still run).
# shellcheck disable=SC2086
ninja -C "$builddir" ${SIGNET_NINJA_ARGS:-}
