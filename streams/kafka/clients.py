"""Kafka client settings shared by kafka-python (collectors, admin) and Faust (the worker)."""

from __future__ import annotations

import ssl
from typing import Any

from streams.config.kafka import KafkaSettings


def kafka_python_config(k: KafkaSettings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap_servers": k.servers,
        "security_protocol": k.security_protocol,
    }
    if k.sasl_mechanism:
        config["sasl_mechanism"] = k.sasl_mechanism
        config["sasl_plain_username"] = k.sasl_username
        config["sasl_plain_password"] = k.sasl_password.get_secret_value() if k.sasl_password else None
    if k.ssl_cafile:
        config["ssl_cafile"] = str(k.ssl_cafile)
    return config


def faust_broker_url(k: KafkaSettings) -> str:
    return ";".join(f"kafka://{server}" for server in k.servers)


def faust_credentials(k: KafkaSettings) -> Any:
    """None for PLAINTEXT; otherwise Faust's SASL or SSL credentials object."""
    import faust

    context = ssl.create_default_context(cafile=str(k.ssl_cafile) if k.ssl_cafile else None)
    if k.sasl_mechanism:
        password = k.sasl_password.get_secret_value() if k.sasl_password else ""
        if k.sasl_mechanism == "PLAIN":
            return faust.SASLCredentials(
                username=k.sasl_username,
                password=password,
                ssl_context=context if k.security_protocol == "SASL_SSL" else None,
            )
        return faust.SASLCredentials(
            username=k.sasl_username,
            password=password,
            mechanism=k.sasl_mechanism,
            ssl_context=context if k.security_protocol == "SASL_SSL" else None,
        )
    if k.security_protocol == "SSL":
        return faust.SSLCredentials(context)
    return None
