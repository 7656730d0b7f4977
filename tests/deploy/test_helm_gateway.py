"""The chart's pieces find each other: the gateway reaches every service, the services reach each other's
gRPC on every replica, and every ConfigMap and Secret a pod reads is one the chart makes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.deploy.conftest import find, missing, platform, pod_specs, render


def test_the_gateways_nginx_configuration_is_one_nginx_accepts(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None:
        missing("nginx not found (scripts/infra/nginx.sh installs it)")
    files = find(render(), "ConfigMap", "market-gateway")["data"]
    for name, text in files.items():
        if name == "nginx.conf":
            # Off the cluster, the Services' names do not resolve and /tmp is not the pod's own.
            text = re.sub(r"server [a-z0-9-]+:(\d+);", r"server 127.0.0.1:\1;", text)
            text = text.replace("/tmp/", f"{tmp_path}/")
        (tmp_path / name).write_text(text)
    conf = tmp_path / "nginx.conf"
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", f"{tmp_path}/", "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_gateway_sends_each_public_service_to_its_service() -> None:
    objects = render()
    nginx_conf = find(objects, "ConfigMap", "market-gateway")["data"]["nginx.conf"]
    upstreams = dict(re.findall(r"upstream (market_[a-z]+) \{\s*server ([a-z0-9-]+:\d+);", nginx_conf))
    for svc in platform()["services"]:
        if svc["public"]:
            service = find(objects, "Service", f"market-{svc['name']}")
            assert upstreams[f"market_{svc['name']}"] == f"market-{svc['name']}:{svc['http_port']}"
            assert {"name": "http", "port": svc["http_port"]}.items() <= service["spec"]["ports"][0].items()
    routes = find(objects, "ConfigMap", "market-gateway")["data"]["gateway-server.conf"]
    assert set(re.findall(r"proxy_pass http://(market_[a-z]+);", routes)) <= upstreams.keys()


def test_each_caller_reaches_every_replica_of_the_services_it_calls() -> None:
    objects = render()
    config = find(objects, "ConfigMap", "market-config")["data"]
    by_name = {svc["name"]: svc for svc in platform()["services"]}
    for svc in platform()["services"]:
        for callee in svc["calls"]:
            target = config[f"MARKET_{callee.upper()}_GRPC_TARGET"]
            host, port = re.fullmatch(r"dns:///([a-z0-9-]+):(\d+)", target).groups()
            assert int(port) == by_name[callee]["grpc_port"]
            # Headless: DNS answers with each ready pod, so the client's round_robin spreads the calls.
            service = find(objects, "Service", host)["spec"]
            assert service["clusterIP"] == "None"
            assert service["ports"][0]["port"] == int(port)


def test_every_configmap_and_secret_a_pod_reads_is_rendered() -> None:
    objects = render()
    for owner, spec in pod_specs(objects):
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    find(objects, "ConfigMap", source["configMapRef"]["name"])
                else:
                    find(objects, "Secret", source["secretRef"]["name"])
            for env in container.get("env", []):
                if "secretKeyRef" in env.get("valueFrom", {}):
                    key = env["valueFrom"]["secretKeyRef"]
                    assert key["key"] in find(objects, "Secret", key["name"])["data"], owner
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                find(objects, "ConfigMap", volume["configMap"]["name"])
