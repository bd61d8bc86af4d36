"""The validation cache (imaas/inputs/tenant_cache.py): what the judge's commands share is kept by content, finds the
same problems and makes the same plans as no cache, and an entry is never used for other bytes."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CLUSTER_VALUES, PROJECT_DIR, git, lines, tenant_text, write_tenant
from planning import FIXTURE_TENANTS
from typer.testing import CliRunner

from imaas import cli
from imaas.checks import tenants as tenant_checks
from imaas.checks.across_files import RULES, SETTINGS_FREE_RULES, SETTINGS_RULES, cross_file_problems
from imaas.checks.sharding import project_stacks
from imaas.checks.tenants import check_tenants, load_tenants
from imaas.inputs import tenant_cache
from imaas.inputs.problems import InputError
from imaas.inputs.revisions import tenants_at
from imaas.inputs.tenant_files import folder_snapshot, read_tenant_files
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant

TENANTS = Path("tenants")


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    tenant_cache.use(None)


def another_process() -> None:
    """What a new process of the same check knows: the cache folder alone, nothing in memory."""
    tenant_cache._MEMO.clear()
    tenant_cache._PACKED.clear()
    tenant_cache._READ_PACKS.clear()
    tenant_checks._VALIDATED.clear()


def settings(**values: object) -> StackSettings:
    return StackSettings.model_validate({"environments": ["dev", "test", "prod"], **CLUSTER_VALUES, **values})


def broken_folder() -> None:
    """A problem of every kind: a file broken on its own, a file named wrong, and rules across files, some of which
    read the settings (a collision with a platform namespace, quotaMax) and some not (allowFrom, duplicate groups)."""
    write_tenant(TENANTS, "payments", "access:\n  developers: [devs]\nnetwork:\n  allowFrom: [nobody]\n")
    write_tenant(TENANTS, "orders", "access:\n  developers: [devs]\nquota:\n  cpu: '5000'\n")
    write_tenant(TENANTS, "monitoring", "environments: [dev]\n")
    write_tenant(TENANTS, "broken", text="apiVersion: [\n")
    write_tenant(TENANTS, "Bad_Name", "")
    write_tenant(TENANTS, "hr", "services:\n  - name: svc\n  - name: svc\n")


@pytest.mark.fast
def test_the_cache_finds_the_same_problems_as_no_cache(tmp_path: Path) -> None:
    broken_folder()
    stacks = [None, settings(), *project_stacks(PROJECT_DIR).values()]
    expected = [lines(check_tenants(TENANTS, stack)[1]) for stack in stacks]
    assert all(expected), "every check finds problems"
    tenant_cache.use(tmp_path / "cache")
    for _ in range(2):  # filling the cache, then reading it in another process
        another_process()
        assert [lines(check_tenants(TENANTS, stack)[1]) for stack in stacks] == expected
        for stack, found in zip(stacks, expected, strict=True):
            with pytest.raises(InputError) as raised:
                load_tenants(TENANTS, stack)
            assert lines(raised.value.problems) == found
    assert not list((tmp_path / "cache" / "valid").iterdir()), "nothing invalid is marked valid"


@pytest.mark.fast
def test_a_folder_found_valid_is_trusted_again_for_the_very_same_bytes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(FIXTURE_TENANTS, TENANTS)
    stack = settings()
    tenant_cache.use(tmp_path / "cache")
    tenants = load_tenants(TENANTS, stack)
    assert len(list((tmp_path / "cache" / "valid").iterdir())) == 1

    # Another process, the same bytes: the rules across files are not run again, and the tenants are the same.
    another_process()
    checked = []
    real = tenant_checks.cross_file_problems
    monkeypatch.setattr(tenant_checks, "cross_file_problems", lambda *a, **k: checked.append(1) or real(*a, **k))
    assert load_tenants(TENANTS, stack) == tenants
    assert not checked

    # A file changed to collide with another (same size, same modification time: what a stat-keyed cache would
    # miss) is read and checked again: the problem is found.
    path = TENANTS / "hr.yaml"
    before, status = path.read_text(encoding="utf-8"), path.stat()
    assert before.startswith("# ") and "[hr-devs]" in before
    # orders' group, four characters longer: a comment four characters shorter.
    changed = before.replace("[hr-devs]", "[orders-devs]")
    first, rest = changed.split("\n", 1)
    path.write_text(f"{first[:-4]}\n{rest}", encoding="utf-8")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size
    another_process()
    with pytest.raises(InputError) as raised:
        load_tenants(TENANTS, stack)
    assert checked
    assert any("orders-devs" in problem.message for problem in raised.value.problems)

    # A setting changed: checked again.
    path.write_text(before, encoding="utf-8")
    another_process()
    checked.clear()
    load_tenants(TENANTS, settings(iamRoleQuota=4000))
    assert checked


@pytest.mark.fast
def test_a_cached_file_is_the_same_tenant_and_points_into_its_own_file(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_TENANTS, TENANTS)
    parsed = {tenant_file.tenant.name: tenant_file for tenant_file in read_tenant_files(TENANTS)[0]}
    tenant_cache.use(tmp_path / "cache")
    read_tenant_files(TENANTS)  # kept in the cache folder
    another_process()
    cached = {tenant_file.tenant.name: tenant_file for tenant_file in read_tenant_files(TENANTS)[0]}
    assert cached.keys() == parsed.keys()
    for name, tenant_file in cached.items():
        assert tenant_file.tenant == parsed[name].tenant
        assert tenant_file.file == parsed[name].file == f"tenants/{name}.yaml"
        # The document, parsed again only when a problem needs a line, is the file's.
        assert tenant_file.document == parsed[name].document
        assert Tenant.model_validate_json(tenant_file.tenant.model_dump_json(by_alias=True)) == tenant_file.tenant

    # Another file name holding the same bytes is another entry: its tenant must bear its name.
    (TENANTS / "copy.yaml").write_bytes((TENANTS / "hr.yaml").read_bytes())
    another_process()
    _, problems = read_tenant_files(TENANTS)
    assert lines(problems) == ["tenants/copy.yaml:5:9: metadata.name: must equal the file name 'copy', got 'hr'"]


@pytest.mark.fast
def test_an_entry_is_named_by_the_code_that_wrote_it(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tenant_text("payments").encode()
    digest = tenant_cache.file_digest("payments.yaml", raw)
    assert digest != tenant_cache.file_digest("payments.yml", raw)
    assert digest != tenant_cache.file_digest("payments.yaml", raw + b"\n")
    monkeypatch.setattr(tenant_cache, "code_digest", lambda: "other code")
    assert digest != tenant_cache.file_digest("payments.yaml", raw)


@pytest.mark.fast
def test_the_rules_said_free_of_settings_find_the_same_against_every_stack() -> None:
    broken_folder()
    write_tenant(TENANTS, "ops", "displayName: PAYMENTS\nservices:\n  - name: a\n    environments: [qa]\n")
    files = read_tenant_files(TENANTS)[0]
    stacks = [None, settings(), *project_stacks(PROJECT_DIR).values()]
    found = [lines(cross_file_problems(files, stack, rules=SETTINGS_FREE_RULES)) for stack in stacks]
    assert found[0] and all(each == found[0] for each in found)
    assert set(SETTINGS_FREE_RULES) | set(SETTINGS_RULES) == set(RULES)
    assert not set(SETTINGS_FREE_RULES) & set(SETTINGS_RULES)


def validate(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, ["validate", "--tenants", "tenants", "--stack", "all", *arguments])
    return result.exit_code, result.stdout


@pytest.mark.slow
def test_validate_every_stack_says_the_same_with_and_without_the_cache(tmp_path: Path) -> None:
    broken_folder()
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "tenants")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@invalid", "commit", "-qm", "base")
    (TENANTS / "hr.yaml").unlink()  # removed since the base: a problem against it
    write_tenant(TENANTS, "orders", "access:\n  developers: [devs]\nquota:\n  cpu: '6000'\n")
    plain = validate("--base", "HEAD")
    assert plain[0] == 1 and "tenant 'hr' was removed" in plain[1] and "prod: " in plain[1]
    for _ in range(2):
        another_process()
        assert validate("--base", "HEAD", "--validation-cache", str(tmp_path / "cache")) == plain
    tenant_cache.use(None)
    # Every rule against every stack, as before the settings-free ones ran once: the same lines.
    everywhere = set(check_tenants(TENANTS, None, "HEAD")[1])
    expected = set(everywhere)
    for name, stack in project_stacks(PROJECT_DIR).items():
        expected |= {
            f"{problem.file}:{problem.line}:{problem.column}: {problem.field}: {name}: {problem.message}"
            for problem in check_tenants(TENANTS, stack)[1]
            if problem not in everywhere
        }
    assert {line for line in plain[1].splitlines() if line} == {str(p) for p in everywhere} | {
        line for line in expected if isinstance(line, str)
    }


@pytest.mark.slow
def test_main_is_read_from_the_work_tree_where_its_bytes_are_the_same(tmp_path: Path) -> None:
    write_tenant(TENANTS, "payments", "environments: [dev]\n")
    write_tenant(TENANTS, "orders", "environments: [dev]\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "tenants")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@invalid", "commit", "-qm", "base")
    write_tenant(TENANTS, "orders", "environments: [dev, test]\n")
    at_base = tenants_at(TENANTS, "HEAD")
    assert at_base["payments"].tenant is not None and at_base["payments"].tenant.environments == ["dev"]
    assert at_base["orders"].tenant is not None and at_base["orders"].tenant.environments == ["dev"]
    # The files validation just read are the base's where their bytes are: the same tenant, not read again; a file
    # changed since is the base's own.
    files, _ = read_tenant_files(TENANTS)
    reused = tenants_at(TENANTS, "HEAD", files)
    assert reused == at_base
    assert reused["payments"].tenant is next(f.tenant for f in files if f.tenant.name == "payments")
    assert reused["orders"].tenant is not next(f.tenant for f in files if f.tenant.name == "orders")


def plans(out: Path, tenants: Path, *cache: str) -> dict[str, object]:
    result = CliRunner().invoke(
        cli.app,
        ["plan", "--stack", "all", "--fleet", "--select", "dev.payments", "--select", "dev.orders", "--tenants",
         str(tenants), "--json-dir", str(out), "--workers", "1", *cache],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {path.name: json.loads(path.read_text()) for path in sorted(out.glob("*.json"))}


@pytest.mark.slow
def test_the_plans_are_the_same_with_and_without_the_cache(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_TENANTS, TENANTS)
    plain = plans(tmp_path / "plain", TENANTS)
    assert set(plain) == {"dev.payments.json", "dev.orders.json"}
    cache = ("--validation-cache", str(tmp_path / "cache"))
    assert validate(*cache)[0] == 0
    another_process()
    assert plans(tmp_path / "cached", TENANTS, *cache) == plain
    another_process()
    assert plans(tmp_path / "again", TENANTS, *cache) == plain


@pytest.mark.fast
def test_the_files_of_some_tenants_are_read_alone() -> None:
    """A tenant stack's review reads its tenant's file, not a thousand: another file, broken or not, is not read."""
    write_tenant(TENANTS, "payments", "")
    write_tenant(TENANTS, "orders", "")
    write_tenant(TENANTS, "broken", text="apiVersion: [\n")
    (TENANTS / "nested").mkdir()
    files, problems = read_tenant_files(TENANTS, only={"payments", "absent"})
    assert [tenant_file.tenant.name for tenant_file in files] == ["payments"] and problems == []
    files, problems = read_tenant_files(TENANTS, only={"broken"})
    assert files == [] and [problem.file for problem in problems] == ["tenants/broken.yaml"]
    assert len(read_tenant_files(TENANTS)[1]) == 2  # the whole folder: the broken file and the subfolder


@pytest.mark.fast
def test_a_folder_is_read_once_within_a_snapshot_and_afresh_outside() -> None:
    """A fleet's worker reads its folder once for all its stacks (tenant_files.folder_snapshot): within the snapshot
    the folder is as it was at the first reading, with its problems; outside, every reading is afresh."""
    write_tenant(TENANTS, "payments", "")
    write_tenant(TENANTS, "broken", text="apiVersion: [\n")
    with folder_snapshot():
        _, problems = read_tenant_files(TENANTS)
        write_tenant(TENANTS, "orders", "")
        again, problems_again = read_tenant_files(TENANTS)
        assert [f.tenant.name for f in again] == ["payments"] and problems_again == problems and len(problems) == 1
        assert [f.tenant.name for f in read_tenant_files(TENANTS, only={"orders"})[0]] == ["orders"]
        again.clear()
        assert len(read_tenant_files(TENANTS)[0]) == 1
    assert [f.tenant.name for f in read_tenant_files(TENANTS)[0]] == ["orders", "payments"]
