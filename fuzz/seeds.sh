#!/usr/bin/env bash
# Builds the seed corpora fuzz/corpus/<target>/ from the hand-written seeds
# in fuzz/seeds/<target>/ and, when present, the public vectors in
# ../shared/testdata (messages, their DKIM-Signature fields, key records).
# Nothing from testdata is copied into the repository: corpus/ is generated
# (and ignored by git). Re-running adds missing seeds and keeps what the
# fuzzers found before. Usage: fuzz/seeds.sh [TESTDATA_DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
testdata=${1:-${SIGNET_TESTDATA_DIR:-$here/../../shared/testdata}}
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3

"$PY" - "$here" "$testdata" <<'PYEOF'
import hashlib, os, re, sys

here, testdata = sys.argv[1], sys.argv[2]
targets = ["message", "tags", "sig", "keyrec", "canon", "verify", "milter", "ucl", "ar", "spf",
           "idna", "arc", "dmarc", "digest"]
counts = dict.fromkeys(targets, 0)

def add(target, data):
    # Named by content, as libFuzzer names its own units: no duplicates.
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    counts[target] += 1

for t in targets:
    os.makedirs(os.path.join(here, "corpus", t), exist_ok=True)
    sd = os.path.join(here, "seeds", t)
    if os.path.isdir(sd):
        for name in sorted(os.listdir(sd)):
            with open(os.path.join(sd, name), "rb") as f:
                add(t, f.read())

def fields(msg):
    """(name, value) of each header field, folding kept (RFC 5322 2.2.3)."""
    head = re.split(rb"\r?\n\r?\n", msg, maxsplit=1)[0]
    out = []
    for line in re.split(rb"(?<=\n)", head):
        if line[:1] in (b" ", b"\t") and out:
            out[-1][1] += line
        elif b":" in line:
            n, v = line.split(b":", 1)
            out.append([n, v])
    return [(n, v.rstrip(b"\r\n")) for n, v in out]

def key_values(path):
    vals = []
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\r\n")
            if line and not line.startswith(b"#") and b" " in line:
                vals.append(line.split(b" ", 1)[1].lstrip())
    return vals

if os.path.isdir(testdata):
    emls, keyfiles = [], []
    for root, _, files in os.walk(testdata):
        for name in sorted(files):
            p = os.path.join(root, name)
            if name.endswith((".eml", ".msg", ".message")):
                emls.append(p)
            elif name.startswith("keys") and name.endswith(".txt"):
                keyfiles.append(p)
    for p in sorted(emls):
        with open(p, "rb") as f:
            msg = f.read()
        add("message", msg)
        body = re.split(rb"\r?\n\r?\n", msg, maxsplit=1)
        body = body[1] if len(body) > 1 else b""
        for mode in (b"\x00", b"\x01"):
            add("canon", mode + b"\x00\x00\x07" + body)
        add("canon", b"\x03\x00\x10\x07" + body)  # relaxed, l=16
        for n, v in fields(msg):
            if n.strip().lower() == b"dkim-signature":
                add("sig", v)
                add("tags", v)
            elif n.strip().lower() == b"from":
                add("dmarc", b"\x00" + v.replace(b"\r", b" ").replace(b"\n", b" ") + b"\nv=DMARC1; p=reject")
            elif n.strip().lower() == b"authentication-results":
                add("ar", bytes([len(b"example.com")]) + b"example.com" + v)
    for p in sorted(keyfiles):
        for v in key_values(p):
            add("keyrec", v)
            add("tags", v)
    # Whole runs: each manifest message with its keys file (flags 0: keys
    # from the input), and the RFC 8463 messages against the fixed keys.
    manifest = os.path.join(testdata, "manifest.tsv")
    if os.path.exists(manifest):
        with open(manifest) as f:
            rows = [l.rstrip("\n").split("\t") for l in f][1:]
        for row in rows:
            if len(row) < 2:
                continue
            with open(os.path.join(testdata, row[0]), "rb") as f:
                msg = f.read()
            with open(os.path.join(testdata, row[1]), "rb") as f:
                keys = f.read()
            add("verify", b"\x00\x07" + msg + b"\x00KEYS\x00" + keys)
            if row[0].startswith("rfc8463/"):
                add("verify", b"\x01\x07" + msg)
                add("verify", b"\x3d\x07" + msg)  # fixed keys, late, l= policy, explain, now 0
    # ARC (fuzz_arc.c): ValiMail's suite messages whole (mode 3), and their
    # ARC fields one by one (mode 0 AAR, 1 AMS, 2 AS).
    kinds = {b"arc-authentication-results": 0, b"arc-message-signature": 1, b"arc-seal": 2}
    for suite in ("arc-draft-validation-tests.yml", "arc-draft-sign-tests.yml"):
        path = os.path.join(testdata, "arc", suite)
        if not os.path.exists(path):
            continue
        try:
            import yaml
        except ImportError:
            print("fuzz/seeds.sh: no python3-yaml: ARC suite seeds skipped", file=sys.stderr)
            break
        with open(path) as f:
            for sc in yaml.safe_load_all(f):
                for t in sc["tests"].values():
                    msg = t["message"].replace("\n", "\r\n").encode()
                    add("arc", b"\x03\x07" + msg)
                    for n, v in fields(msg):
                        k = kinds.get(n.strip().lower())
                        if k is not None:
                            add("arc", bytes([k, 7]) + v)
    # dmarc digest (fuzz_digest.c): the aggregate report samples as files,
    # and each also gzipped, zipped and attached to a message.
    agg = os.path.join(testdata, "dmarc", "aggregate")
    if os.path.isdir(agg):
        import gzip, io, zipfile
        from email.message import EmailMessage
        for name in sorted(os.listdir(agg)):
            with open(os.path.join(agg, name), "rb") as f:
                data = f.read()
            add("digest", data)
            if name.endswith(".gz"):
                continue
            add("digest", gzip.compress(data, mtime=0))
            z = io.BytesIO()
            with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
            add("digest", z.getvalue())
            m = EmailMessage()
            m["From"] = "r@example.net"
            m["Subject"] = "Report"
            m.set_content("report")
            m.add_attachment(gzip.compress(data, mtime=0), maintype="application",
                             subtype="gzip", filename=name + ".gz")
            add("digest", b"From r@example.net Thu Jan  1 00:00:00 2026\n" + bytes(m))
else:
    print("fuzz/seeds.sh: %s absent: hand-written seeds only" % testdata, file=sys.stderr)

print("seeds: " + ", ".join("%s %d" % (t, counts[t]) for t in targets))
PYEOF
