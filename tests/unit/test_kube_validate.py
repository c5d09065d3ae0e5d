"""The manifest validation kit (tests/kube.py): kept CRD schemas, strict checks, core checks, rendering."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests import kube

KAFKA: dict[str, Any] = {
    "apiVersion": "kafka.strimzi.io/v1beta2",
    "kind": "Kafka",
    "metadata": {"name": "flarewatch", "annotations": {"strimzi.io/kraft": "enabled"}},
    "spec": {
        "kafka": {
            "version": "4.1.0",
            "listeners": [{"name": "tls", "port": 9093, "type": "internal", "tls": True}],
            "config": {"offsets.topic.replication.factor": 3, "min.insync.replicas": 2},
        },
        "entityOperator": {"topicOperator": {}, "userOperator": {}},
    },
}
NODE_POOL: dict[str, Any] = {
    "apiVersion": "kafka.strimzi.io/v1beta2",
    "kind": "KafkaNodePool",
    "metadata": {"name": "dual", "labels": {"strimzi.io/cluster": "flarewatch"}},
    "spec": {
        "replicas": 3,
        "roles": ["controller", "broker"],
        "storage": {"type": "persistent-claim", "size": "20Gi", "deleteClaim": False},
        "resources": {"requests": {"cpu": 1, "memory": "4Gi"}},
        "template": {
            "kafkaContainer": {
                "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}}]
            }
        },
    },
}
TOPIC: dict[str, Any] = {
    "apiVersion": "kafka.strimzi.io/v1beta2",
    "kind": "KafkaTopic",
    "metadata": {"name": "mentions.raw", "labels": {"strimzi.io/cluster": "flarewatch"}},
    "spec": {
        "partitions": 12,
        "replicas": 3,
        "config": {"retention.ms": 604800000, "cleanup.policy": "delete"},
    },
}
USER: dict[str, Any] = {
    "apiVersion": "kafka.strimzi.io/v1beta2",
    "kind": "KafkaUser",
    "metadata": {"name": "worker", "labels": {"strimzi.io/cluster": "flarewatch"}},
    "spec": {
        "authentication": {"type": "scram-sha-512"},
        "authorization": {
            "type": "simple",
            "acls": [
                {
                    "resource": {"type": "topic", "name": "mentions.", "patternType": "prefix"},
                    "operations": ["Read", "Write"],
                },
                {"resource": {"type": "group", "name": "flarewatch"}, "operations": ["Read"]},
            ],
        },
    },
}
ELASTICSEARCH: dict[str, Any] = {
    "apiVersion": "elasticsearch.k8s.elastic.co/v1",
    "kind": "Elasticsearch",
    "metadata": {"name": "search"},
    "spec": {
        "version": "9.1.0",
        "nodeSets": [
            {
                "name": "default",
                "count": 3,
                "config": {"node.store.allow_mmap": False},
                "podTemplate": {"spec": {"containers": [{"name": "elasticsearch"}]}},
            }
        ],
    },
}
KIBANA: dict[str, Any] = {
    "apiVersion": "kibana.k8s.elastic.co/v1",
    "kind": "Kibana",
    "metadata": {"name": "kibana"},
    "spec": {
        "version": "9.1.0",
        "count": 1,
        "elasticsearchRef": {"name": "search"},
        "resources": {"limits": {"cpu": 1, "memory": "1Gi"}},
    },
}
SCALED_OBJECT: dict[str, Any] = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {"name": "worker"},
    "spec": {
        "scaleTargetRef": {"name": "worker"},
        "minReplicaCount": 1,
        "maxReplicaCount": 12,
        "triggers": [
            {
                "type": "kafka",
                "metadata": {
                    "bootstrapServers": "k:9093",
                    "consumerGroup": "flarewatch",
                    "lagThreshold": "500",
                },
                "authenticationRef": {"name": "kafka-scram"},
            }
        ],
    },
}
TRIGGER_AUTH: dict[str, Any] = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "TriggerAuthentication",
    "metadata": {"name": "kafka-scram"},
    "spec": {"secretTargetRef": [{"parameter": "password", "name": "worker", "key": "password"}]},
}
SERVICE_MONITOR: dict[str, Any] = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "ServiceMonitor",
    "metadata": {"name": "worker"},
    "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "worker"}},
        "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
    },
}
PROMETHEUS_RULE: dict[str, Any] = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "PrometheusRule",
    "metadata": {"name": "flarewatch"},
    "spec": {
        "groups": [
            {
                "name": "flarewatch",
                "rules": [
                    {
                        "alert": "FlarewatchLagHigh",
                        "expr": "sum(kafka_consumergroup_lag) > 10000",
                        "for": "10m",
                        "labels": {"severity": "page"},
                        "annotations": {"summary": "Worker lag is high"},
                    }
                ],
            }
        ]
    },
}
VALID_CUSTOM = [
    KAFKA,
    NODE_POOL,
    TOPIC,
    USER,
    ELASTICSEARCH,
    KIBANA,
    SCALED_OBJECT,
    TRIGGER_AUTH,
    SERVICE_MONITOR,
    PROMETHEUS_RULE,
]
DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "worker"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "worker"}},
        "template": {
            "metadata": {"labels": {"app": "worker"}},
            "spec": {
                "containers": [
                    {
                        "name": "worker",
                        "image": "flarewatch:1",
                        "ports": [{"name": "metrics", "containerPort": 9100}],
                        "resources": {"limits": {"cpu": 1, "memory": "2Gi"}},
                    }
                ]
            },
        },
    },
}


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of obj with the field at a dotted path (list indexes as numbers) set to value."""
    result = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return result


def test_custom_kinds_match_the_kept_schema_files() -> None:
    on_disk = {path.relative_to(kube.SCHEMAS).as_posix() for path in kube.SCHEMAS.rglob("*.json")}
    kinds = {(obj["apiVersion"], obj["kind"]) for obj in VALID_CUSTOM}
    assert on_disk == {f"{api.split('/')[0]}/{kind.lower()}_{api.split('/')[1]}.json" for api, kind in kinds}
    assert kinds == kube.CUSTOM_KINDS


def test_sources_name_every_schema_file() -> None:
    sources = (kube.SCHEMAS / "SOURCES.md").read_text(encoding="utf-8")
    for path in kube.SCHEMAS.rglob("*.json"):
        assert path.relative_to(kube.SCHEMAS).as_posix() in sources


@pytest.mark.parametrize("obj", VALID_CUSTOM, ids=lambda obj: obj["kind"])
def test_each_kept_schema_accepts_a_valid_example(obj: dict[str, Any]) -> None:
    assert kube.validate(obj) == []


@pytest.mark.parametrize(
    ("obj", "path", "value", "expected"),
    [
        (TOPIC, "spec.partitions", "three", "spec.partitions: 'three' is not of type 'integer'"),
        (SCALED_OBJECT, "spec.maxReplicas", 12, "spec: Additional properties are not allowed ('maxReplicas'"),
        (
            KAFKA,
            "spec.kafka.listeners.0.tls",
            "yes",
            "spec.kafka.listeners[0].tls: 'yes' is not of type 'boolean'",
        ),
        (USER, "spec.authentication.type", "scram", "spec.authentication.type: 'scram' is not one of"),
        (
            ELASTICSEARCH,
            "spec.nodeSets.0.replicas",
            3,
            "spec.nodeSets[0]: Additional properties are not allowed",
        ),
        (
            SERVICE_MONITOR,
            "spec.endpoints.0.scrapeInterval",
            "30s",
            "spec.endpoints[0]: Additional properties",
        ),
        (PROMETHEUS_RULE, "spec.group", [], "spec: Additional properties are not allowed ('group'"),
        (KIBANA, "spec.count", "one", "spec.count: 'one' is not of type 'integer'"),
        (KAFKA, "extra", {}, "(top): Additional properties are not allowed ('extra'"),
    ],
)
def test_custom_validation_rejects_wrong_types_and_unknown_fields(
    obj: dict[str, Any], path: str, value: Any, expected: str
) -> None:
    errors = kube.validate(changed(obj, path, value))
    assert len(errors) == 1
    assert errors[0].startswith(f"{obj['kind']}/{obj['metadata']['name']}: {expected}")


def test_custom_validation_reports_every_error_not_just_the_first() -> None:
    bad = changed(changed(TOPIC, "spec.partitions", "three"), "spec.replica", 3)
    assert len(kube.validate_custom(bad)) == 2


def test_custom_validation_needs_a_name_and_a_known_kind() -> None:
    nameless = changed(TOPIC, "metadata", {"labels": {}})
    assert kube.validate(nameless) == ["KafkaTopic/?: missing metadata.name"]
    unknown = changed(TOPIC, "apiVersion", "kafka.strimzi.io/v1")
    assert kube.validate(unknown)[0].startswith(
        "KafkaTopic/mentions.raw: no schema for kafka.strimzi.io/v1 KafkaTopic"
    )
    connect = {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaConnect", "metadata": {"name": "c"}}
    assert kube.validate(connect)[0].startswith("KafkaConnect/c: no schema for")


def test_strict_schema_closes_objects_but_not_open_maps_or_choices() -> None:
    schema = {
        "type": "object",
        "properties": {
            "port": {"x-kubernetes-int-or-string": True},
            "config": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {"a": {}},
            },
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "oneOf": [{"properties": {"port": {}}, "required": ["port"]}],
    }
    validator = jsonschema.Draft202012Validator(kube.strict_schema(schema))
    assert validator.is_valid({"port": 8080, "config": {"b": 1}, "labels": {"x": "y"}})
    assert validator.is_valid({"port": "http"})
    assert not validator.is_valid({"port": 1.5})
    assert not validator.is_valid({"port": 8080, "other": 1})
    assert "additionalProperties" not in schema  # the kept schema itself is left as it is


def test_core_validation_accepts_a_good_deployment() -> None:
    assert kube.validate(DEPLOYMENT) == []


def test_core_validation_rejects_an_unknown_field_with_its_path() -> None:
    errors = kube.validate(changed(DEPLOYMENT, "spec.template.spec.containers.0.imagePullPolice", "Always"))
    assert errors == [
        "Deployment/worker: spec.template.spec.containers[0]: "
        "Additional properties are not allowed ('imagePullPolice' was unexpected)"
    ]


def test_core_validation_rejects_a_wrong_type_and_an_unknown_kind() -> None:
    assert kube.validate(changed(DEPLOYMENT, "spec.replicas", "two"))[0].startswith(
        "Deployment/worker: spec.replicas:"
    )
    gadget = {"apiVersion": "v1", "kind": "Gadget", "metadata": {"name": "g"}}
    assert kube.validate(gadget)[0].startswith("Gadget/g: Couldn't find schema for kind Gadget")


def test_core_validation_uses_the_readme_version() -> None:
    assert kube.KUBERNETES_VERSION == "1.34.0"
    # autoscaling/v2beta2 was removed in Kubernetes 1.26, so its schemas are gone at 1.34.
    hpa = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}}
    assert kube.validate_core(hpa) != []


def test_kubectl_is_the_one_in_the_virtual_environment() -> None:
    assert Path(sys.executable).with_name("kubectl") == kube.KUBECTL
    assert kube.KUBECTL.is_file()


def test_render_builds_a_kustomization(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "namespace: flarewatch\nnamePrefix: dev-\nresources: [config.yaml]\n", encoding="utf-8"
    )
    (tmp_path / "config.yaml").write_text(
        "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
        'data: {LOG_LEVEL: info, SEPARATOR: "=", SWITCH: "on", SINCE: "2026-01-01"}\n',
        encoding="utf-8",
    )
    [config_map] = kube.render(tmp_path)
    assert config_map["metadata"] == {"name": "dev-settings", "namespace": "flarewatch"}
    assert config_map["data"] == {
        "LOG_LEVEL": "info",
        "SEPARATOR": "=",
        "SWITCH": "on",
        "SINCE": "2026-01-01",
    }
    assert kube.validate(config_map) == []


def test_render_failure_carries_kubectl_message(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n", encoding="utf-8")
    with pytest.raises(kube.RenderError, match=r"kubectl kustomize .* failed: .*missing\.yaml"):
        kube.render(tmp_path)
