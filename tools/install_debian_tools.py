"""Installs the external programs the tests run into the project's own `.tools/` folder, without root: promtool and
amtool for the alert tests, nginx for the store proxies' tests.

Debian's packages are the only reachable source of these binaries. Each is looked up on the mirror the machine's
apt already uses, with apt's own signature checks, in a private apt state under `.tools/apt`, and unpacked with
dpkg-deb: nothing is installed system-wide. Where a tool's packages come from depends on how it is built:

- promtool and amtool are statically built Go programs that need nothing but libc, and the machine's own release is
  old (bookworm has Prometheus 2.42 and Alertmanager 0.25, while the clusters run 3.x and 0.33): they come from
  Debian's newer suites.
- nginx is linked against the C library and OpenSSL of the release it was built for: it comes from the machine's
  own release (its codename from /etc/os-release), whose libraries are the ones installed here.

Usage: python3 tools/install_debian_tools.py [TOOLS_DIR]   (default .tools)
Exit 0 with the tools in TOOLS_DIR/bin, or 1 with one line saying what to install instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

NEWER_SUITES = ("sid", "trixie")
OWN_RELEASE = "own"
"""The suites of the machine's own release: `<codename>` and `<codename>-updates`."""


@dataclass(frozen=True)
class Tool:
    name: str
    package: str
    path: str
    """Where the package puts the program."""
    suites: str | tuple[str, ...]
    pinned: str
    """The version the tests were last run with; a suite that has moved on gives its newest instead, printed as such."""


TOOLS = (
    Tool("promtool", "promtool", "usr/bin/promtool", NEWER_SUITES, "3.5.3+ds1-6"),
    Tool("amtool", "prometheus-alertmanager", "usr/bin/amtool", NEWER_SUITES, "0.33.1-5"),
    # bookworm's `nginx` holds the program (later releases too); its modules (auth_basic, proxy, grpc) are built in.
    Tool("nginx", "nginx", "usr/sbin/nginx", OWN_RELEASE, "1.22.1-9+deb12u9"),
)
APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))
OS_RELEASE = Path("/etc/os-release")
DEFAULT_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
HINT = (
    "install Prometheus's promtool (3.x), Alertmanager's amtool (0.33 or newer) and nginx (1.22 or newer) on PATH, "
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


def own_suites() -> tuple[str, ...]:
    release = OS_RELEASE.read_text(errors="replace") if OS_RELEASE.is_file() else ""
    codename = re.search(r"^VERSION_CODENAME=\"?([a-z]+)\"?\s*$", release, flags=re.MULTILINE)
    if codename is None:
        raise UnavailableError(f"no VERSION_CODENAME in {OS_RELEASE}: not a Debian release")
    return (codename.group(1), f"{codename.group(1)}-updates")


class PrivateApt:
    """apt-get and apt-cache on a sources list and state of our own, usable without root."""

    def __init__(self, state: Path, mirror: str, keyring: Path, suites: tuple[str, ...]) -> None:
        for part in ("lists/partial", "cache/archives/partial"):
            (state / part).mkdir(parents=True, exist_ok=True)
        (state / "status").touch()
        sources = state / "sources.list"
        sources.write_text("".join(f"deb [signed-by={keyring}] {mirror} {suite} main\n" for suite in suites))
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
    """Downloads and unpacks each package, from one private apt state per set of suites; returns the version taken
    per package."""
    for needed in ("apt-get", "apt-cache", "dpkg-deb"):
        if shutil.which(needed) is None:
            raise UnavailableError(f"{needed} is not on PATH")
    mirror, keyring = debian_mirror()
    if not keyring.is_file():
        raise UnavailableError(f"Debian's archive keyring {keyring} is missing")
    root = tools_dir / "root"
    taken: dict[str, str] = {}
    by_suites: dict[tuple[str, ...], list[Tool]] = {}
    for tool in TOOLS:
        suites = own_suites() if tool.suites == OWN_RELEASE else tuple(tool.suites)
        by_suites.setdefault(suites, []).append(tool)
    try:
        for suites, tools in by_suites.items():
            apt = PrivateApt(tools_dir / "apt" / "-".join(suites), mirror, keyring, suites)
            apt.run("apt-get", "update", "-qq")
            with tempfile.TemporaryDirectory() as download:
                for tool in tools:
                    if tool.package in taken:
                        continue
                    offered = apt.versions(tool.package)
                    if not offered:
                        raise UnavailableError(f"no suite of {', '.join(suites)} offers {tool.package}")
                    version = tool.pinned if tool.pinned in offered else offered[0]
                    apt.run("apt-get", "download", "-qq", f"{tool.package}={version}", cwd=Path(download))
                    for deb in Path(download).glob(f"{tool.package}_*.deb"):
                        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
                    taken[tool.package] = version
    finally:
        shutil.rmtree(tools_dir / "apt", ignore_errors=True)  # the suites' package lists: over 100 MB
    bin_dir = tools_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        target = bin_dir / tool.name
        target.unlink(missing_ok=True)
        target.symlink_to(root / tool.path)
    return taken


def main(argv: list[str]) -> int:
    tools_dir = Path(argv[1] if len(argv) > 1 else ".tools").resolve()
    try:
        taken = install(tools_dir)
    except (UnavailableError, OSError, subprocess.CalledProcessError) as error:
        print(f"the test tools could not be installed ({error}): {HINT}", file=sys.stderr)
        return 1
    pinned = {tool.package: tool.pinned for tool in TOOLS}
    for package, version in taken.items():
        moved = "" if version == pinned[package] else f" (pinned {pinned[package]} is no longer offered)"
        print(f"installed {package} {version} into {tools_dir / 'bin'}{moved}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
