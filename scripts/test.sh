#!/usr/bin/env bash
# Runs every signet test suite: installs the dependencies, builds `build`
# (normal) and `build-asan` (ASan+UBSan), then runs the cmocka unit tests and
# the pytest integration suites in both, compiles a release build (-O3) and
# then runs the libFuzzer targets (fuzz/run,
# clang, build-fuzz) for FUZZ_SECONDS each: default 12 when CI=true (two at a
# time on two cores: about 1.5 min for the fourteen fuzz/run lists, so that
# the whole CI run, with issue #17's Redis, Knot and fleet suites in both
# builds, stays under 20 min; long runs are doc/SECURITY.md's), 10
# otherwise, 0 skips them.
# Prints one line per suite and, as the very last line,
# "N passed, N failed, N skipped" over everything.
# Exit status: 0 only if nothing failed (a build or a suite that could not
# run counts as failed).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Debian's python3 has python3-pytest/-dkim/-nacl; a python3 earlier in PATH
# (pyenv, venv) may not.
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
TIMEOUT_UNIT=${TIMEOUT_UNIT:-300}
TIMEOUT_PYTEST=${TIMEOUT_PYTEST:-1200}
if [ "${CI:-}" = true ]; then FUZZ_SECONDS=${FUZZ_SECONDS:-12}; else FUZZ_SECONDS=${FUZZ_SECONDS:-10}; fi

total_p=0 total_f=0 total_s=0
summary=()
record() { # NAME PASSED FAILED SKIPPED [NOTE]
	local line
	total_p=$((total_p + $2)) total_f=$((total_f + $3)) total_s=$((total_s + $4))
	line=$(printf '%-44s %d passed, %d failed, %d skipped%s' "$1:" "$2" "$3" "$4" "${5:+  ($5)}")
	summary+=("$line")
	printf '%s\n' "$line"
}

# One cmocka executable, TAP output. Counts ok / not ok / # SKIP lines; a
# crash or a missing result (fewer lines than the 1..N plan) is a failure.
run_unit() { # BUILDDIR NAME EXECUTABLE
	local b=$1 name=$2 exe=$3 log="$1/test-logs/$2.log" rc=0
	if [ ! -x "$exe" ]; then
		record "[$b] $name" 0 1 0 "not built: $exe"
		return
	fi
	CMOCKA_MESSAGE_OUTPUT=TAP timeout "$TIMEOUT_UNIT" "$exe" >"$log" 2>&1 || rc=$?
	local planned p f s
	planned=$(grep -E '^1\.\.[0-9]+' "$log" | sed 's/^1\.\.//' | awk '{n += $1} END {print n + 0}')
	s=$(grep -cE '^(not )?ok [0-9]+ # SKIP' "$log" || true)
	p=$(grep -E '^ok [0-9]+' "$log" | grep -cv ' # SKIP' || true)
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -cv ' # SKIP' || true)
	local note=""
	if [ $((p + f + s)) -lt "$planned" ]; then
		note="$((planned - p - f - s)) of $planned tests gave no result"
		f=$((f + planned - p - f - s))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		note="exit status $rc with no failed test: crash or timeout"
		f=1
	fi
	if [ "$planned" -eq 0 ] && [ "$f" -eq 0 ]; then
		note="no TAP plan: ran no tests"
		f=1
	fi
	record "[$b] $name" "$p" "$f" "$s" "$note"
	if [ "$f" -ne 0 ]; then
		grep -E '^not ok|^# ' "$log" | grep -v '^# not ok' | head -40 | sed 's/^/    /' || true
		echo "    (full log: $log)"
		tail -n 15 "$log" | sed 's/^/    | /'
	fi
}

# Every test meson registers in suite "unit" (tests/meson.build), by name and
# executable, as meson knows them even when one did not build.
run_units() { # BUILDDIR
	local b=$1 name exe n=0 list
	list=$(meson introspect --tests "$b" | "$PY" -c '
import json, sys
for t in json.load(sys.stdin):
    if any(x.split(":")[-1] == "unit" for x in t.get("suite", [])):
        print(t["name"] + "\t" + t["cmd"][0])
') || list=""
	while IFS=$'\t' read -r name exe; do
		[ -n "$name" ] || continue
		n=$((n + 1))
		run_unit "$b" "$name" "$exe"
	done <<<"$list"
	if [ "$n" -eq 0 ]; then
		record "[$b] unit" 0 1 0 "no unit tests registered (meson introspect --tests)"
	fi
}

# pytest over tests/integration against BUILDDIR's signet; counts from the
# junit XML. Exit status 5 (nothing collected) or any status other than 0/1
# is a failure of the suite, as is status 1 with no failed test counted.
run_pytest() { # BUILDDIR LABEL [pytest args...]
	local b=$1 label=$2 rc=0
	shift 2
	if [ ! -x "$b/cli/signet" ]; then
		record "[$b] pytest $label" 0 1 0 "not run: $b/cli/signet was not built"
		return
	fi
	local xml="$root/$b/test-logs/pytest-$label.xml" log="$root/$b/test-logs/pytest-$label.log"
	rm -f "$xml"
	set +e
	PYTHONDONTWRITEBYTECODE=1 SIGNET_BIN="$root/$b/cli/signet" SIGNETD_BIN="$root/$b/daemon/signetd" timeout "$TIMEOUT_PYTEST" \
		"$PY" -m pytest -q -rs --tb=short -p no:cacheprovider --junitxml="$xml" "$@" </dev/null 2>&1 |
		tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	# One line per test file: "FILE PASSED FAILED SKIPPED" from the junit XML.
	local counts sum_f=0 file p f s
	counts=$("$PY" - "$xml" <<'PYEOF' 2>/dev/null || true
import collections, sys, xml.etree.ElementTree as ET
per = collections.OrderedDict()
for case in ET.parse(sys.argv[1]).getroot().iter('testcase'):
    name = (case.get('file') or case.get('classname', '?').replace('.', '/')).split('/')[-1]
    name = name[:-3] if name.endswith('.py') else name
    c = per.setdefault(name, [0, 0, 0])
    if case.find('failure') is not None or case.find('error') is not None:
        c[1] += 1
    elif case.find('skipped') is not None:
        c[2] += 1
    else:
        c[0] += 1
for name, (p, f, s) in per.items():
    print(name, p, f, s)
PYEOF
)
	while read -r file p f s; do
		[ -n "$file" ] || continue
		record "[$b] pytest $file" "$p" "$f" "$s"
		sum_f=$((sum_f + f))
	done <<<"$counts"
	case "$rc" in
	0) ;;
	1) [ "$sum_f" -gt 0 ] || record "[$b] pytest $label" 0 1 0 "pytest exit 1 with no failed test counted" ;;
	5) record "[$b] pytest $label" 0 1 0 "pytest collected no tests (exit 5)" ;;
	124) record "[$b] pytest $label" 0 1 0 "timed out after ${TIMEOUT_PYTEST}s" ;;
	*) record "[$b] pytest $label" 0 1 0 "pytest exit status $rc (collection or internal error)" ;;
	esac
}

# fuzz/run SECONDS: one passed per target that ran its time without a crash,
# one failed per crash (input saved under fuzz/crashes/) or failed run, and
# one failed if the fuzz build failed.
run_fuzz() { # SECONDS
	local secs=$1 log="$root/build/test-logs/fuzz.log" rc=0 p f note=""
	if [ "$secs" -eq 0 ]; then
		record "[build-fuzz] fuzz" 0 0 1 "FUZZ_SECONDS=0"
		return
	fi
	mkdir -p "$(dirname "$log")"
	set +e
	bash fuzz/run "$secs" </dev/null 2>&1 | tee "$log" | grep -E '^fuzz(_[a-z]+)?: |^    '
	rc=${PIPESTATUS[0]}
	set -e
	p=$(grep -cE '^fuzz_[a-z]+: ok:' "$log" || true)
	f=$(grep -cE '^fuzz_[a-z]+: (CRASH|FAILED):|^fuzz: FAILED:' "$log" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 note="fuzz/run exit status $rc"
	fi
	record "[build-fuzz] fuzz" "$p" "$f" 0 "$note"
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== dependencies"
if bash scripts/deps.sh; then :; else record "deps" 0 1 0 "scripts/deps.sh failed"; fi

for b in build build-asan; do
	echo "== build $b"
	args=()
	[ "$b" = build-asan ] && args=("-Db_sanitize=address,undefined" -Db_lundef=false)
	# -k 0: build all that compiles; what did not build counts as failed below.
	if SIGNET_NINJA_ARGS="-k 0" bash scripts/build.sh "$b" "${args[@]}"; then
		summary+=("$(printf '%-44s ok' "[$b] build:")")
		printf '%s\n' "${summary[-1]}"
	else
		record "[$b] build" 0 1 0 "build failed; running what was built"
	fi
	if [ ! -f "$b/build.ninja" ]; then
		record "[$b] unit" 0 1 0 "not run: meson setup failed"
		record "[$b] pytest" 0 1 0 "not run: meson setup failed"
		continue
	fi
	mkdir -p "$b/test-logs"
	echo "== unit tests ($b)"
	run_units "$b"
	echo "== integration tests ($b)"
	if [ "$b" = build ]; then
		run_pytest "$b" integration tests/integration
	else
		# Interop (dkimpy, Mail::DKIM) and the Debian package build (which
		# builds its own binaries) run once, in the normal build.
		run_pytest "$b" integration tests/integration --ignore=tests/integration/test_interop.py \
			--ignore=tests/integration/test_debian_package.py
	fi
done

# Packagers build with -Dbuildtype=release (-O3): gcc warns about more there
# (maybe-uninitialized), and -Werror makes a warning a broken build.
echo "== build build-release (-O3, everything incl. tests; compile only)"
mkdir -p build/test-logs
if bash scripts/build.sh build-release -Dbuildtype=release >build/test-logs/build-release.log 2>&1; then
	record "[build-release] compiles warning-free" 1 0 0
else
	tail -30 build/test-logs/build-release.log
	record "[build-release] compiles warning-free" 0 1 0 "see build/test-logs/build-release.log"
fi

echo "== fuzz (build-fuzz, ${FUZZ_SECONDS}s per target)"
run_fuzz "$FUZZ_SECONDS"

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
