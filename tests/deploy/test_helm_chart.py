"""The Helm chart: what it renders would be accepted by a cluster, and runs every service of the platform.

No cluster here: `helm template` renders the chart and every object is validated against the Kubernetes
API's schemas (kubernetes-validate, strict: an unknown field is an error, as `kubectl apply` makes it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.conftest import CHART, SECRETS, find, helm, platform, pod_specs, render

# The chart's kubeVersion floor (Chart.yaml) and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
# Every switch the chart has, in one render, beside the defaults.
EVERYTHING_ON = (
    "pgSandbox.enabled=true",
    "gateway.trustedProxies={10.0.0.0/8}",
    "services.order.autoscaling.maxReplicas=40",
    "services.payment.resources.requests.cpu=2",
    "config.extra.MARKET_GRPC_DEADLINE_SECONDS=2.5",
)
VARIANTS = {
    "defaults": lambda: render(),
    "everything on": lambda: render(*EVERYTHING_ON),
    "existing secret": lambda: render("secrets.existingSecret=market-from-vault", secrets=False),
}
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_rendered_object_is_one_the_cluster_accepts(variant: str, version: str) -> None:
    objects = VARIANTS[variant]()
    for obj in objects:
        name = f"{obj['kind']} {obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name} rejected by Kubernetes {version}: {error.message} at {list(error.path)}")
        assert DNS_LABEL.match(obj["metadata"]["name"]), f"{name}: not a DNS label"


def test_helm_lint_finds_nothing_wrong() -> None:
    result = helm("lint", "--strict", str(CHART), *(f"--set=secrets.{v}" for v in SECRETS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_chart_reads_the_platform_market_platform_prints_now() -> None:
    market = Path(sys.executable).parent / "market"
    printed = subprocess.run([market, "platform"], capture_output=True, text=True, check=True).stdout
    assert json.loads(printed) == platform(), (
        "deploy/helm/market/platform.json is stale: .venv/bin/market platform > deploy/helm/market/platform.json"
    )


def test_every_service_runs_as_a_deployment_with_a_service_an_hpa_and_a_pdb() -> None:
    objects = render()
    for svc in platform()["services"]:
        name = f"market-{svc['name']}"
        deployment = find(objects, "Deployment", name)
        pods = deployment["spec"]["template"]["metadata"]["labels"]
        for kind in ("Service", "PodDisruptionBudget"):
            selector = find(objects, kind, name)["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            assert selector.items() <= pods.items(), f"{kind} {name} selects none of its pods"
        target = find(objects, "HorizontalPodAutoscaler", name)["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"


def test_order_scales_from_3_to_20_replicas_at_70_percent_cpu() -> None:
    assert _hpa(render(), "order") == (3, 20, 70)


def test_a_services_scaling_is_overridable_in_values() -> None:
    assert _hpa(render("services.order.autoscaling.maxReplicas=40"), "order") == (3, 40, 70)
    assert _hpa(render("services.order.autoscaling.maxReplicas=40"), "member") == (2, 10, 70)


def test_each_service_runs_market_service_with_the_pod_name_as_replica_name() -> None:
    objects = render()
    for svc in platform()["services"]:
        container = _container(objects, svc["name"])
        assert container["command"] + container["args"] == ["market", "service", svc["name"]]
        replica = next(e for e in container["env"] if e["name"] == "MARKET_REPLICA")
        assert replica["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        expected = {"http": svc["http_port"]} | ({"grpc": svc["grpc_port"]} if svc["grpc_port"] else {})
        assert ports == expected


def test_probes_ask_readyz_for_readiness_and_healthz_for_liveness_on_the_http_port() -> None:
    objects = render()
    for svc in platform()["services"]:
        container = _container(objects, svc["name"])
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_container_runs_as_root(variant: str) -> None:
    for owner, spec in pod_specs(VARIANTS[variant]()):
        for container in spec["containers"]:
            security = spec.get("securityContext", {}) | container.get("securityContext", {})
            assert security.get("runAsNonRoot") is True, owner
            assert security.get("runAsUser", 0) != 0, owner
            assert security.get("allowPrivilegeEscalation") is False, owner


def test_migrations_run_as_a_hook_before_install_and_upgrade() -> None:
    objects = render()
    job = find(objects, "Job", "market-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] + container["args"] == ["market", "migrate", "--distributed"]
    assert {"MARKET_MYSQL_HOST", "MARKET_MYSQL_USER"} <= {e["name"] for e in container["env"]}
    # It runs before the release's ConfigMap and Secret exist: what it reads is a hook of its own.
    password = next(e for e in container["env"] if e["name"] == "MARKET_MYSQL_PASSWORD")
    secret = find(objects, "Secret", password["valueFrom"]["secretKeyRef"]["name"])
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0


def test_a_missing_secret_stops_the_install_with_what_to_set() -> None:
    result = helm("template", "market", str(CHART))
    assert result.returncode != 0
    assert "secrets.jwtSecret" in result.stderr


def test_the_pg_sandbox_is_left_out_unless_asked_for() -> None:
    assert not [o for o in render() if "pg-sandbox" in o["metadata"]["name"]]
    config = find(render("pgSandbox.enabled=true"), "ConfigMap", "market-config")["data"]
    assert config["MARKET_PG_BASE_URL"] == "http://market-pg-sandbox:8190"


def _hpa(objects: list[dict[str, Any]], service: str) -> tuple[int, int, int]:
    spec = find(objects, "HorizontalPodAutoscaler", f"market-{service}")["spec"]
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    return spec["minReplicas"], spec["maxReplicas"], metric["resource"]["target"]["averageUtilization"]


def _container(objects: list[dict[str, Any]], service: str) -> dict[str, Any]:
    (container,) = find(objects, "Deployment", f"market-{service}")["spec"]["template"]["spec"]["containers"]
    return container
