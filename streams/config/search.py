"""Elasticsearch: where it is, credentials and index layout."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ElasticsearchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    index_prefix: str = Field(default="flarewatch", pattern=r"^[a-z0-9._-]+$")
    shards: int = Field(default=1, ge=1, le=64)
    replicas: int = Field(default=0, ge=0, le=8)
    kibana_url: str = Field(default="http://localhost:5601", pattern=r"^https?://\S+$")
    """Kibana's base URL, for the Discover links in incidents and pages (a data view with the id
    ``<index_prefix>-mentions`` over the mentions alias; see README)."""
    kibana_api_key: SecretStr | None = None
    """For ``flarewatch kibana import`` (``Authorization: ApiKey``); wins over a user."""
    kibana_username: str | None = None
    kibana_password: SecretStr | None = None
    request_timeout_s: float = Field(default=30.0, gt=0)
