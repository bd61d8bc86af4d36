"""Installs promtool and amtool into the project's own `.tools/` folder, without root, for the alert tests.

Debian's packages are the only reachable source of these binaries (statically built Go programs that need nothing
but libc). The machine's own release is old (bookworm has Prometheus 2.42 and Alertmanager 0.25, while the clusters
run 3.x and 0.33), so the packages are looked up in Debian's newer suites on the mirror the machine's apt already
uses, with apt's own signature checks, in a private apt state under `.tools/apt`: nothing is installed system-wide.

Usage: python3 tools/install_prometheus_tools.py [TOOLS_DIR]   (default .tools)
Exit 0 with the tools in TOOLS_DIR/bin, or 1 with one line saying what to install instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The versions the tests were last run with; a suite that has moved on gives its newest instead, printed as such.
PINNED = {"promtool": "3.5.3+ds1-6", "prometheus-alertmanager": "0.33.1-5"}
TOOLS = {"promtool": "promtool", "amtool": "prometheus-alertmanager"}
SUITES = ("sid", "trixie")
APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))
DEFAULT_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
HINT = (
    "install Prometheus's promtool (3.x) and Alertmanager's amtool (0.33 or newer) on PATH, "
    "or give this machine apt with a Debian mirror"
)


class UnavailableError(Exception):
    """The tools cannot be installed this way on this machine; the message says why."""


def debian_mirror() -> tuple[str, Path]:
    """The Debian mirror and keyring the machine's apt is set up with (deb822 or one-line sources)."""
    texts: list[str] = []
    for source in APT_SOURCES:
        files = sorted(source.glob("*.sources")) + sorted(source.glob("*.list")) if source.is_dir() else [source]
        texts += [path.read_text(errors="replace") for path in files if path.is_file()]
    for text in texts:
        for uri in re.findall(r"^URIs:\s*(\S+/debian)/?\s*$", text, flags=re.MULTILINE):
            keyring = re.search(r"^Signed-By:\s*(\S+)", text, flags=re.MULTILINE)
            return uri, Path(keyring.group(1)) if keyring else DEFAULT_KEYRING
        for uri in re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+/debian)/?\s+\S+", text, flags=re.MULTILINE):
            return uri, DEFAULT_KEYRING
    raise UnavailableError("no Debian mirror in the machine's apt sources")


class PrivateApt:
    """apt-get and apt-cache on a sources list and state of our own, usable without root."""

    def __init__(self, state: Path, mirror: str, keyring: Path) -> None:
        for part in ("lists/partial", "cache/archives/partial"):
            (state / part).mkdir(parents=True, exist_ok=True)
        (state / "status").touch()
        sources = state / "sources.list"
        sources.write_text("".join(f"deb [signed-by={keyring}] {mirror} {suite} main\n" for suite in SUITES))
        self.options = [
            f"-oDir::Etc::SourceList={sources}",
            "-oDir::Etc::SourceParts=/dev/null",
            f"-oDir::State::Lists={state / 'lists'}",
            f"-oDir::State::Status={state / 'status'}",
            f"-oDir::Cache={state / 'cache'}",
            "-oDebug::NoLocking=1",
        ]
        if os.geteuid() == 0:
            # As root apt downloads as its `_apt` user, which cannot write into our folder.
            self.options.append("-oAPT::Sandbox::User=root")

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run([tool, *self.options, *args], cwd=cwd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise UnavailableError(f"{tool} {args[0]} failed: {last}")
        return result.stdout

    def versions(self, package: str) -> list[str]:
        """Every version the suites offer, newest first (apt's own order)."""
        policy = self.run("apt-cache", "policy", package)
        table = policy.split("Version table:", 1)[-1]
        return re.findall(r"^\s+(?:\*\*\*\s+)?(\d\S*)\s+\d+\s*$", table, flags=re.MULTILINE)


def install(tools_dir: Path) -> dict[str, str]:
    """Downloads and unpacks each package; returns the version taken per package."""
    for needed in ("apt-get", "apt-cache", "dpkg-deb"):
        if shutil.which(needed) is None:
            raise UnavailableError(f"{needed} is not on PATH")
    mirror, keyring = debian_mirror()
    if not keyring.is_file():
        raise UnavailableError(f"Debian's archive keyring {keyring} is missing")
    apt = PrivateApt(tools_dir / "apt", mirror, keyring)
    apt.run("apt-get", "update", "-qq")
    root = tools_dir / "root"
    taken: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as download:
        for package in sorted(set(TOOLS.values())):
            offered = apt.versions(package)
            if not offered:
                raise UnavailableError(f"no suite offers {package}")
            version = PINNED[package] if PINNED[package] in offered else offered[0]
            apt.run("apt-get", "download", "-qq", f"{package}={version}", cwd=Path(download))
            for deb in Path(download).glob(f"{package}_*.deb"):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
            taken[package] = version
    shutil.rmtree(tools_dir / "apt")  # the suites' package lists: over 100 MB, needed only until here
    bin_dir = tools_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        target = bin_dir / tool
        target.unlink(missing_ok=True)
        target.symlink_to(root / "usr" / "bin" / tool)
    return taken


def main(argv: list[str]) -> int:
    tools_dir = Path(argv[1] if len(argv) > 1 else ".tools").resolve()
    try:
        taken = install(tools_dir)
    except (UnavailableError, OSError, subprocess.CalledProcessError) as error:
        print(f"promtool and amtool could not be installed ({error}): {HINT}", file=sys.stderr)
        return 1
    for package, version in taken.items():
        moved = "" if version == PINNED[package] else f" (pinned {PINNED[package]} is no longer offered)"
        print(f"installed {package} {version} into {tools_dir / 'bin'}{moved}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
