"""Elasticsearch: where it is, credentials and index layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from streams.config.secrets import fill_from_files

SECRETS = ("password", "api_key", "kibana_password", "kibana_api_key")


class ElasticsearchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    """Each secret here may come from a mounted file instead (``<name>_file``, read once at
    start-up, surrounding whitespace dropped); giving both is an error."""
    api_key: SecretStr | None = None
    """``Authorization: ApiKey``; wins over username and password."""
    api_key_file: Path | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    index_prefix: str = Field(default="flarewatch", pattern=r"^[a-z0-9._-]+$")
    shards: int = Field(default=1, ge=1, le=64)
    replicas: int = Field(default=0, ge=0, le=8)
    refresh_interval: str = Field(default="500ms", pattern=r"^(-1|[1-9][0-9]*(ms|s|m))$")
    """How often the mention and thread indices make new documents searchable (Elasticsearch's
    default is 1s): a mention is searchable on average half of this after it is indexed. Each
    refresh writes a small segment, so a cluster taking many thousands of mentions a second may
    want 1s or more; ``flarewatch init`` applies a change to the existing indices too."""
    kibana_url: str = Field(default="http://localhost:5601", pattern=r"^https?://\S+$")
    """Kibana's base URL, for the Discover links in incidents and pages (a data view with the id
    ``<index_prefix>-mentions`` over the mentions alias; see README)."""
    kibana_api_key: SecretStr | None = None
    """For ``flarewatch kibana import`` (``Authorization: ApiKey``); wins over a user."""
    kibana_api_key_file: Path | None = None
    kibana_username: str | None = None
    kibana_password: SecretStr | None = None
    kibana_password_file: Path | None = None
    request_timeout_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any) -> Any:
        return fill_from_files(data, SECRETS)
