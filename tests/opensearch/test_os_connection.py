"""Connection settings: URL and secrets from env only, TLS, SigV4, and redaction everywhere a secret could leak."""

from __future__ import annotations

import sys
import types

import pytest
from click.testing import CliRunner

from mrs.cluster.connection import redact, redact_url
from mrs.errors import InputError
from mrs.opensearch.connection import (
    client_kwargs,
    describe_error,
    make_client,
    settings_from_env,
)

SECRET = "s3cr3t-P@ss"


def test_url_and_basic_auth_from_env(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"MRS_OPENSEARCH_URL": "https://search.example.com:9243/prefix", "MRS_OPENSEARCH_USER": "admin",
           "MRS_OPENSEARCH_PASSWORD": SECRET, "MRS_OPENSEARCH_CA_FILE": str(ca)}
    s = settings_from_env(env=env, timeout_s=5, max_retries=7)
    kw = client_kwargs(s)
    assert kw["hosts"] == [{"host": "search.example.com", "port": 9243, "url_prefix": "/prefix"}]
    assert kw["use_ssl"] is True and kw["verify_certs"] is True and kw["ca_certs"] == str(ca)
    assert kw["http_auth"] == ("admin", SECRET)
    assert kw["timeout"] == 5 and kw["max_retries"] == 7 and kw["retry_on_status"] == (502, 503, 504)
    # the password never shows in repr or describe()
    assert SECRET not in repr(s) and SECRET not in str(s.describe())


def test_explicit_url_wins_and_http_defaults():
    s = settings_from_env("http://localhost:9200", env={"MRS_OPENSEARCH_URL": "http://other:1"})
    kw = client_kwargs(s)
    assert kw["hosts"][0]["host"] == "localhost" and kw["use_ssl"] is False and "http_auth" not in kw


@pytest.mark.parametrize("env,match", [
    ({}, "no OpenSearch URL"),
    ({"MRS_OPENSEARCH_URL": "localhost:9200"}, "expected http"),
    ({"MRS_OPENSEARCH_URL": "http://h:9200", "MRS_OPENSEARCH_USER": "u"}, "both"),
    ({"MRS_OPENSEARCH_URL": "http://h:9200", "MRS_OPENSEARCH_CA_FILE": "/nonexistent/ca.pem"}, "CA file"),
])
def test_bad_settings_are_input_errors(env, match):
    with pytest.raises(InputError, match=match):
        settings_from_env(env=env)


def test_credentials_in_the_url_are_refused_and_not_echoed():
    with pytest.raises(InputError) as err:
        settings_from_env(f"https://admin:{SECRET}@h:9200", env={})
    assert SECRET not in str(err.value) and "MRS_OPENSEARCH_PASSWORD" in str(err.value)


def test_redaction_of_urls_and_secrets():
    assert redact_url(f"https://admin:{SECRET}@h:9200/x") == "https://***@h:9200/x"
    assert redact(f"auth failed for {SECRET} at http://u:p@h", [SECRET]) == "auth failed for *** at http://***@h"


def test_transport_errors_are_described_without_secrets():
    from opensearchpy.exceptions import AuthenticationException

    s = settings_from_env("http://h:9200", env={"MRS_OPENSEARCH_USER": "u", "MRS_OPENSEARCH_PASSWORD": SECRET})
    err = AuthenticationException(401, "security_exception",
                                  {"error": {"type": "security_exception", "reason": f"bad password {SECRET}"}})
    line = describe_error(err, s)
    assert line == "HTTP 401: security_exception: bad password ***"


def test_connection_errors_are_one_redacted_line():
    from opensearchpy.exceptions import ConnectionError as OSConnectionError

    s = settings_from_env("http://h:9200", env={"MRS_OPENSEARCH_USER": "u", "MRS_OPENSEARCH_PASSWORD": SECRET})
    err = OSConnectionError("N/A", f"refused by http://u:{SECRET}@h:9200\nsecond line", None)
    assert describe_error(err, s) == "cannot reach the cluster: refused by http://***@h:9200"


def test_aws_sigv4_uses_opensearch_py_signer(monkeypatch):
    from opensearchpy import RequestsAWSV4SignerAuth, RequestsHttpConnection

    class Creds:
        access_key, secret_key, token = "AKIA", "aws-secret", None

    fake_boto3 = types.SimpleNamespace(Session=lambda: types.SimpleNamespace(get_credentials=lambda: Creds()))
    monkeypatch.setitem(sys.modules, "boto3", fake_boto3)
    s = settings_from_env("https://search-x.eu-west-1.es.amazonaws.com", aws_region="eu-west-1", env={})
    kw = client_kwargs(s)
    assert isinstance(kw["http_auth"], RequestsAWSV4SignerAuth) and kw["connection_class"] is RequestsHttpConnection
    assert kw["http_auth"].service == "es" and s.describe()["auth"] == "aws-sigv4"


def test_aws_without_boto3_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # import fails
    s = settings_from_env("https://h", aws_region="us-east-1", env={})
    with pytest.raises(InputError, match=r"mine-refine-search\[aws\]"):
        client_kwargs(s)


def test_aws_and_basic_auth_together_are_refused():
    with pytest.raises(InputError, match="choose one auth"):
        settings_from_env("https://h", aws_region="us-east-1",
                          env={"MRS_OPENSEARCH_USER": "u", "MRS_OPENSEARCH_PASSWORD": SECRET})


def test_make_client_builds_a_client():
    from opensearchpy import OpenSearch

    assert isinstance(make_client(settings_from_env("http://localhost:9200", env={})), OpenSearch)


def test_cli_never_prints_the_password(tmp_path, monkeypatch):
    """A failing cluster call prints one redacted line, exit 1; the password appears nowhere."""
    from mrs.cli.main import cli

    monkeypatch.setenv("MRS_OPENSEARCH_USER", "admin")
    monkeypatch.setenv("MRS_OPENSEARCH_PASSWORD", SECRET)
    out_dir = tmp_path / "os"
    runner = CliRunner()
    r = runner.invoke(cli, ["templates", "render", "--dimension", "8", "--out", str(out_dir)])
    assert r.exit_code == 0, r.output
    # port 9 (discard) on localhost: connection refused → cluster error after 0 retries
    r = runner.invoke(cli, ["templates", "install", str(out_dir), "--url", "http://127.0.0.1:9", "--retries", "0",
                            "--timeout", "2"])
    assert r.exit_code == 1
    assert SECRET not in r.output and "cluster error" in r.output
    r = runner.invoke(cli, ["templates", "install", str(out_dir), "--url", f"http://admin:{SECRET}@127.0.0.1:9"])
    assert r.exit_code == 2 and SECRET not in r.output
