"""Connection settings from env: URL, API key or basic auth, TLS CA; secrets never in argv, repr, describe(),
error messages or CLI output."""

from __future__ import annotations

import json

import pytest

from mrs.elasticsearch.connection import (
    ElasticsearchSettings,
    client_kwargs,
    describe_error,
    make_client,
    settings_from_env,
)
from mrs.errors import InputError

SECRET = "Zm9vOmJhcg-SECRET=="


def test_api_key_from_env_and_kwargs():
    s = settings_from_env(env={"MRS_ELASTICSEARCH_URL": "https://es.example.com:9243/",
                               "MRS_ELASTICSEARCH_API_KEY": SECRET})
    assert s.url == "https://es.example.com:9243"
    kw = client_kwargs(s)
    assert kw["api_key"] == SECRET and "basic_auth" not in kw and kw["verify_certs"] is True
    assert kw["retry_on_status"] == (429, 502, 503, 504) and kw["max_retries"] == 3
    assert SECRET not in repr(s) and SECRET not in json.dumps(s.describe())
    assert s.describe()["auth"] == "api-key"


def test_basic_auth_and_ca(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = settings_from_env("https://localhost:9200", env={"MRS_ELASTICSEARCH_USER": "elastic",
                                                          "MRS_ELASTICSEARCH_PASSWORD": SECRET,
                                                          "MRS_ELASTICSEARCH_CA_FILE": str(ca)})
    kw = client_kwargs(s)
    assert kw["basic_auth"] == ("elastic", SECRET) and kw["ca_certs"] == str(ca)
    assert SECRET not in repr(s) and s.describe()["user"] == "elastic"
    insecure = client_kwargs(settings_from_env("https://h:9200", verify_certs=False, env={}))
    assert insecure["verify_certs"] is False and insecure["ssl_show_warn"] is False
    plain = client_kwargs(settings_from_env("http://h:9200", env={}))
    assert "verify_certs" not in plain  # no TLS options for plain http


@pytest.mark.parametrize("url, env, message", [
    (None, {}, "no Elasticsearch URL"),
    ("ftp://h", {}, "expected http"),
    (f"https://elastic:{SECRET}@h:9200", {}, "contains credentials"),
    ("http://h:9200", {"MRS_ELASTICSEARCH_USER": "u"}, "both"),
    ("http://h:9200", {"MRS_ELASTICSEARCH_USER": "u", "MRS_ELASTICSEARCH_PASSWORD": "p",
                       "MRS_ELASTICSEARCH_API_KEY": "k"}, "choose one"),
    ("http://h:9200", {"MRS_ELASTICSEARCH_CA_FILE": "/nope/ca.pem"}, "CA file not found"),
])
def test_bad_settings(url, env, message):
    with pytest.raises(InputError, match=message) as err:
        settings_from_env(url, env=env)
    assert SECRET not in str(err.value)


def test_describe_error_redacts(es):
    settings = ElasticsearchSettings(url="http://fake:9200", user="elastic", password=SECRET)
    es.fault("GET", "/", [(401, f"failed to authenticate user [elastic] with password [{SECRET}]")])
    client = make_client(settings, node_class=type(es.client().transport.node_pool.get()))
    with pytest.raises(Exception) as err:
        client.info()
    line = describe_error(err.value, settings)
    assert line.startswith("HTTP 401: security_exception") and SECRET not in line and "***" in line


def test_cli_never_prints_the_secret(monkeypatch, tmp_path):
    """A cluster that cannot be reached: exit 1 with one redacted line; the API key never appears."""
    from click.testing import CliRunner

    from mrs.cli.main import cli

    judgments = tmp_path / "j.tsv"
    judgments.write_text("query_id\tquery\tproduct_id\tesci_label\nq1\tred shirt\tp1\tE\n")
    monkeypatch.setenv("MRS_ELASTICSEARCH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MRS_ELASTICSEARCH_API_KEY", SECRET)
    result = CliRunner().invoke(cli, ["calibrate", "--backend", "elasticsearch", "--index", "products",
                                      "--judgments", str(judgments), "--out", str(tmp_path / "c.json"),
                                      "--retries", "0", "--timeout", "2"])
    assert result.exit_code == 1, result.output
    assert SECRET not in result.output
    assert result.output.startswith("cluster error: cannot reach the cluster")
    assert len(result.output.strip().splitlines()) == 1  # one line, no traceback
