"""Hostile cluster URLs (issue 20, class 1): credentials with '/', '#', '?' or '@' in the password are refused
without echoing them, before any client library parses the URL; unparsable URLs are one InputError line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mrs.cli.main import cli
from mrs.cluster.url import ClusterURL, parse_cluster_url, redact_url
from mrs.elasticsearch.connection import client_kwargs as es_client_kwargs
from mrs.elasticsearch.connection import settings_from_env as es_settings
from mrs.errors import InputError
from mrs.opensearch.connection import client_kwargs as os_client_kwargs
from mrs.opensearch.connection import settings_from_env as os_settings

from .helpers import one_error_line

SECRET = "Zq9s3cr3tX"
WITH_CREDENTIALS = [
    f"http://user:ab/{SECRET}@127.0.0.1:9",
    f"http://user:a#{SECRET}@127.0.0.1:9",
    f"http://user:a?{SECRET}@127.0.0.1:9",
    f"http://user:p@{SECRET}@127.0.0.1:9",
    f"https://user:{SECRET}@127.0.0.1:9200/prefix",
    f"https://{SECRET}@127.0.0.1:9200",
    f"user:{SECRET}@127.0.0.1:9200",
]
UNPARSABLE = [
    ("http://[::1", "Invalid IPv6"),
    ("http://host:99999", "port must be a number from 1 to 65535"),
    ("http://host:0", "port must be a number from 1 to 65535"),
    ("http://host:port", "port must be a number from 1 to 65535"),
    ("http://host:", "port must be a number from 1 to 65535"),
    ("http://", "no host"),
    ("http://ho st:9200", "whitespace"),
    ("http://host:9200/?pretty", "query string"),
    ("http://host:9200#frag", "query string or fragment"),
    ("ftp://host", "expected http"),
    ("localhost:9200", "expected http"),
    ("http://ho$t:9200", "not a name or an address"),
]
SETTINGS = {"opensearch": (os_settings, "MRS_OPENSEARCH_USER and MRS_OPENSEARCH_PASSWORD"),
            "elasticsearch": (es_settings, "MRS_ELASTICSEARCH_API_KEY or MRS_ELASTICSEARCH_USER/"
                                           "MRS_ELASTICSEARCH_PASSWORD")}


@pytest.mark.parametrize("kind", list(SETTINGS))
@pytest.mark.parametrize("url", WITH_CREDENTIALS)
def test_credentials_are_refused_naming_the_env_vars_and_never_echoed(kind, url):
    settings_from_env, hint = SETTINGS[kind]
    with pytest.raises(InputError) as err:
        settings_from_env(url, env={})
    text = str(err.value)
    assert SECRET not in text and "user:a" not in text
    assert hint in text and "***@127.0.0.1" in text


@pytest.mark.parametrize("kind", list(SETTINGS))
@pytest.mark.parametrize("url, reason", UNPARSABLE)
def test_unparsable_urls_are_input_errors(kind, url, reason):
    with pytest.raises(InputError, match=reason):
        SETTINGS[kind][0](url, env={})


def test_good_urls_are_normalised_the_same_for_both_clients():
    assert parse_cluster_url("HTTPS://Search.Example.com:9243/pre/", product="X", env_url="E",
                             secrets_hint="S") == ClusterURL("https", "search.example.com", 9243, "/pre")
    assert str(parse_cluster_url("http://[::1]:9200", product="X", env_url="E", secrets_hint="S")) == \
        "http://[::1]:9200"
    kw = os_client_kwargs(os_settings("http://[::1]:9200/pre/", env={}))
    assert kw["hosts"] == [{"host": "::1", "port": 9200, "url_prefix": "/pre"}]
    assert es_client_kwargs(es_settings("http://[::1]:9200/pre/", env={}))["hosts"] == ["http://[::1]:9200/pre"]


def test_redaction_removes_a_password_holding_url_delimiters():
    for url in WITH_CREDENTIALS[:5]:
        assert SECRET not in redact_url(f"cannot reach {url} now")
    assert redact_url("see http://u:a/b#c?d@h:9 and http://h:9") == "see http://***@h:9 and http://h:9"


@pytest.mark.parametrize("backend", ["opensearch", "elasticsearch"])
@pytest.mark.parametrize("url", WITH_CREDENTIALS[:4] + ["http://[::1", "http://host:99999"])
def test_cli_search_prints_one_line_without_the_secret(backend, url):
    result = CliRunner().invoke(cli, ["search", "grey sofa", "--backend", backend, "--url", url,
                                      "--index", "products"])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert SECRET not in result.output + result.stderr and "ValueError" not in line


@pytest.mark.parametrize("backend, var", [("opensearch", "MRS_OPENSEARCH_URL"),
                                          ("elasticsearch", "MRS_ELASTICSEARCH_URL")])
def test_a_url_with_credentials_in_the_environment_is_refused_too(backend, var, monkeypatch):
    monkeypatch.setenv(var, f"http://admin:x/{SECRET}@h:9200")
    result = CliRunner().invoke(cli, ["search", "sofa", "--backend", backend, "--index", "products"])
    assert result.exit_code == 2 and SECRET not in result.stderr and "contains credentials" in result.stderr
