# test_explain.py: `signet verify --explain` (text and --json) on messages changed after
# signing: a mailing-list footer, a relay's whitespace/tab/line-end changes, a changed
# header (hash input shown, z= diff), and the l= policy defaults.
import pytest

from conftest import TESTDATA, TESTDATA_MISSING, keys_line, split_message

BODY = (b"Hello list,\n"
        b"the meeting moves to 3pm.\n"
        b"\n"
        b"\tJoe\n")
MSG = (b"From: Joe <joe@example.com>\n"
       b"To: list@lists.example.org\n"
       b"Subject: meeting\n"
       b"\n") + BODY
FOOTER = (b"\n"
          b"-- \n"
          b"list mailing list -- unsubscribe: https://lists.example.org/u\n"
          b"archives: https://lists.example.org/a\n")


@pytest.fixture(scope="module")
def kit(signet, tmp_path_factory):
    d = tmp_path_factory.mktemp("explain")
    rec = signet.keygen(d / "k.key", selector="sel").text.strip()
    keys = d / "keys.txt"
    keys.write_text(keys_line("sel", "example.com", rec))
    return {"key": d / "k.key", "keys": keys}


def signed(signet, kit, canon="relaxed/relaxed", msg=MSG):
    return signet.sign(msg, kit["key"], extra=("-c", canon)).out


def test_DKIM_VER_02_footer_added_is_located(signet, kit):
    """DKIM-VER-02: a list footer appended after signing → fail, and --explain says the
    first 4 lines match and 4 lines were added, and shows the footer's first lines."""
    for canon in ("relaxed/relaxed", "simple/simple"):
        out = signed(signet, kit, canon) + FOOTER
        v = signet.verify(out, kit["keys"], ("--explain",))
        assert v.rc == 1, v
        assert "fail (body hash did not verify)" in v.text, v
        assert ("the first 4 lines (48 bytes) match the signature; "
                "4 lines were added after signing") in v.text, v
        lines = v.text.splitlines()
        i = lines.index("  first added lines:")
        want2 = "-- " if canon.endswith("simple") else "--"
        assert lines[i + 1:i + 4] == ["    | ", "    | " + want2,
                                      "    | list mailing list -- unsubscribe: "
                                      "https://lists.example.org/u"], v
        assert "none of the changes tried" in v.text, v


def test_DKIM_VER_02_footer_added_json(signet, kit):
    """--json --explain: the same facts as an "explain" object; plain --json unchanged."""
    out = signed(signet, kit) + FOOTER
    v = signet.verify(out, kit["keys"], ("--json", "--explain"))
    assert v.rc == 1, v
    (obj,) = v.json()
    assert list(obj)[:6] == ["d", "i", "s", "a", "result", "reason"]
    ex = obj["explain"]
    assert [s["name"] for s in ex["steps"]] == ["tags", "key", "key check", "body hash"]
    assert ex["steps"][3]["ok"] is False
    body = ex["body"]
    assert body["prefix_found"] is True
    assert (body["prefix_lines"], body["prefix_bytes"], body["total_lines"],
            body["added_lines"]) == (4, 48, 8, 4)
    assert body["lines"] == ["", "--", "list mailing list -- unsubscribe: "
                             "https://lists.example.org/u"]
    assert body["transform"] is None
    assert "explain" not in signet.verify(out, kit["keys"], ("--json",)).json()[0]


def test_DKIM_VER_02_relay_whitespace_change_named(signet, kit):
    """DKIM-VER-02: simple body canonicalization and a relay that changed the whitespace at
    line ends: --explain names the change that, undone, restores bh=. (A relay that only
    *removed* trailing whitespace cannot be undone: the removed bytes are unknown; then
    --explain says that none of the changes tried restores bh=.)"""
    out = signed(signet, kit, "relaxed/simple")
    head, body = split_message(out)
    added = head + body.replace(b"Hello list,\n", b"Hello list,   \n")
    v = signet.verify(added, kit["keys"], ("--explain",))
    assert v.rc == 1, v
    assert ("relay change: the body hash matches after this change: trailing whitespace "
            "stripped from each line") in v.text, v
    j = signet.verify(added, kit["keys"], ("--json", "--explain")).json()[0]
    assert j["explain"]["body"]["transform"].startswith("trailing whitespace stripped"), j
    # The other direction: the signer had trailing whitespace, a relay stripped it.
    out2 = signed(signet, kit, "relaxed/simple", MSG.replace(b"3pm.\n", b"3pm.  \n"))
    head, body = split_message(out2)
    stripped = head + body.replace(b"3pm.  \n", b"3pm.\n")
    v = signet.verify(stripped, kit["keys"], ("--explain",))
    assert "no prefix of the 4 canonical lines matches bh=" in v.text, v
    assert "none of the changes tried" in v.text, v


@pytest.mark.parametrize("change,expect", [
    ((b"\tJoe\n", b"        Joe\n"), "leading spaces turned back into tabs"),
    ((b"\n", b"\r\r\n"), "bare CRs removed"),
])
def test_DKIM_VER_02_relay_tab_and_line_end_changes(signet, kit, change, expect):
    """DKIM-VER-02: tabs expanded to spaces, line ends turned into CR CR LF: named."""
    out = signed(signet, kit, "relaxed/simple")
    head, body = split_message(out)
    v = signet.verify(head + body.replace(*change), kit["keys"], ("--explain",))
    assert v.rc == 1, v
    assert expect in v.text, v


def test_DKIM_VER_02_dot_stuffing_left_in(signet, kit):
    """DKIM-VER-02: a relay that left SMTP dot-stuffing in ("..sig" for ".sig")."""
    msg = MSG + b".sig\n"
    out = signed(signet, kit, msg=msg)
    head, body = split_message(out)
    v = signet.verify(head + body.replace(b".sig\n", b"..sig\n"), kit["keys"], ("--explain",))
    assert "dot-stuffing was left in" in v.text, v


def test_DKIM_VER_03_header_change_shows_hash_input(signet, kit):
    """DKIM-VER-03: a changed Subject → "signature did not verify"; --explain prints the
    exact canonical header input, which carries the received Subject."""
    out = signed(signet, kit).replace(b"Subject: meeting", b"Subject: MEETING")
    v = signet.verify(out, kit["keys"], ("--explain",))
    assert v.rc == 1, v
    assert "signature did not verify" in v.text, v
    assert "    subject:MEETING\\r\\n" in v.text, v
    j = signet.verify(out, kit["keys"], ("--json", "--explain")).json()[0]
    assert "subject:MEETING\r\n" in j["explain"]["header_hash_input"], j


def test_DKIM_SIG_12_z_diff_of_opendkim_vector(signet):
    """DKIM-SIG-12: with z=, --explain lists the copied fields that differ from the received
    ones (OpenDKIM's header-diffing vector t-test70: From lost a dot, Received changed)."""
    if not TESTDATA.is_dir():
        pytest.skip(TESTDATA_MISSING)
    f = TESTDATA / "opendkim" / "t-test70.eml"
    v = signet.run("verify", "--keys", TESTDATA / "opendkim" / "keys.txt", "--explain", f)
    assert v.rc == 1, v
    assert "z= copied 8 header fields; 4 differ from the received ones:" in v.text, v
    assert "    From: signed:   Murray S. Kucherawy <msk@sendmail.com>" in v.text, v
    assert "    From: received: Murray S Kucherawy <msk@sendmail.com>" in v.text, v
    assert "    Received: received: received data 2 klmno" in v.text, v
    j = signet.run("verify", "--keys", TESTDATA / "opendkim" / "keys.txt", "--json",
                   "--explain", f).json()[0]
    z = j["explain"]["z"]
    assert (z["fields"], len(z["differ"])) == (8, 4), j
    assert z["differ"][3] == {"name": "From", "signed": "Murray S. Kucherawy <msk@sendmail.com>",
                              "received": "Murray S Kucherawy <msk@sendmail.com>"}


def test_DKIM_SIG_09_l_policy_default_and_honour(signet):
    """DKIM-SIG-09: content after l= is unsigned; by default (as signetd's verify.l_policy)
    the result is policy "content after l= is unsigned"; --l-policy honour gives the RFC's
    permissive reading (pass, with a note)."""
    if not TESTDATA.is_dir():
        pytest.skip(TESTDATA_MISSING)
    f = TESTDATA / "opendkim" / "t-test28.eml"
    keys = TESTDATA / "opendkim" / "keys.txt"
    v = signet.run("verify", "--keys", keys, "--json", f)
    assert v.json()[0]["result"] == "policy", v
    assert "content after l= is unsigned" in v.json()[0]["reason"], v
    assert v.rc == 1, v
    v = signet.run("verify", "--keys", keys, "--json", "--l-policy", "honour", f)
    assert v.json()[0]["result"] == "pass", v
    v = signet.run("verify", "--keys", keys, "--l-policy", "unsigned-content-is-policy", f)
    assert "policy (content after l= is unsigned" in v.text, v
