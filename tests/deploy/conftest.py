"""The deploy artifacts (deploy/helm/market, deploy/container), rendered and checked offline.

Environment:
  MARKET_HELM                  the helm binary (scripts/infra/helm.sh prints it); else helm on PATH,
                               else $(go env GOPATH)/bin/helm where that script builds it.
  MARKET_TEST_REQUIRE_SERVERS  =1: fail instead of skipping when helm (or nginx) is not there (CI).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "market"
# What `helm install` needs at least; the tests' own, never a real deployment's.
SECRETS = ("jwtSecret=test-jwt", "mysqlPassword=test-db", "adminPassword=test-admin", "pgSecretKey=test-pg")


def missing(reason: str) -> NoReturn:
    if os.environ.get("MARKET_TEST_REQUIRE_SERVERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@functools.cache
def helm_path() -> str | None:
    candidates = (
        os.environ.get("MARKET_HELM"),
        shutil.which("helm"),
        str(Path.home() / "go" / "bin" / "helm"),
    )
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    path = helm_path()
    if path is None:
        missing("helm not found: scripts/infra/helm.sh builds it (then MARKET_HELM=its output)")
    return subprocess.run([path, *args], capture_output=True, text=True, timeout=120)


@functools.cache
def _render(args: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    result = helm("template", "market", str(CHART), *args)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(*values: str, secrets: bool = True) -> list[dict[str, Any]]:
    """The chart's objects for `--set` values (with the tests' secrets unless told otherwise)."""
    args = [arg for v in values for arg in ("--set", v)]
    if secrets:
        args += [arg for v in SECRETS for arg in ("--set", f"secrets.{v}")]
    return list(_render(tuple(args)))


def platform() -> dict[str, Any]:
    return json.loads((CHART / "platform.json").read_text())


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert found, f"no {kind} {name} in the rendered chart"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every pod template's spec, named by its owner (Deployments and Jobs)."""
    return [
        (f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    ]
