# test_policy_cli.py: `signet policy`, signetd's signing decision run offline with the
# daemon's own config, key store and policy code: which d=, selectors and key files would
# sign, or the exact reason (naming the client address, the domain and where it came from,
# the From problem, the auth mismatch); exit 0 sign, 1 not, 64 usage, 78 bad config.
import pytest

from conftest import EX_USAGE

EX_CONFIG = 78


@pytest.fixture(scope="module")
def conf(signet, tmp_path_factory):
    d = tmp_path_factory.mktemp("policy")
    d.chmod(0o755)
    signet.keygen(d / "rsa.key", selector="rsa2024")
    signet.keygen(d / "ed.key", selector="ed2024", type_="ed25519")
    signet.keygen(d / "org.key", domain="example.org", selector="s1")
    text = f"""
socket = "inet:18891@127.0.0.1";
local_addrs = ["127.0.0.0/8", "::1"];
log {{ target = "stderr"; }}
dkim_signing {{
  domain {{
    example.com {{
      selectors = [
        {{ selector = "rsa2024"; path = "{d}/rsa.key"; }},
        {{ selector = "ed2024"; path = "{d}/ed.key"; }}
      ];
    }}
    example.org {{ selector = "s1"; path = "{d}/org.key"; }}
  }}
}}
"""
    p = d / "signetd.conf"
    p.write_text(text)
    env = d / "envelope.conf"
    env.write_text(text.replace("dkim_signing {", 'dkim_signing {\n  use_domain = "envelope";\n'
                                "  allow_hdrfrom_mismatch = true;"))
    return {"dir": d, "conf": p, "envelope": env}


def policy(signet, conf, *args, which="conf"):
    return signet.run("policy", "-c", conf[which], *args)


def test_policy_would_sign_with_every_selector(signet, conf):
    """A local client, From example.com: both selectors, their key files, and why."""
    r = policy(signet, conf, "--from", "Ann <ann@example.com>", "--client", "127.0.0.1")
    assert r.rc == 0, r
    d = conf["dir"]
    assert r.text.splitlines() == [
        f"would sign with d=example.com s=rsa2024 (key {d}/rsa.key)",
        f"would sign with d=example.com s=ed2024 (key {d}/ed.key)",
        "because: client in local_addrs: 127.0.0.1; d=example.com (from the From header), "
        "selectors rsa2024, ed2024",
    ], r


def test_policy_authenticated_sender_signed(signet, conf):
    r = policy(signet, conf, "--from", "bob@example.org", "--auth", "bob@example.org",
               "--client", "192.0.2.7")
    assert r.rc == 0, r
    assert "would sign with d=example.org s=s1" in r.text, r
    assert "because: sender authenticated as bob@example.org" in r.text, r


@pytest.mark.parametrize("args,reason", [
    (("--from", "ann@example.com", "--client", "192.0.2.7"),
     "sender not authenticated and client 192.0.2.7 not in local_addrs"),
    (("--from", "ann@example.net", "--client", "127.0.0.1"),
     "no key for domain example.net (from the From header)"),
    (("--from", "ann@example.com", "--auth", "bob@example.org"),
     "auth user bob@example.org's domain differs from From domain example.com and "
     "allow_username_mismatch is off"),
    (("--from", "a@example.com, b@example.com", "--client", "127.0.0.1"),
     "From header has 2 addresses"),
    (("--from", "undisclosed", "--client", "127.0.0.1"),
     "From header has no parseable address: no '@' in 'undisclosed'"),
    (("--from", "ann@example.com", "--client", "127.0.0.1", "--envelope", "<>", "--non-smtp"),
     None),
])
def test_policy_reasons_name_address_domain_and_source(signet, conf, args, reason):
    """Each reason of the issue's list, worded as signetd logs it after "not signed: "."""
    r = policy(signet, conf, *args)
    if reason is None:
        assert r.rc == 0, r
        assert "local submission: non-SMTP" in r.text, r
        return
    assert r.rc == 1, r
    assert r.text == f"would not sign: {reason}\n", r


def test_policy_domain_from_envelope_is_named(signet, conf):
    """use_domain = envelope: the missing key's domain and its source are named."""
    r = policy(signet, conf, "--from", "ann@example.com", "--envelope", "bounce@lists.example.net",
               "--client", "127.0.0.1", which="envelope")
    assert r.rc == 1, r
    assert r.text == "would not sign: no key for domain lists.example.net (from the envelope " \
                     "sender)\n", r


def test_policy_bad_config_and_usage(signet, conf, tmp_path):
    """A config that does not load: 78 with signetd's messages; no --from: 64."""
    bad = tmp_path / "bad.conf"
    bad.write_text('dkim_signing { domain { example.com { selector = "s"; '
                   f'path = "{tmp_path}/missing.key"; }} }} }}\n')
    r = signet.run("policy", "-c", bad, "--from", "a@example.com")
    assert r.rc == EX_CONFIG, r
    assert "missing.key" in r.err, r
    assert "configuration not usable" in r.err, r
    r = signet.run("policy", "-c", conf["conf"])
    assert r.rc == EX_USAGE, r
    assert "give --from" in r.err, r
    r = signet.run("policy", "--from", "a@example.com", "--nope")
    assert r.rc == EX_USAGE, r


# FLEET-KEYS-01: with use_redis the decision names the Redis lookups
# (rspamd's: HGET selector_prefix DOMAIN, HGET key_prefix SELECTOR.DOMAIN)
# instead of key files; use_esld picks the configured parent domain.
def test_policy_keys_from_redis(signet, tmp_path):
    p = tmp_path / "redis.conf"
    p.write_text('socket = "inet:18891@127.0.0.1";\n'
                 'redis { servers = ["127.0.0.1:6379"]; }\n'
                 'dkim_signing {\n  use_redis = true;\n'
                 '  domain { example.org { selectors = [ { selector = "a"; }, '
                 '{ selector = "b"; } ]; } }\n}\n')
    r = signet.run("policy", "-c", p, "--from", "ann@mail.example.org", "--client", "127.0.0.1")
    assert r.rc == 0, r
    assert r.text.splitlines()[:2] == [
        "would sign with d=example.org s=a (key HGET dkim_keys a.example.org, Redis)",
        "would sign with d=example.org s=b (key HGET dkim_keys b.example.org, Redis)",
    ], r
    p.write_text(p.read_text().replace("use_redis = true;",
                                       'use_redis = true; selector_prefix = "DKIM_SELECTORS";'))
    r = signet.run("policy", "-c", p, "--from", "bob@example.net", "--client", "127.0.0.1")
    assert r.rc == 0, r
    assert r.text.splitlines() == [
        "would sign with d=example.net, the selector of HGET DKIM_SELECTORS example.net, "
        "the key of HGET dkim_keys SELECTOR.example.net (Redis)",
        "because: client in local_addrs: 127.0.0.1; d=example.net (from the From header), "
        "selector from Redis hash DKIM_SELECTORS (key from Redis)",
    ], r
