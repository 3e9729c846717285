"""prefect.yaml is valid offline, and really deploys and runs on a real Prefect server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT_KEYS = {"name", "description", "entrypoint", "tags", "parameters", "work_pool",
                   "concurrency_limit", "schedules", "pull", "version", "enforce_parameter_schema"}


def _config() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())


def test_prefect_yaml_is_valid_offline():
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.client.schemas.schedules import construct_schedule
    from prefect.flows import load_flow_from_entrypoint
    from prefect.utilities.callables import parameter_schema

    raw = _config()
    assert set(raw) <= {"name", "prefect-version", "pull", "build", "push", "definitions", "deployments"}
    model = PrefectYamlModel.model_validate(raw)
    assert {d.name for d in model.deployments} >= {"ingest-files", "ingest-lake"}
    for raw_deployment, deployment in zip(raw["deployments"], model.deployments, strict=True):
        assert set(raw_deployment) <= DEPLOYMENT_KEYS, set(raw_deployment) - DEPLOYMENT_KEYS
        flow = load_flow_from_entrypoint(str(ROOT / deployment.entrypoint))
        schema = parameter_schema(flow)
        assert set(deployment.parameters) <= set(schema.properties), deployment.name
        assert set(schema.required or []) <= set(deployment.parameters), deployment.name
        limit = deployment.concurrency_limit
        assert limit.limit == 1 and limit.collision_strategy == "CANCEL_NEW", deployment.name
        for schedule in raw_deployment.get("schedules", []):
            built = construct_schedule(cron=schedule["cron"], timezone=schedule["timezone"])
            assert built.timezone == schedule["timezone"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.service("prefect")
def test_deploy_all_then_a_worker_runs_a_deployment(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=api,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PATCHTRAIL_CHECKOUT=str(ROOT),
               PREFECT_LOGGING_LEVEL="WARNING")
    prefect = [sys.executable, "-m", "prefect"]
    server = subprocess.Popen([*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=open(tmp_path / "server.log", "wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "server.log").read_text()[-3000:]
            time.sleep(1)

        def run(*args: str, timeout: float = 180) -> str:
            done = subprocess.run([*prefect, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                                  timeout=timeout)
            assert done.returncode == 0, f"prefect {' '.join(args)}\n{done.stdout}\n{done.stderr}"
            return done.stdout

        run("work-pool", "create", "patchtrail", "--type", "process")
        run("global-concurrency-limit", "create", "patchtrail-warehouse-writer", "--limit", "1")
        run("--no-prompt", "deploy", "--all")
        from patchtrail.simulator import simulate_to_dir

        simulate_to_dir(tmp_path / "data", accounts=1, regions=1, instances=3, days=10, seed=2)
        params = {"paths": [str(tmp_path / "data")], "warehouse": str(tmp_path / "w.duckdb")}
        out = run("deployment", "run", "ingest-files/ingest-files", "--params", json.dumps(params))
        assert "Created flow run" in out
        run("worker", "start", "--pool", "patchtrail", "--run-once", timeout=300)

        import asyncio

        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
        from prefect.settings import PREFECT_API_URL, temporary_settings

        async def check() -> tuple[list, list]:
            async with get_client() as client:
                runs = await client.read_flow_runs()
                artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=["ingest-files-summary"])))
                return runs, artifacts

        with temporary_settings({PREFECT_API_URL: api}):
            runs, artifacts = asyncio.run(check())
        finished = [r for r in runs if r.state and r.state.is_completed()]
        assert finished, [(r.name, r.state) for r in runs]
        assert artifacts and "Fleet now" in artifacts[0].data
        assert (tmp_path / "w.duckdb").exists()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
