#!/usr/bin/env python3
# report.py: turns the measurements of bench/run (work dir: results.tsv,
# limits.tsv, instances.tsv, meta.env) into doc/BENCHMARKS.md and the
# throughput plot (gnuplot PNG). Every figure is given as a ratio to the
# machine's limit (openssl speed, same run) and to each peer. It measures
# nothing itself. bench/analysis.md (hand-written: profiles, findings) is
# appended verbatim when present.
import csv
import os
import subprocess
import sys
from pathlib import Path

W, OUT, PNG = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
HERE = Path(__file__).resolve().parent
PEERS = ("opendkim", "rspamd")
SIZE_NAME = {4096: "4 KiB", 102400: "100 KiB", 10485760: "10 MiB"}

meta = {}
for line in (W / "meta.env").read_text().splitlines():
    k, _, v = line.partition("=")
    meta[k] = v
NCPU = int(meta["NCPU"])

limits = {}
for line in (W / "limits.tsv").read_text().split("\n"):
    if line.strip():
        m, k, v = line.split("\t")
        limits[(int(m), k)] = float(v)

all_runs = list(csv.DictReader(open(W / "results.tsv"), delimiter="\t"))
for r in all_runs:
    for k in ("size", "conns", "msgs", "run", "threads"):
        r[k] = int(float(r.get(k) or 1 if k in ("run", "threads") else r[k] or 0))
    for k in ("msgs_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_s", "client_cpu_s",
              "cpu_user_s", "cpu_sys_s", "rate"):
        r[k] = float(r.get(k) or 0)
# The tables show each cell's first run; bench/run repeats the cells the
# targets are judged on (REPEAT), and the targets use all their runs.
rows = [r for r in all_runs if r["run"] == 1 and r["rate"] == 0]
open_loop = [r for r in all_runs if r["rate"] > 0]
instances = list(csv.DictReader(open(W / "instances.tsv"), delimiter="\t"))


def op_key(r):
    a = "rsa" if r["alg"] == "rsa" else "ed"
    return f"{a}_{r['mode']}"


def cost_1core(r):
    """Seconds one core needs for the unavoidable work of one message:
    one signature operation plus SHA-256 over the body (openssl speed)."""
    return 1 / limits[(1, op_key(r))] + r["size"] / limits[(1, "sha256_Bps")]


def limit_rate(r):
    """Messages/s the cores the load can use (min(conns, cores)) could do
    if they were ours: that many times the single-core openssl figure. The
    all-core `openssl speed -multi` figure is shown in the limits table; on
    a shared VM it is lower than this (other tenants use the cores)."""
    return min(r["conns"], cores(r)) / cost_1core(r)


def cores(r):
    """signetd1 is signetd with one worker pinned to CPU 0 (the load
    generator on CPU 1): its limit is one core."""
    return 1 if r["daemon"] == "signetd1" else NCPU


def cpu_per_msg(r):
    return r["cpu_s"] / r["msgs"] if r["msgs"] else float("nan")


def key(r):
    return (r["mode"], r["alg"], r["size"], r["transport"], r["conns"])


by = {(r["daemon"],) + key(r): r for r in rows}
runs_of = {}
for r in all_runs:
    if r["rate"] == 0:
        runs_of.setdefault((r["daemon"],) + key(r), []).append(r)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def over_runs(r, f, fmt):
    """f over every run of r's cell: (median, "median (runs: a, b, c)")."""
    vals = [f(x) for x in runs_of[(r["daemon"],) + key(r)]]
    m = median(vals)
    if len(vals) == 1:
        return m, fmt(m)
    return m, f"median {fmt(m)} (runs: {', '.join(fmt(v) for v in vals)})"


def pct(x):
    return f"{100 * x:.0f} %" if x == x else "–"


def num(x, d=0):
    return f"{x:,.{d}f}" if x == x else "–"


def peer_ratio(r, peer):
    p = by.get((peer,) + key(r))
    if not p or p["msgs_per_s"] <= 0:
        return "–"
    t = r["msgs_per_s"] / p["msgs_per_s"]
    c = cpu_per_msg(p) / cpu_per_msg(r) if r["msgs"] and p["msgs"] else float("nan")
    return f"{t:.1f}× ({c:.1f}×)" if c == c else f"{t:.1f}×"


def row_text(r, with_peers):
    lim = limit_rate(r)
    cpu = cpu_per_msg(r)
    eff = cost_1core(r) / cpu if cpu == cpu and cpu > 0 else float("nan")
    mbps = r["msgs_per_s"] * r["size"] / 1e6
    cells = [r["mode"], r["alg"], SIZE_NAME.get(r["size"], str(r["size"])), r["transport"],
             str(r["conns"]), num(r["msgs_per_s"], 0) + (f" ({mbps:,.0f} MB/s)" if r["size"] >= 1 << 20 else ""),
             pct(r["msgs_per_s"] / lim), f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}",
             num(cpu * 1000, 2), pct(eff)]
    if with_peers:
        cells += [peer_ratio(r, p) for p in PEERS]
    if r["errors"] not in ("0", 0):
        cells[5] += f" **{r['errors']} errors**"
    return "| " + " | ".join(cells) + " |"


HEAD = ("| mode | alg | body | socket | c | messages/s | of limit | p50 / p99 ms | "
        "CPU s per 1000 | CPU efficiency |")


def table(daemon, with_peers):
    out = [HEAD + (" vs OpenDKIM | vs rspamd |" if with_peers else ""),
           "|" + "---|" * (10 + (2 if with_peers else 0))]
    out += [row_text(r, with_peers) for r in rows if r["daemon"] == daemon]
    return "\n".join(out)


def find(daemon, mode, alg, size, tr, c):
    return by.get((daemon, mode, alg, size, tr, c))


def targets():
    lines = ["| target | measured | met |", "|---|---|---|"]
    ms = lambda v: f"{v:.2f} ms"  # noqa: E731
    of_limit = lambda x: x["msgs_per_s"] / limit_rate(x)  # noqa: E731
    efficiency = lambda x: cost_1core(x) / cpu_per_msg(x)  # noqa: E731
    # The same with only the daemon's user-space CPU: how close its own
    # work (canonicalization, SHA-256, the signature) comes to openssl,
    # leaving out the kernel's socket work (receive copies, wakeups).
    user_efficiency = lambda x: (cost_1core(x) * x["msgs"] / x["cpu_user_s"]  # noqa: E731
                                 if x["cpu_user_s"] > 0 else float("nan"))

    def body_line(r, what, of_what):
        v, vt = over_runs(r, of_limit, pct)
        _, et = over_runs(r, efficiency, pct)
        _, ut = over_runs(r, user_efficiency, pct)
        return (f"| {what} | {vt} of {of_what}; CPU efficiency {et} (user CPU alone: {ut}) | "
                f"{'yes' if v >= 0.8 else 'no'} |")
    for r in rows:
        if r["daemon"] != "signetd" or r["mode"] != "sign" or r["alg"] != "rsa" or \
                r["size"] != 4096 or r["conns"] != 16:
            continue
        v, vt = over_runs(r, of_limit, pct)
        _, et = over_runs(r, efficiency, pct)
        lines.append(f"| RSA-2048 signing, 4 KiB, c=16: ≥ 90 % of the cores' signing limit "
                     f"({r['transport']}) | {vt} of wall-clock limit; CPU efficiency {et} | "
                     f"{'yes' if v >= 0.9 else 'no'} |")
    for r in rows:
        if r["daemon"] != "signetd" or r["mode"] != "sign" or r["size"] != 10485760 or \
                r["conns"] != 1:
            continue
        lines.append(body_line(r, f"body hashing, 10 MiB: ≥ 80 % of openssl SHA-256 ({r['alg']}, "
                                  f"{r['transport']}, c=1)", "wall-clock limit"))
    for r in rows:
        if r["daemon"] != "signetd" or r["mode"] != "sign" or r["alg"] != "ed25519" or \
                r["size"] != 4096 or r["conns"] != 16:
            continue
        v, vt = over_runs(r, lambda x: x["p99_ms"], ms)
        lines.append(f"| ed25519 signing p99 < 2 ms at c=16 ({r['transport']}) | {vt} | "
                     f"{'yes' if v < 2 else 'no'} |")
    for r in open_loop:
        lines.append(f"| ed25519 p99 < 2 ms, 16 connections, open loop at {num(r['rate'])} messages/s "
                     f"({r['daemon']}, {r['transport']}) | {r['p99_ms']:.2f} ms | "
                     f"{'yes' if r['p99_ms'] < 2 else 'no'} |")
    for r in rows:
        if r["daemon"] != "signetd-tpc":
            continue
        v, vt = over_runs(r, lambda x: x["p99_ms"], ms)
        lines.append(f"| same, miltload with a thread per connection ({r['transport']}) | {vt} "
                     f"({num(r['msgs_per_s'])} messages/s in the first run) | "
                     f"{'yes' if v < 2 else 'no'} |")
    for r in rows:
        if r["daemon"] != "signetd1" or r["mode"] != "sign" or r["size"] != 4096 or r["conns"] != 16:
            continue
        if r["alg"] == "rsa":
            v, vt = over_runs(r, of_limit, pct)
            _, et = over_runs(r, efficiency, pct)
            lines.append(f"| same, signetd on one dedicated core ({r['transport']}) | {vt} of that "
                         f"core's limit; CPU efficiency {et} | {'yes' if v >= 0.9 else 'no'} |")
        else:
            v, vt = over_runs(r, lambda x: x["p99_ms"], ms)
            lines.append(f"| ed25519 p99 < 2 ms at c=16, signetd on one dedicated core "
                         f"({r['transport']}) | {vt} | {'yes' if v < 2 else 'no'} |")
    for r in rows:
        if r["daemon"] == "signetd1" and r["size"] == 10485760 and r["mode"] == "sign":
            lines.append(body_line(r, f"body hashing, 10 MiB, signetd on one dedicated core "
                                      f"(c={r['conns']}, {r['transport']})", "that core's SHA-256"))
    if meta.get("HWM_BIG"):
        mib = int(meta["HWM_BIG"]) / 1024
        lines.append(f"| RSS flat: 100 MB message < 16 MiB | VmHWM {mib:.1f} MiB after two 100 MiB messages "
                     f"({int(meta['HWM_SMALL']) / 1024:.1f} MiB after 4 KiB ones) | "
                     f"{'yes' if mib < 16 else 'no'} |")
    behind = []
    for r in rows:
        if r["daemon"] != "signetd":
            continue
        for p in PEERS:
            q = by.get((p,) + key(r))
            if q and q["msgs_per_s"] > r["msgs_per_s"]:
                behind.append(f"{p} {r['mode']} {r['alg']} {SIZE_NAME[r['size']]} {r['transport']} c={r['conns']}")
    compared = sum(1 for r in rows if r["daemon"] == "signetd" for p in PEERS if by.get((p,) + key(r)))
    lines.append(f"| ahead of OpenDKIM and rspamd on every row | behind on {len(behind)} of {compared} "
                 f"compared rows{': ' + '; '.join(behind) if behind else ''} | {'yes' if not behind else 'no'} |")
    return "\n".join(lines)


def open_loop_table():
    out = ["| daemon | socket | offered messages/s | of closed-loop c=16 | answered messages/s | "
           "p50 / p90 / p99 ms | CPU s per 1000 | errors |", "|---|---|---|---|---|---|---|---|"]
    for r in open_loop:
        top = by.get((r["daemon"],) + key(r))
        share = r["rate"] / top["msgs_per_s"] if top and top["msgs_per_s"] > 0 else float("nan")
        out.append(f"| {r['daemon']} | {r['transport']} | {num(r['rate'])} | {pct(share)} | "
                   f"{num(r['msgs_per_s'])} | {r['p50_ms']:.2f} / {r['p90_ms']:.2f} / {r['p99_ms']:.2f} | "
                   f"{num(cpu_per_msg(r) * 1000, 2)} | {r['errors']} |")
    return "\n".join(out)


def limits_table():
    out = ["| primitive | 1 core | " + str(NCPU) + " × 1 core (the limit used) | measured with -multi " + str(NCPU) +
           " (shared machine) |", "|---|---|---|---|"]
    names = [("rsa_sign", "RSA-2048 sign/s"), ("rsa_verify", "RSA-2048 verify/s"),
             ("ed_sign", "Ed25519 sign/s"), ("ed_verify", "Ed25519 verify/s"),
             ("sha256_Bps", "SHA-256 MB/s (1 MiB blocks)")]
    for k, label in names:
        a, b = limits.get((1, k), float("nan")), limits.get((NCPU, k), float("nan"))
        if k == "sha256_Bps":
            a, b = a / 1e6, b / 1e6
        out.append(f"| {label} | {num(a)} | {num(a * NCPU)} | {num(b)} |")
    return "\n".join(out)


def memory_table():
    out = ["| daemon | alg | socket | peak RSS (VmHWM summed over its processes; shared pages count once per process) "
           "| its signature checked by `signet verify` |",
           "|---|---|---|---|---|"]
    for i in instances:
        out.append(f"| {i['daemon']} | {i['alg']} | {i['transport']} | {int(i['vmhwm_kb']) / 1024:.1f} MiB | "
                   f"{i['sample_verify']} |")
    return "\n".join(out)


def plot():
    data = W / "plot.dat"
    series = []
    with open(data, "w") as f:
        for d in ("signetd",) + PEERS:
            for tr in ("inet", "unix"):
                pts = sorted((r["conns"], r["msgs_per_s"]) for r in rows if r["daemon"] == d and
                             r["mode"] == "sign" and r["alg"] == "rsa" and r["size"] == 4096 and
                             r["transport"] == tr)
                if not pts:
                    continue
                f.write(f"# {d} {tr}\n" + "".join(f"{c} {v}\n" for c, v in pts) + "\n\n")
                series.append(f"{d} ({tr})")
    lim = limits[(1, "rsa_sign")] * NCPU
    plots = [f"'{data}' index {i} with linespoints lw 2 title '{t}'" for i, t in enumerate(series)]
    plots.append(f"{lim} with lines dt 2 lc rgb 'black' title 'limit: openssl RSA-2048 sign/s × {NCPU} cores'")
    script = "\n".join([
        "set terminal pngcairo size 820,620 font ',11'" if has_cairo() else "set terminal png size 900,560",
        f"set output '{PNG}'",
        "set title 'DKIM signing through the milter: RSA-2048, 4 KiB body (noisy 2-core VM)'",
        "set xlabel 'concurrent milter connections'", "set ylabel 'messages/s (log scale)'",
        "set logscale y", "set logscale x 2", "set xtics (1, 4, 16)", "set xrange [0.8:20]",
        "set key below horizontal maxcols 3", "set grid",
        "plot " + ", ".join(plots)])
    (W / "plot.gp").write_text(script + "\n")
    subprocess.run(["gnuplot", str(W / "plot.gp")], check=True)


def has_cairo():
    r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (r.stdout + r.stderr)


def main():
    plot()
    sig_rows = [r for r in rows if r["daemon"] == "signetd"]
    doc = f"""# Benchmarks

signetd against the machine's limit (what `openssl speed` does on the same
cores in the same run) and against OpenDKIM and rspamd, all driven by
`bench/miltload`, which speaks the milter protocol as Postfix does (option
negotiation with everything Postfix offers, Postfix's macros per stage
including `{{auth_authen}}` and `i`, CONNECT/HELO/MAIL/RCPT/DATA, one packet
per header, EOH, body in chunks of at most 65535 bytes, EOM; it waits for
every reply unless the milter negotiated the NR_ flag, and sets neither
TCP_NODELAY nor TCP_QUICKACK). Generated by `bench/run`; do not edit by hand
(the analysis section comes from `bench/analysis.md`).

**Caveat: these figures come from a shared 2-core VM** (load average
{meta['LOAD_START']} at the start, {meta['LOAD_END']} at the end; the same
cell can differ by a fifth between runs an hour apart). The load generator runs on the same two cores as the daemon
under test. Wall-clock ratios are therefore pessimistic; the CPU-time
columns (daemon CPU seconds per 1000 messages, and *CPU efficiency*) are the
fairer comparison.

## Machine, versions, commands

- {meta['DATE']}; CPU: {meta['CPU']}, {NCPU} cores; {meta['OS']}, kernel {meta['KERNEL']}
- {meta['SIGNET']}; OpenDKIM {meta['OPENDKIM']}; {meta['RSPAMD']}; {meta['OPENSSL']}; unbound {meta['UNBOUND']}
- Run: `meson setup build-X -Dbuildtype={meta.get('BUILDTYPE', 'unknown')} && ninja -C build-X && bench/run build-X` (each cell
  `miltload -d {meta['DUR']}` seconds). Cell commands, e.g. signing:
  `miltload -s inet:PORT@127.0.0.1 -c C -t T -d {meta['DUR']} -a -C 127.0.0.1 -m plain-SIZE.eml -k keys.txt --check-every {meta['CHECK_EVERY']}`;
  verifying: `miltload -s ... -c C -t T -d {meta['DUR']} -C 192.0.2.1 --verify-mode -e dkim=pass -m signed-rsa-SIZE.eml`.
  miltload runs its C connections as coroutines on T = min(C, {NCPU}) event
  threads (T = 1 for the dedicated-core table, where it has one core); each
  connection still waits for every reply as a Postfix process does.
- The cells the targets are judged on (signing 4 KiB at c=16, 10 MiB at c=1)
  run {meta.get('REPEAT', '1')} times; the tables show the first run, the targets the
  median and every run. The Ed25519 4 KiB c=16 cells also run with a thread
  per connection (`-t 16`, "signetd-tpc"), as Postfix has a process per
  connection.
- Every cell checks each reply: a DKIM-Signature must be inserted (sign) or an
  Authentication-Results with `dkim=pass` (verify); every {meta['CHECK_EVERY']}th
  signed message is rebuilt (received fields + inserted fields + body) and
  verified with libsignet against the published keys; a sample message from
  every daemon instance is checked with `signet verify --keys`. Keys for
  verification come from a local unbound (high port).
- Same key (RSA-2048 generated by `signet keygen`), domain, relaxed/relaxed
  and header list (signet's default signed and oversigned fields) for all
  three. OpenDKIM: `Mode sv`, `InternalHosts 127.0.0.1`, keys for verifying from
  `TestDNSData` (no DNS at all: pointed at our unbound with
  `ResolverConfiguration`, OpenDKIM 2.11 crashed under concurrent load —
  libunbound's config parser is not thread-safe — so this favours OpenDKIM). rspamd: stock `/etc/rspamd` with our `LOCAL_CONFDIR`; proxy
  worker with `milter = yes; self_scan = yes; count = {NCPU}`, normal and
  controller workers off, every Lua plugin but `dkim_signing` disabled, C
  filters `dkim` only (rspamd's built-in Lua rules still run; verification
  rows for rspamd are not measured: it writes Authentication-Results only
  through `milter_headers`, which "dkim_signing only" leaves out). Peers sign
  RSA only; signetd also ed25519.
- Columns: *of limit* = messages/s ÷ what the cores the load can use
  (min(c, {NCPU}) × the single-core `openssl speed` figure) do for one
  signature (or verification) plus SHA-256 over the body; *CPU efficiency* = that same work's single-core
  time ÷ the daemon's CPU time per message (user+system, all its processes,
  from /proc). *vs peer* = signetd messages/s ÷ peer messages/s (in
  parentheses: peer CPU per message ÷ signetd CPU per message). p50/p99 are
  the latency from MAIL to the final EOM reply seen by the client.

## The limit (openssl speed, this run)

Each figure is the best of {meta.get('SPEED_RUNS', '1')} runs of `openssl speed`: another
tenant of the VM can only make a run slower.

{limits_table()}

## Targets

{targets()}

## signetd

{table('signetd', True)}

## signetd on one dedicated core

The same signetd with `workers = 1`, started under `taskset -c 0`, and
miltload under `taskset -c 1`: the daemon does not share its core with the
load generator, so *of limit* is against one core's `openssl speed` figure and
is close to the CPU efficiency. (Other tenants of the VM may still use
either core.)

{table('signetd1', False)}

## Open loop: Ed25519, 4 KiB, 16 connections, below saturation

`miltload -R RATE`: messages arrive as a Poisson process (seeded, the same
every run) and each is taken by the next free connection, as mail waits for
a free smtpd; latency counts from the arrival, so a message that waited for
a free connection counts that wait. Rates are a quarter, half and three
quarters of what the same daemon reached closed-loop at c=16 just before.

{open_loop_table()}

## OpenDKIM

{table('opendkim', False)}

## rspamd

{table('rspamd', False)}

## Memory

{memory_table()}

signetd with a 100 MiB message (unix socket, RSA-2048, c=1): VmHWM
{int(meta['HWM_SMALL']) / 1024:.1f} MiB after 20 messages of 4 KiB, {int(meta['HWM_BIG']) / 1024:.1f} MiB
after two of 100 MiB (`{meta['BIGOUT']}`).

Listening on the packages' standard ports after the run (8891, 11332-11335,
6379, 53): {meta['STD']}.

## Throughput against concurrency

![RSA-2048 signing throughput against concurrency](bench-throughput.png)
"""
    analysis = HERE / "analysis.md"
    if analysis.exists():
        doc += "\n" + analysis.read_text()
    OUT.write_text(doc)
    (W / "results.md").write_text(doc)
    print(f"{len(sig_rows)} signetd rows, {len(rows) - len(sig_rows)} peer rows")


main()
