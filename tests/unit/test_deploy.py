"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine): check them instead."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from streams.cli.main import cli
from streams.config.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("check-jsonschema")),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        assert re.search(r":\d+(\.\d+)+(-[\w.]+)?$|@sha256:[0-9a-f]{64}$", image), (name, image)
    for base in _bases():
        assert re.search(r":\d+\.\d+\.\d+", base), base


def _bases() -> list[str]:
    """The images each stage of the Dockerfile starts from, with ARG defaults filled in."""
    text = DOCKERFILE.read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    bases = re.findall(r"^FROM (\S+)", text, re.M)
    return [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], b) for b in bases]


def test_image_is_multi_stage_non_root_with_the_model_built_in() -> None:
    text = DOCKERFILE.read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) >= 2, "a build stage and a runtime stage"
    build, runtime = stages[0], stages[-1]
    assert "flarewatch model build" in build, "the model caches are built at image build time"
    assert "COPY --from=build" in runtime and "pip install" not in runtime
    user = re.findall(r"^USER (\S+)", runtime, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0"), user
    assert re.search(r"^HEALTHCHECK .*\n.*health/ready", runtime, re.M)
    assert "FLAREWATCH_SCORING__CACHE_DIR" in runtime and "HF_HUB_OFFLINE=1" in runtime


def test_core_services_have_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "elasticsearch", "kibana", "worker", "collector"} <= set(services)
    for name in ("kafka", "elasticsearch", "kibana", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "KRaft" in COMPOSE.read_text() and services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_every_flarewatch_service_command_exists_in_the_cli(compose: dict[str, Any]) -> None:
    flarewatch_services = {n: s for n, s in compose["services"].items() if s.get("build")}
    assert flarewatch_services
    for name, service in flarewatch_services.items():
        args = [arg.replace("/app/", f"{ROOT}/") for arg in service["command"]]
        command: click.Command | None = cli.get_command(click.Context(cli), args[0])
        assert command is not None, f"service {name}: no CLI command {args[0]!r}"
        rest = args[1:]
        while isinstance(command, click.Group):  # collect pages ...
            command, rest = command.get_command(click.Context(command), rest[0]), rest[1:]
            assert command is not None, f"service {name}: no CLI command {' '.join(args)!r}"
        command.make_context(args[0], rest)  # raises on unknown options or bad values


def test_the_compose_settings_load() -> None:
    settings = load_settings(ROOT / "deploy" / "compose" / "flarewatch.yaml")
    assert [b.name for b in settings.brands] == ["zakupowo", "kosarka"]
    assert settings.collectors.x.bearer_token_env == "X_BEARER_TOKEN"


def test_image_and_project_pin_the_same_torch_and_search_client_major() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "torch==2.13.0" in DOCKERFILE.read_text() and '"torch>=2.13,<2.14"' in pyproject
    es_image = yaml.safe_load(COMPOSE.read_text())["services"]["elasticsearch"]["image"]
    assert es_image.split(":")[1].startswith("9.") and '"elasticsearch[async]>=9,<10"' in pyproject
