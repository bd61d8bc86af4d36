"""The collector's reload sidecar (imaas/incluster/collector_reload.py): it signals the collector once for each
change to a routes file the collector could load, never for one it could not; and it runs as its container does, from
the planned release's command and environment and the job's ConfigMap laid out as the pod mounts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import WAIT_SECONDS
from planning import example_plan, of_type

from imaas.declarations import charts, types
from imaas.incluster import collector_reload
from imaas.incluster import tenant_config as job

ROUTES = job.collector_routes([], "tempo:4317")


@pytest.mark.fast
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (job.render(ROUTES), True),
        (json.dumps(ROUTES), True),
        ("{", False),
        ("[]", False),
        (json.dumps({"connectors": {"routing": {"table": []}}}), False),
        (json.dumps({"connectors": {}}), False),
    ],
    ids=["rendered", "compact", "not JSON", "not a map", "empty table", "no routing"],
)
def test_only_a_file_with_routes_is_usable(text: str, expected: bool) -> None:
    assert collector_reload.usable(text) is expected


@pytest.mark.fast
def test_the_reload_sidecar_signals_the_collector_once_per_usable_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(job.render(ROUTES))
    proc = tmp_path / "proc"
    for pid, argv0 in (("7", b"/otelcol-k8s"), ("9", b"python"), ("self", b"/otelcol-k8s")):
        (proc / pid).mkdir(parents=True)
        (proc / pid / "cmdline").write_bytes(argv0 + b"\0--config=/conf/relay.yaml\0")
    # What happens before each poll: a usable change, an unusable file, nothing.
    steps = iter(
        [
            lambda: routes.write_text(json.dumps(ROUTES)),  # same routes, new text
            lambda: routes.write_text("{"),
            lambda: None,
        ]
    )
    monkeypatch.setattr(collector_reload.time, "sleep", lambda _seconds: next(steps)())
    sent: list[tuple[int, int]] = []
    collector_reload.watch(routes, "otelcol-k8s", 0, rounds=3, send=lambda pid, sig: sent.append((pid, sig)), proc=proc)
    assert sent == [(7, signal.SIGHUP)]


def planned_sidecar() -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The sidecar's container and the code volume of the planned collector release, and the job's ConfigMap data."""
    plan = example_plan("dev")
    (release,) = [r for r in of_type(plan, types.HELM_RELEASE) if r.name == charts.OPENTELEMETRY_COLLECTOR.release]
    values = release.inputs["values"]
    (container,) = values["extraContainers"]
    (code,) = [volume for volume in values["extraVolumes"] if volume["name"] == "code"]
    (config_map,) = [
        r for r in of_type(plan, types.CONFIG_MAP) if r.inputs["metadata"]["name"] == code["configMap"]["name"]
    ]
    return container, code, config_map.inputs["data"]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="the sidecar finds the collector through /proc")
def test_the_sidecar_runs_as_its_container_does_and_signals_the_collector(tmp_path: Path) -> None:
    container, code, data = planned_sidecar()
    mounted = tmp_path / "opt"
    for item in code["configMap"]["items"]:
        target = mounted / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data[item["key"]])
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    routes = tmp_path / Path(env["ROUTES_FILE"]).name
    routes.write_text(job.render(ROUTES))
    # A stand-in for the collector, under a name of its own: the sidecar signals every process of that name.
    command = f"fake-otelcol-{os.getpid()}"
    collector = subprocess.Popen(["bash", "-c", f"exec -a {command} sleep {WAIT_SECONDS}"])
    assert container["command"][0] == "python"
    sidecar = subprocess.Popen(
        [sys.executable, *container["command"][1:]],
        env={
            **env,
            "ROUTES_FILE": str(routes),
            "COLLECTOR_COMMAND": command,
            "PERIOD_SECONDS": "0.05",
            "PYTHONPATH": str(mounted),
        },
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Whenever the sidecar took its first look, a later change is one it must act on: change the file until the
        # collector has had its signal.
        deadline = time.monotonic() + WAIT_SECONDS
        texts = (json.dumps(ROUTES), job.render(ROUTES))
        while collector.poll() is None and time.monotonic() < deadline:
            routes.write_text(texts[int(time.monotonic() * 10) % 2])
            time.sleep(0.1)
    finally:
        sidecar.terminate()
        output, _ = sidecar.communicate(timeout=WAIT_SECONDS)
        if collector.poll() is None:
            collector.kill()
    assert collector.wait(timeout=WAIT_SECONDS) == -signal.SIGHUP
    assert f"collector-reload: routes changed, sent SIGHUP to [{collector.pid}]" in output
