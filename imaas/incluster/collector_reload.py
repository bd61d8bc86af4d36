"""The collector's reload sidecar: sends SIGHUP to the collector in its pod when the per-tenant routes file changes.

Why a signal: the pinned collector (otelcol 0.158.0) reloads its configuration on SIGHUP (otelcol/collector.go, the
control loop's `signalsChannel` case calls reloadConfiguration), and its file confmap provider never watches a file
(confmap/provider/fileprovider/provider.go, Retrieve ignores its WatcherFunc). A reload that changes more than
receivers shuts the whole service down and starts it again (reloadConfiguration: service.Shutdown, then
setupConfigurationComponents): the OTLP receivers close their connections, and senders reconnect and retry. A reload
that fails makes the collector exit, so this sidecar signals only for a file that parses and routes somewhere.

It runs in the collector's pod (shareProcessNamespace) as the collector's user, so it may signal it and nothing
else, from a plain Python image with this file mounted: the standard library only."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def usable(text: str) -> bool:
    """Whether the collector could load the routes file: JSON (YAML to the collector) with a non-empty table."""
    try:
        routes: Any = json.loads(text)
    except ValueError:
        return False
    table = ((routes.get("connectors") or {}).get("routing") or {}).get("table") if isinstance(routes, dict) else None
    return isinstance(table, list) and bool(table)


def collector_pids(command: str, proc: Path = Path("/proc")) -> list[int]:
    """The processes whose program is `command` (by base name), as the shared process namespace shows them."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if argv0 and os.path.basename(argv0) == command:
            found.append(int(entry.name))
    return sorted(found)


def digest(path: Path) -> tuple[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "", ""
    return hashlib.sha256(text.encode()).hexdigest(), text


def watch(
    path: Path,
    command: str,
    period: float,
    rounds: int | None = None,
    send: Callable[[int, int], None] = os.kill,
    proc: Path = Path("/proc"),
) -> None:
    """Polls `path` every `period` seconds; each change to a usable file signals the collector once. The first read
    is the file the collector started with."""
    seen, _ = digest(path)
    done = 0
    while rounds is None or done < rounds:
        time.sleep(period)
        done += 1
        current, text = digest(path)
        if current == seen:
            continue
        if not usable(text):
            print(f"collector-reload: {path} changed but is not a usable routes file; not reloading", flush=True)
            seen = current
            continue
        pids = collector_pids(command, proc)
        for pid in pids:
            send(pid, signal.SIGHUP)
        print(f"collector-reload: routes changed, sent SIGHUP to {pids or 'no collector'}", flush=True)
        seen = current if pids else seen


def main(environ: dict[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    watch(Path(env["ROUTES_FILE"]), env["COLLECTOR_COMMAND"], float(env.get("PERIOD_SECONDS", "10")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
