"""Elasticsearch clients from settings (the official client; sync for the CLI, async for agents)."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

from streams.config.search import ElasticsearchSettings
from streams.search.layout import Layout


def _options(es: ElasticsearchSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "hosts": [u.strip() for u in es.url.split(",") if u.strip()],
        "request_timeout": es.request_timeout_s,
        "verify_certs": es.verify_certs,
    }
    if es.api_key:
        options["api_key"] = es.api_key.get_secret_value()
    elif es.username:
        options["basic_auth"] = (es.username, es.password.get_secret_value() if es.password else "")
    if es.ca_certs:
        options["ca_certs"] = str(es.ca_certs)
    return options


def sync_client(es: ElasticsearchSettings) -> Elasticsearch:
    return Elasticsearch(**_options(es))


def async_client(es: ElasticsearchSettings) -> AsyncElasticsearch:
    return AsyncElasticsearch(**_options(es))


def layout(es: ElasticsearchSettings) -> Layout:
    return Layout(es.index_prefix, es.shards, es.replicas, es.refresh_interval)
