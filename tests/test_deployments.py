"""prefect.yaml is valid offline, and really deploys and runs on a real Prefect server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from test_flow_kill import warehouse_fingerprint

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT_KEYS = {"name", "description", "entrypoint", "tags", "parameters", "work_pool",
                   "concurrency_limit", "schedules", "pull", "version", "enforce_parameter_schema"}
#: As tests/run.sh: no analytics, and no scheduler, so prefect.yaml's cron schedules never start a
#: run of their own (it would take the deployment's single concurrency slot).
SERVER_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false",
              "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}


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


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory) -> Iterator[str]:
    """The API URL of a real `prefect server start`: tests/run.sh's, or else one of our own."""
    url = os.environ.get("PATCHTRAIL_TEST_PREFECT_API_URL")
    if url:
        yield url
        return
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log = home / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(os.environ, PREFECT_HOME=str(home), **SERVER_ENV), stdout=out,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@dataclass
class Deployed:
    """prefect.yaml deployed on a real server; `prefect(...)` runs the CLI against it."""

    api: str
    pool: str
    env: dict[str, str]

    def prefect(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run([sys.executable, "-m", "prefect", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"prefect {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def read(self, query):
        """The result of `await query(client)`, with a Prefect client of this server."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        async def call():
            async with get_client() as client:
                return await query(client)

        with temporary_settings({PREFECT_API_URL: self.api}):
            return asyncio.run(call())


@pytest.fixture(scope="module")
def deployed(prefect_api, tmp_path_factory) -> Deployed:
    """`prefect deploy --all` of prefect.yaml, its work pool renamed to one of this module's own.

    A fresh pool name means no other run (another test, an earlier session on the same server)
    can reach this module's workers; nothing else in prefect.yaml changes.
    """
    root = tmp_path_factory.mktemp("deploy")
    pool = f"patchtrail-test-{uuid.uuid4().hex[:8]}"
    config = _config()
    for deployment in config["deployments"]:
        deployment["work_pool"] = {**deployment["work_pool"], "name": pool}
    (root / "prefect.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = dict(os.environ, PREFECT_HOME=str(root / "prefect-home"), PREFECT_API_URL=prefect_api,
               PATCHTRAIL_CHECKOUT=str(ROOT), PREFECT_LOGGING_LEVEL="WARNING")
    deployed = Deployed(api=prefect_api, pool=pool, env=env)
    deployed.prefect("work-pool", "create", pool, "--type", "process")
    gcl = subprocess.run([sys.executable, "-m", "prefect", "global-concurrency-limit", "create",
                          "patchtrail-warehouse-writer", "--limit", "1"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert gcl.returncode == 0 or "already exists" in gcl.stdout + gcl.stderr, gcl.stdout + gcl.stderr
    deployed.prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(root / "prefect.yaml"))
    return deployed


@pytest.mark.service("prefect")
def test_deploy_all_then_a_worker_runs_a_deployment(deployed, tmp_path):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    simulate_to_dir(tmp_path / "data", accounts=1, regions=1, instances=3, days=10, seed=2)
    params = {"paths": [str(tmp_path / "data")], "warehouse": str(tmp_path / "w.duckdb")}
    out = deployed.prefect("deployment", "run", "ingest-files/ingest-files", "--params", json.dumps(params))
    assert "Created flow run" in out
    run_id = uuid.UUID(re.search(r"UUID: ([0-9a-f-]{36})", out).group(1))
    deployed.prefect("worker", "start", "--pool", deployed.pool, "--run-once", timeout=300)

    async def run_and_artifacts(client):
        artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
        return await client.read_flow_run(run_id), {a.key: a for a in artifacts}

    run, artifacts = deployed.read(run_and_artifacts)
    assert run.state.is_completed(), run.state
    assert "Fleet now" in artifacts["ingest-files-summary"].data
    assert "ingest-files-summary-objects" in artifacts
    assert (tmp_path / "w.duckdb").exists()


@pytest.mark.service("prefect")
def test_two_overlapping_runs_the_second_is_cancelled_and_the_warehouse_is_intact(deployed, tmp_path):
    """Two runs of ingest-files are due at once; the deployment's limit 1 (CANCEL_NEW) lets one in.

    Deterministic, not a race: the server enforces the limit when a run is proposed Pending (the
    orchestration rule SecureFlowConcurrencySlots). The worker (`--run-once`) fetches both due
    runs in one poll and proposes each Pending before starting its process. The first proposal
    takes the deployment's only slot, which is released only when that run reaches a final
    state. The second proposal comes milliseconds later, before the first run's process has even
    started, so it finds the slot taken and the server turns it into Cancelled. Either run may be
    the one that wins; exactly one completes.
    """
    simulate_to_dir(tmp_path / "data", accounts=1, regions=1, instances=4, days=20, seed=6)
    wh = tmp_path / "w.duckdb"
    params = {"paths": [str(tmp_path / "data")], "warehouse": str(wh)}

    async def two_runs(client):
        deployment = await client.read_deployment_by_name("ingest-files/ingest-files")
        assert deployment.work_pool_name == deployed.pool
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy == "CANCEL_NEW"
        return [(await client.create_flow_run_from_deployment(deployment.id, parameters=params)).id
                for _ in range(2)]

    run_ids = deployed.read(two_runs)
    deployed.prefect("worker", "start", "--pool", deployed.pool, "--run-once", timeout=300)

    async def final_states(client):
        return [(await client.read_flow_run(run_id)).state for run_id in run_ids]

    states = deployed.read(final_states)
    assert sorted(s.type.value for s in states) == ["CANCELLED", "COMPLETED"], states
    cancelled = next(s for s in states if s.is_cancelled())
    assert "concurrency limit" in (cancelled.message or ""), cancelled
    clean = tmp_path / "clean.duckdb"
    ingest_files([str(tmp_path / "data")], warehouse=clean)
    assert warehouse_fingerprint(wh) == warehouse_fingerprint(clean)
