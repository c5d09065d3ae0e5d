"""Kafka client settings shared by kafka-python (collectors, admin) and Faust (the worker).

Both follow ``security_protocol``: SASL settings are used only with SASL_PLAINTEXT and SASL_SSL,
TLS (``ssl_cafile``, and ``ssl_certfile``/``ssl_keyfile`` for mutual TLS) only with SSL and
SASL_SSL."""

from __future__ import annotations

import ssl
from typing import Any

from streams.config.kafka import KafkaSettings


def kafka_python_config(k: KafkaSettings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap_servers": k.servers,
        "security_protocol": k.security_protocol,
    }
    if _sasl(k):
        config["sasl_mechanism"] = k.sasl_mechanism
        config["sasl_plain_username"] = k.sasl_username
        config["sasl_plain_password"] = k.sasl_password.get_secret_value() if k.sasl_password else None
    if _tls(k):
        if k.ssl_cafile:
            config["ssl_cafile"] = str(k.ssl_cafile)
        if k.ssl_certfile and k.ssl_keyfile:
            config["ssl_certfile"] = str(k.ssl_certfile)
            config["ssl_keyfile"] = str(k.ssl_keyfile)
    return config


def faust_broker_url(k: KafkaSettings) -> str:
    return ";".join(f"kafka://{server}" for server in k.servers)


def faust_credentials(k: KafkaSettings) -> Any:
    """None for PLAINTEXT; otherwise Faust's SASL or SSL credentials object (aiokafka takes its
    security protocol from it: SASL_SSL when a SASL credential carries an SSL context)."""
    import faust

    context = ssl_context(k) if _tls(k) else None
    if _sasl(k):
        password = k.sasl_password.get_secret_value() if k.sasl_password else ""
        return faust.SASLCredentials(
            username=k.sasl_username, password=password, mechanism=k.sasl_mechanism, ssl_context=context
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def ssl_context(k: KafkaSettings) -> ssl.SSLContext:
    """Verifies the brokers against ``ssl_cafile`` (else the system's CAs) and presents the client
    certificate when one is configured; raises ``OSError`` when a file cannot be read."""
    context = ssl.create_default_context(cafile=str(k.ssl_cafile) if k.ssl_cafile else None)
    if k.ssl_certfile and k.ssl_keyfile:
        context.load_cert_chain(str(k.ssl_certfile), str(k.ssl_keyfile))
    return context


def _sasl(k: KafkaSettings) -> bool:
    return k.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL") and k.sasl_mechanism is not None


def _tls(k: KafkaSettings) -> bool:
    return k.security_protocol in ("SSL", "SASL_SSL")
