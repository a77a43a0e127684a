#!/usr/bin/env python3
# report.py: turns the measurements of bench/run (work dir: results.tsv,
# limits.tsv, instances.tsv, meta.env) into doc/BENCHMARKS.md and the
# throughput plot (gnuplot PNG). Every figure is given as a ratio to the
# machine's limit (openssl speed, same run) and to each peer. It measures
# nothing itself. bench/analysis.md (hand-written: profiles, findings) is
# appended verbatim when present.
#
# Usage: report.py WORKDIR OUT.md OUT.png     the whole report
#        report.py --recv-only WORKDIR OUT.md  (bench/run --only recv) only
#            the receiving-side section: replaced between its markers in
#            OUT.md (inserted before "## Memory" the first time), and the
#            copy of bench/analysis.md at its end refreshed; the rest of
#            OUT.md is kept as it is.
#        report.py --fleet-only WORKDIR OUT.md  (bench/run --only fleet) the
#            same for the fleet section (signing with keys from Redis):
#            inserted before "## Memory" the first time, after the
#            receiving-side section when there is one.
import csv
import os
import subprocess
import sys
from pathlib import Path

RECV_ONLY = sys.argv[1:2] == ["--recv-only"]
FLEET_ONLY = sys.argv[1:2] == ["--fleet-only"]
if RECV_ONLY or FLEET_ONLY:
    W, OUT, PNG = Path(sys.argv[2]), Path(sys.argv[3]), None
else:
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
for line in ((W / "limits.tsv").read_text() if (W / "limits.tsv").exists() else "").split("\n"):
    if line.strip():
        m, k, v = line.split("\t")
        limits[(int(m), k)] = float(v)



def read_runs(name):
    """The rows of a results file of bench/run (results.tsv, recv.tsv)."""
    if not (W / name).exists():
        return []
    rs = list(csv.DictReader(open(W / name), delimiter="\t"))
    for r in rs:
        for k in ("size", "conns", "msgs", "run", "threads"):
            r[k] = int(float(r.get(k) or 1 if k in ("run", "threads") else r[k] or 0))
        for k in ("msgs_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_s", "client_cpu_s",
                  "cpu_user_s", "cpu_sys_s", "rate", "dns_cpu_s", "redis_cpu_s"):
            r[k] = float(r.get(k) or 0)
    return rs


all_runs = read_runs("results.tsv")
# The receiving-side rows (issues #13, #14): their own file and section.
recv_runs = read_runs("recv.tsv")
# The fleet rows (issue #17): signing with keys from files and from Redis.
fleet_runs = read_runs("fleet.tsv")
# The tables show each cell's first run; bench/run repeats the cells the
# targets are judged on (REPEAT), and the targets use all their runs.
rows = [r for r in all_runs if r["run"] == 1 and r["rate"] == 0]
open_loop = [r for r in all_runs if r["rate"] > 0]
instances = list(csv.DictReader(open(W / "instances.tsv"), delimiter="\t"))


def read_tsv(name):
    """The rows of a small tab-separated file of bench/run, [] when absent."""
    return list(csv.DictReader(open(W / name), delimiter="\t")) if (W / name).exists() else []


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


RECV_BEGIN = "<!-- receiving-side rows: begin; bench/run --only recv rewrites this section -->"
RECV_END = "<!-- receiving-side rows: end -->"
RECV_CHECKS = (("dkim", "(a) DKIM only"), ("spf", "(b) DKIM + SPF"), ("dmarc", "(c) DKIM + SPF + DMARC"))
RECV_PEER = "rspamd"


def recv_ms(x):
    """CPU s per 1000 messages: three decimals below 1 (signetd's figures
    are tenths of a millisecond; the ratios between rows need the third)."""
    return num(x, 3 if x < 1 else 2)


def recv_of(daemon, checks, alg):
    return [r for r in recv_runs if r["daemon"] == daemon and r["checks"] == checks and r["alg"] == alg]


def recv_median(runs, f):
    vals = [f(r) for r in runs]
    vals = [v for v in vals if v == v]
    return median(vals) if vals else float("nan")


def recv_cpu(runs):
    """Median daemon CPU seconds per message over the runs of a cell."""
    return recv_median(runs, cpu_per_msg)


def recv_cells(daemon, checks, alg):
    """messages/s, p50 / p99, CPU s per 1000 (every run), CPU × (a) and the
    resolver's CPU s per 1000 of one daemon's receiving-side cell; dashes
    when it was not measured."""
    runs = recv_of(daemon, checks, alg)
    if not runs:
        return ["not measured"] + ["–"] * 4
    cpu, base = recv_cpu(runs), recv_cpu(recv_of(daemon, "dkim", alg))
    each = ", ".join(recv_ms(cpu_per_msg(r) * 1000) for r in runs)
    errors = sum(int(r["errors"]) for r in runs)
    rate = num(recv_median(runs, lambda r: r["msgs_per_s"]))
    if errors:
        rate += f" **{errors} errors**"
    return [rate,
            f"{recv_median(runs, lambda r: r['p50_ms']):.2f} / {recv_median(runs, lambda r: r['p99_ms']):.2f}",
            recv_ms(cpu * 1000) + (f" ({each})" if len(runs) > 1 else ""),
            f"{cpu / base:.2f}×" if base == base and base > 0 else "–",
            num(max(0.0, recv_median(runs, lambda r: r["dns_cpu_s"] / r["msgs"] if r["msgs"] else float("nan")))
                * 1000, 3)]


def recv_vs(checks, alg):
    """signetd against rspamd on one row: messages/s ratio (rspamd CPU per
    message ÷ signetd's)."""
    s, p = recv_of("signetd", checks, alg), recv_of(RECV_PEER, checks, alg)
    if not s or not p:
        return "–"
    t = recv_median(s, lambda r: r["msgs_per_s"]) / recv_median(p, lambda r: r["msgs_per_s"])
    return f"{t:.1f}× ({recv_cpu(p) / recv_cpu(s):.1f}×)"


def recv_table():
    out = ["| checks | alg | signetd messages/s | p50 / p99 ms | CPU s per 1000 | CPU × (a) | unbound CPU s per 1000 | "
           "rspamd messages/s | p50 / p99 ms | CPU s per 1000 | CPU × (a) | unbound CPU s per 1000 | signetd vs rspamd |",
           "|" + "---|" * 13]
    for alg in ("rsa", "ed25519"):
        for checks, label in RECV_CHECKS:
            if not recv_of("signetd", checks, alg) and not recv_of(RECV_PEER, checks, alg):
                continue
            out.append("| " + " | ".join([label, alg] + recv_cells("signetd", checks, alg) +
                                         recv_cells(RECV_PEER, checks, alg) + [recv_vs(checks, alg)]) + " |")
    return "\n".join(out)


def recv_targets():
    lines = ["| goal | measured | met |", "|---|---|---|"]
    for alg in ("rsa", "ed25519"):
        base = recv_cpu(recv_of("signetd", "dkim", alg))
        for checks, label, goal in (("spf", "(b) DKIM + SPF", None),
                                    ("dmarc", "(c) DKIM + SPF + DMARC", 2.0)):
            runs = recv_of("signetd", checks, alg)
            what = (f"signetd {label}: CPU per message within 2× of DKIM only ({alg}; issue #14)" if goal
                    else f"signetd {label}: CPU per message against DKIM only ({alg}; issue #13, no goal)")
            if not runs or not base == base:
                why = (f"not measured: this signetd has no `dmarc` config ({meta.get('DMARC_PROBE', '')})"
                       if checks == "dmarc" and meta.get("HAS_DMARC") == "0" else "not measured")
                lines.append(f"| {what} | {why} | – |")
                continue
            ratio = recv_cpu(runs) / base
            met = ("yes" if ratio <= goal else "no") if goal else "–"
            lines.append(f"| {what} | {ratio:.2f}× ({recv_ms(recv_cpu(runs) * 1000)} against "
                         f"{recv_ms(base * 1000)} CPU s per 1000) | {met} |")
    for alg in ("rsa", "ed25519"):
        for checks, label in reversed(RECV_CHECKS):
            s, p = recv_of("signetd", checks, alg), recv_of(RECV_PEER, checks, alg)
            if not s or not p:
                continue
            cpu = recv_cpu(p) / recv_cpu(s)
            rate = recv_median(s, lambda r: r["msgs_per_s"]) / recv_median(p, lambda r: r["msgs_per_s"])
            lines.append(f"| ≥ 5× rspamd at the same work: {label}, {alg} (issue #14) | CPU per message "
                         f"{cpu:.1f}×; messages/s {rate:.1f}× | CPU: {'yes' if cpu >= 5 else 'no'}; "
                         f"messages/s: {'yes' if rate >= 5 else 'no'} |")
            break  # the row with the most checks both daemons ran
    return "\n".join(lines)


def recv_samples():
    p = W / "recv-instances.tsv"
    if not p.exists():
        return ""
    out = ["| daemon | checks | alg | sample | its Authentication-Results |", "|---|---|---|---|---|"]
    for i in csv.DictReader(open(p), delimiter="\t"):
        ar = (i["authentication_results"] or "").replace("|", "\\|")
        out.append(f"| {i['daemon']} | {i['checks']} | {i['alg']} | {i['sample']} | `{ar}` |")
    return "\n".join(out)


def recv_section():
    if not recv_runs:
        return f"{RECV_BEGIN}\n## Receiving-side checks: DKIM, SPF, DMARC\n\nNot measured in this run.\n{RECV_END}\n"
    nodmarc = ""
    if meta.get("HAS_DMARC") == "0":
        nodmarc = (f"\n**Row (c) is not measured for signetd**: the signetd under test does not accept "
                   f"`dmarc {{ enabled = false; }}` (`signetd -t`: {meta.get('DMARC_PROBE', '')}); "
                   f"rspamd's row (c) is shown alone.\n")
    arc_note = ("signetd's `arc { enabled = false; }`" if meta.get("HAS_ARC") == "1"
                else "this signetd has no ARC")
    return f"""{RECV_BEGIN}
## Receiving-side checks: DKIM, SPF, DMARC

What a receiving MX pays per message for the checks Gmail and Microsoft
judge incoming mail by, and how that grows as checks are added (issues #13
and #14). signetd and rspamd verify the same 4 KiB message, signed with
RSA-2048 or with Ed25519, sent by miltload as Postfix's smtpd would for a
client outside `local_addrs` (192.0.2.1, not authenticated, HELO
`{meta.get('HELO', 'mail.example.com')}`, MAIL FROM and From `user@example.com`),
with {meta.get('RECV_C', '16')} connections over unix sockets (closed loop; over TCP
rspamd's replies wait on Nagle against delayed ACK):

- **(a) DKIM only**: signetd with `spf {{ enabled = false; }}` (and
  `dmarc {{ enabled = false; }}` when it has DMARC); rspamd with its `dkim`
  filter and no Lua plugin but `milter_headers` (which writes the AR).
- **(b) DKIM + SPF**: signetd's `spf {{ enabled = true; helo = true; }}`
  (MAIL FROM and HELO identities: two SPF checks); rspamd's `spf` plugin
  (MAIL FROM; HELO only for a null sender).
- **(c) DKIM + SPF + DMARC**: both plus signetd's `dmarc {{ enabled = true; }}`
  and rspamd's `dmarc` plugin.

ARC is off in every row ({arc_note}; rspamd's `arc` plugin off): no row
measures it.

The local unbound serves the DKIM keys, `v=spf1 ip4:192.0.2.0/24 -all` for
`example.com` and the HELO name, and `_dmarc.example.com` with
`v=DMARC1; p=reject; rua=...`, so every check passes and each reply must
carry `dkim=pass`, `spf=pass` and `dmarc=pass` as the row has them
(miltload `-e`; a sample AR per instance also must not name a check the row
leaves out, below). Each daemon resolves through its own cache after the
warm-up, so the rows measure the checks' CPU (parsing the records,
evaluating, alignment, writing the AR), not DNS latency. All instances run
at the same time (idle but for the one measured) and the cells go round
them {meta.get('REPEAT', '1')} time(s), so a change in the shared machine's load
falls on every row alike; the table shows medians (CPU: every run in
parentheses). *CPU × (a)* = the row's CPU per message ÷ the same
daemon's DKIM-only CPU per message; *signetd vs rspamd* = messages/s ratio
(rspamd CPU per message ÷ signetd's). *unbound CPU* = what the shared
local resolver spent per message during the cell (not in the daemon's
CPU; a daemon without its own cache moves work there). OpenDKIM does DKIM only: its DKIM
verification is in the tables above.

Measured {meta['DATE']} ({meta.get('BUILDTYPE', 'unknown')} build, {meta['SIGNET']}; {meta['RSPAMD']});
load average {meta.get('RECV_LOAD_START', '?')} at the start of these rows,
{meta.get('RECV_LOAD_END', '?')} at the end; each cell `miltload -d {meta['DUR']}`:
`miltload -s unix:PATH -c {meta.get('RECV_C', '16')} -t {NCPU} -d {meta['DUR']} -C 192.0.2.1 --verify-mode -e dkim=pass
-m signed-ALG-4096.eml --helo {meta.get('HELO', 'mail.example.com')} [-e spf=pass [-e dmarc=pass]]`.
{nodmarc}
{recv_table()}

{recv_targets()}

Sample messages (the first of each instance's warm-up, as delivered):

{recv_samples()}
{RECV_END}
"""


FLEET_BEGIN = "<!-- fleet rows: begin; bench/run --only fleet rewrites this section -->"
FLEET_END = "<!-- fleet rows: end -->"
FLEET_ROWS = (("signetd", "file", "(a) signetd, key files"), ("signetd", "redis", "(b) signetd, keys in Redis"),
              ("rspamd", "redis", "(c) rspamd, keys in Redis"), ("rspamd", "file", "(d) rspamd, key files"))
FLEET_BASE = {("signetd", "redis"): "(a)", ("rspamd", "redis"): "(d)"}
fleet_samples = read_tsv("fleet-instances.tsv")
fleet_hgets = read_tsv("fleet-hgets.tsv")
fleet_idle = read_tsv("fleet-idle.tsv")
fleet_cold = read_tsv("fleet-cold.tsv")


def fleet_of(daemon, keys, alg):
    return sorted((r for r in fleet_runs if r["daemon"] == daemon and r["keys"] == keys and r["alg"] == alg),
                  key=lambda r: r["run"])


def per_msg(x, msgs):
    """x per message; a difference of /proc times that came out -0.0 is 0."""
    return max(0.0, x) / msgs if msgs else float("nan")


def fleet_paired(daemon, alg):
    """CPU per message with keys in Redis ÷ with key files, run by run (the
    two cells of one run are next to each other in time): the ratios."""
    files = {r["run"]: cpu_per_msg(r) for r in fleet_of(daemon, "file", alg)}
    return [cpu_per_msg(r) / files[r["run"]] for r in fleet_of(daemon, "redis", alg)
            if r["run"] in files and files[r["run"]] > 0]


def fleet_hgets_per_msg(daemon, keys, alg):
    """Median HGETs redis-server answered per message during the cells."""
    msgs = {r["run"]: r["msgs"] for r in fleet_of(daemon, keys, alg)}
    vals = [int(h["hgets"]) / msgs[int(h["run"])] for h in fleet_hgets
            if h["daemon"] == daemon and h["keys"] == keys and h["alg"] == alg and msgs.get(int(h["run"]))]
    return median(vals) if vals else float("nan")


def fleet_sample(daemon, keys, alg):
    for i in fleet_samples:
        if i["daemon"] == daemon and i["keys"] == keys and i["alg"] == alg:
            return f"{i['sample']} (`{(i['signature'] or '').strip()}`)"
    return "–"


def fleet_row(daemon, keys, label, alg):
    runs = fleet_of(daemon, keys, alg)
    if not runs:
        return f"| {label} | {alg} | not measured |" + " – |" * 8
    cpu = recv_median(runs, cpu_per_msg)
    each = ", ".join(num(cpu_per_msg(r) * 1000, 3) for r in runs)
    errors = sum(int(r["errors"]) for r in runs)
    rate = num(recv_median(runs, lambda r: r["msgs_per_s"]))
    if errors:
        rate += f" **{errors} errors**"
    ratio = "–"
    if (daemon, keys) in FLEET_BASE:
        rs = fleet_paired(daemon, alg)
        if rs:
            ratio = f"{median(rs):.2f}× {FLEET_BASE[(daemon, keys)]}" + \
                (f" ({', '.join(f'{x:.2f}' for x in rs)})" if len(rs) > 1 else "")
    eff = recv_median(runs, lambda r: cost_1core(r) / cpu_per_msg(r)
                      if limits.get((1, "sha256_Bps")) and cpu_per_msg(r) > 0 else float("nan"))
    redis = recv_median(runs, lambda r: per_msg(r["redis_cpu_s"], r["msgs"]))
    return ("| " + " | ".join([
        label, alg, rate,
        f"{recv_median(runs, lambda r: r['p50_ms']):.2f} / {recv_median(runs, lambda r: r['p99_ms']):.2f}",
        num(cpu * 1000, 3) + (f" ({each})" if len(runs) > 1 else ""), ratio, pct(eff),
        num(redis * 1000, 4), num(fleet_hgets_per_msg(daemon, keys, alg), 2),
        fleet_sample(daemon, keys, alg)]) + " |")


def fleet_table():
    out = ["| row | alg | messages/s | p50 / p99 ms | CPU ms per message (runs) | CPU × key files (runs) | "
           "CPU efficiency | redis-server CPU ms per message | HGETs per message | sample: `signet verify` "
           "against its selector's key alone |", "|" + "---|" * 10]
    for alg in ("rsa", "ed25519"):
        for daemon, keys, label in FLEET_ROWS:
            out.append(fleet_row(daemon, keys, label, alg))
    return "\n".join(out)


def fleet_cold_table():
    if not fleet_cold:
        return "Not measured in this run."
    out = ["| keys | alg | first message after a restart, ms (runs) | warm: p50 / p99 ms of the next 200 | "
           "first − warm p50 |", "|---|---|---|---|---|"]
    for alg in ("rsa", "ed25519"):
        for keys in ("file", "redis"):
            rs = [c for c in fleet_cold if c["keys"] == keys and c["alg"] == alg]
            if not rs:
                continue
            cold = [float(c["cold_ms"]) for c in rs]
            p50 = median([float(c["warm_p50_ms"] or "nan") for c in rs])
            p99 = median([float(c["warm_p99_ms"] or "nan") for c in rs])
            out.append(f"| {'key files' if keys == 'file' else 'Redis'} | {alg} | {median(cold):.2f}"
                       f"{' (' + ', '.join(f'{x:.2f}' for x in cold) + ')' if len(cold) > 1 else ''} | "
                       f"{p50:.2f} / {p99:.2f} | {median(cold) - p50:.2f} ms |")
    return "\n".join(out)


def fleet_summary():
    """What the table says, in sentences built from its own figures."""
    if not fleet_runs:
        return ""
    lines = []
    for alg in ("rsa", "ed25519"):
        s, r = fleet_paired("signetd", alg), fleet_paired("rspamd", alg)
        sr = fleet_of("signetd", "redis", alg)
        rr = fleet_of("rspamd", "redis", alg)
        if not sr or not rr:
            continue
        s_redis = recv_median(sr, lambda x: per_msg(x["redis_cpu_s"], x["msgs"])) * 1000
        r_redis = recv_median(rr, lambda x: per_msg(x["redis_cpu_s"], x["msgs"])) * 1000
        s_cell = recv_median(sr, lambda x: max(0.0, x["redis_cpu_s"]))
        r_cell = recv_median(rr, lambda x: max(0.0, x["redis_cpu_s"]))
        vs = recv_median(rr, cpu_per_msg) / recv_median(sr, cpu_per_msg)
        extra = (recv_median(rr, cpu_per_msg) - recv_median(fleet_of("rspamd", "file", alg), cpu_per_msg)) * 1000
        lines.append(
            f"- **{alg}**: signetd with keys in Redis used {median(s):.2f}× the CPU per message of "
            f"key files (b/a); redis-server answered {num(fleet_hgets_per_msg('signetd', 'redis', alg), 2)} "
            f"HGETs per message and spent {num(s_cell, 2)} s of CPU in a {meta['DUR']}-second cell "
            f"({num(s_redis, 4)} ms per message). rspamd with keys in Redis used {median(r):.2f}× "
            f"its CPU per message with key files (c/d; {extra:+.3f} ms per message, medians), with "
            f"{num(fleet_hgets_per_msg('rspamd', 'redis', alg), 2)} HGETs per message, for which "
            f"redis-server spent {num(r_cell, 2)} s in a cell ({num(r_redis, 4)} ms per message). "
            f"With keys in Redis, rspamd used {vs:.1f}× signetd's CPU per message.")
    idle = [float(i["redis_cpu_s"]) / float(i["seconds"]) for i in fleet_idle if float(i["seconds"]) > 0]
    if idle:
        lines.append(f"- redis-server with no client ({meta['DUR']} s before each algorithm's cells): "
                     f"{', '.join(f'{x * 1000:.1f}' for x in idle)} ms of CPU per second (its timers; "
                     f"/proc counts in ticks of {1000 // int(os.sysconf('SC_CLK_TCK'))} ms, so a "
                     f"cell's figure is a whole number of ticks).")
    return "\n".join(lines)


def fleet_cold_summary():
    lines = []
    for alg in ("rsa", "ed25519"):
        first = {k: [float(c["cold_ms"]) for c in fleet_cold if c["keys"] == k and c["alg"] == alg]
                 for k in ("file", "redis")}
        if first["file"] and first["redis"]:
            lines.append(f"- {alg}: {median(first['redis']):.2f} ms with keys in Redis against "
                         f"{median(first['file']):.2f} ms with key files (medians), a difference of "
                         f"{median(first['redis']) - median(first['file']):.2f} ms: the fetch from Redis "
                         f"(a new connection, then the selector's HGET, then the key's, one after the "
                         f"other) and parsing the key.")
    return "\n".join(lines)


def fleet_section():
    if not fleet_runs:
        return f"{FLEET_BEGIN}\n## Signing with keys in Redis (fleet)\n\nNot measured in this run.\n{FLEET_END}\n"
    rsa, ed = limits.get((1, "rsa_sign")), limits.get((1, "ed_sign"))
    sha = limits.get((1, "sha256_Bps"))
    lim = (f"RSA-2048 {num(rsa)} signatures/s, Ed25519 {num(ed)}/s, SHA-256 {num(sha / 1e6)} MB/s on one core"
           if rsa and ed and sha else "not measured")
    return f"""{FLEET_BEGIN}
## Signing with keys in Redis (fleet)

What it costs to sign with the keys a fleet keeps in Redis (issue #17,
doc/signetd.conf.5 "Keys in Redis") instead of key files on each host.
signetd and rspamd sign the same 4 KiB message with RSA-2048 and with
Ed25519, {meta.get('FLEET_C', '16')} connections over unix sockets, closed loop
(`miltload -s unix:PATH -c {meta.get('FLEET_C', '16')} -t {NCPU} -d {meta['DUR']} -a -C 127.0.0.1 -m plain-4096.eml
-k keys-SELECTOR.txt --check-every {meta['CHECK_EVERY']}`):

- **(a)** signetd, `domain {{ example.com {{ selector; path; }} }}` (key files, as in the tables above);
- **(b)** signetd, `redis {{ servers = ["127.0.0.1:PORT"]; }}` and
  `dkim_signing {{ use_redis = true; selector_prefix = "DKIM_SELECTORS"; }}`
  (`redis_refresh` left at 60 s: each worker fetches once, then answers from its cache);
- **(c)** rspamd's `dkim_signing` with `use_redis = true; key_prefix = "dkim_keys";
  selector_prefix = "DKIM_SELECTORS";` and the same Redis;
- **(d)** rspamd's `dkim_signing` with a `domain` entry and a key file.

One redis-server of the bench's own ({meta.get('REDIS', '?')}; loopback, a free
port, `--save "" --appendonly no`) holds the keys the way rspamd stores them:
`redis-cli -x HSET dkim_keys redis-rsa.example.com < key.pem` (for Ed25519
the base64 of the 32-byte seed, which rspamd 3.4 needs and signetd reads
too) and `HSET DKIM_SELECTORS example.com redis-rsa` (`redis-ed` for the
Ed25519 rows). The Redis rows sign with that key pair of their own, the file
rows with the `rsa` / `ed` key files; every {meta['CHECK_EVERY']}th signature of a cell, and a
sample per instance with `signet verify`, is checked against the public key
of the row's own selector alone (a signature made with the other pair's key
or selector fails), and the sample's `s=` and `a=` are compared.

The four instances of an algorithm run at the same time (idle but for the one
measured) and the cells go round them {meta.get('REPEAT', '1')} time(s); the table gives medians
(CPU per message: every run in parentheses). *CPU × key files* = CPU per
message with keys in Redis ÷ the same daemon's with key files, taken run by
run (the two cells of a run are next to each other in time), median and
each run. *CPU efficiency* = what `openssl speed` needs on one core for the
signature plus SHA-256 over the body ({lim}) ÷ the daemon's CPU
per message (user + system over all its processes, from /proc).
*redis-server CPU* = its own /proc time during the cell ÷ the messages
signed, counted apart from the daemon's; *HGETs per message* from its
`INFO commandstats`.

Measured {meta['DATE']} ({meta.get('BUILDTYPE', 'unknown')} build, {meta['SIGNET']}; {meta['RSPAMD']}).
**A shared 2-core VM**: the daemons, miltload and redis-server share the
same 2 cores with whatever else runs on the machine; load average {meta.get('FLEET_LOAD_START', '?')}
at the start of these rows, {meta.get('FLEET_LOAD_END', '?')} at the end. The CPU-per-message
columns and the ratios between rows of one run are the figures to read;
messages/s follows the machine's load.

{fleet_table()}

{fleet_summary()}

### The first message after a restart

signetd fetches a domain's keys when a worker first signs for it (the reply
to the end of the header waits for it); every worker starts with an empty
cache. signetd (keys from files, then from Redis; RSA-2048 and Ed25519) was
started {meta.get('COLD', '?')} time(s) each; `miltload -c 1 -n 1` timed its first message (MAIL to
the EOM reply), then `-c 1 -n 200` the warm ones:

{fleet_cold_table()}

{fleet_cold_summary()}
{FLEET_END}
"""


def splice(doc, begin, end, section, anchors):
    """doc with the section between begin and end replaced (inserted before
    the first of anchors found when it has none yet)."""
    if begin in doc and end in doc:
        a = doc.index(begin)
        b = doc.index(end) + len(end)
        if doc[b:b + 1] == "\n":
            b += 1
        return doc[:a] + section + doc[b:]
    for anchor in anchors:
        if anchor in doc:
            a = doc.index(anchor) + 1
            return doc[:a] + section + "\n" + doc[a:]
    return doc.rstrip("\n") + "\n\n" + section


def fleet_only_main():
    if not OUT.exists():
        sys.exit(f"report.py: {OUT} does not exist: run the whole bench/run once first")
    doc = refresh_analysis(splice(OUT.read_text(), FLEET_BEGIN, FLEET_END, fleet_section(),
                                  ("\n## Memory\n", "\n## Where signetd is behind")))
    OUT.write_text(doc)
    (W / "results.md").write_text(fleet_section())
    print(f"{len(fleet_runs)} fleet cells")


def splice_recv(doc):
    """doc with its receiving-side section replaced by this run's (inserted
    before "## Memory" when it has none yet)."""
    section = recv_section()
    if RECV_BEGIN in doc and RECV_END in doc:
        a = doc.index(RECV_BEGIN)
        b = doc.index(RECV_END) + len(RECV_END)
        if doc[b:b + 1] == "\n":
            b += 1
        return doc[:a] + section + doc[b:]
    for anchor in ("\n## Memory\n", "\n## Where signetd is behind"):
        if anchor in doc:
            a = doc.index(anchor) + 1
            return doc[:a] + section + "\n" + doc[a:]
    return doc.rstrip("\n") + "\n\n" + section


def refresh_analysis(doc):
    """doc with its copy of bench/analysis.md (from that file's first line
    to the end) replaced by the file as it is now."""
    analysis = HERE / "analysis.md"
    if not analysis.exists():
        return doc
    text = analysis.read_text()
    first = text.split("\n", 1)[0]
    at = doc.find("\n" + first + "\n")
    return doc[:at + 1] + text if at >= 0 else doc


def recv_only_main():
    if not OUT.exists():
        sys.exit(f"report.py: {OUT} does not exist: run the whole bench/run once first")
    doc = refresh_analysis(splice_recv(OUT.read_text()))
    OUT.write_text(doc)
    (W / "results.md").write_text(recv_section())
    print(f"{len(recv_runs)} receiving-side cells")


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
  verification come from a local unbound (high port). The verify rows of
  these tables are DKIM only (signetd with `spf` and, when it has it,
  `dmarc` switched off, as OpenDKIM does DKIM only); SPF and DMARC are in
  the receiving-side section.
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

{recv_section()}
{fleet_section()}
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


if RECV_ONLY:
    recv_only_main()
elif FLEET_ONLY:
    fleet_only_main()
else:
    main()
