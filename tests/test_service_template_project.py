"""The service template as a WSO2 Micro Integrator 4.4 integration project, the layout MI for VS Code opens: the POM
that builds the composite application (CApp) and runs the unit tests, the Synapse artifacts and their unit test
suites, the server's deployment.toml and the Dockerfile that puts the CApp into the image. Maven cannot run here
(its repositories are out of reach): these tests read the files as the tools will."""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from helpers import TEMPLATE_DIR

pytestmark = pytest.mark.fast

ARTIFACTS_DIR = TEMPLATE_DIR / "src" / "main" / "wso2mi" / "artifacts"
TESTS_DIR = TEMPLATE_DIR / "src" / "test" / "wso2mi"
DOCKERFILE = TEMPLATE_DIR / "deployment" / "docker" / "Dockerfile"
DEPLOYMENT_TOML = TEMPLATE_DIR / "deployment" / "deployment.toml"
RUNTIME_VERSION = "4.4.0"
MAVEN_NS = "{http://maven.apache.org/POM/4.0.0}"
SYNAPSE_NS = "http://ws.apache.org/ns/synapse"
METRIC_HANDLER = "org.wso2.micro.integrator.observability.metric.handler.MetricHandler"
SERVER_HOME = "${WSO2_SERVER_HOME}"
# Where MI for VS Code keeps each kind of artifact, and the root element of each.
ARTIFACT_ROOTS = {
    "apis": "api",
    "endpoints": "endpoint",
    "inbound-endpoints": "inboundEndpoint",
    "local-entries": "localEntry",
    "message-processors": "messageProcessor",
    "message-stores": "messageStore",
    "proxy-services": "proxy",
    "sequences": "sequence",
    "tasks": "task",
    "templates": "template",
}


# ---------------------------------------------------------------------------------------------------------------
# pom.xml


def pom() -> ET.Element:
    return ET.parse(TEMPLATE_DIR / "pom.xml").getroot()


def pom_text(element: ET.Element, path: str) -> str:
    found = element.find(_ns(path))
    assert found is not None and found.text is not None, f"pom.xml has no {path}"
    return found.text.strip()


def _ns(path: str) -> str:
    return "/".join(f"{MAVEN_NS}{part}" for part in path.split("/"))


def plugins(element: ET.Element) -> dict[str, ET.Element]:
    """Every plugin of the POM (its build and its profiles'), by artifactId."""
    return {pom_text(plugin, "artifactId"): plugin for plugin in element.iter(f"{MAVEN_NS}plugin")}


def test_the_pom_is_an_integration_project_for_the_4_4_runtime() -> None:
    root = pom()
    assert root.tag == f"{MAVEN_NS}project"
    assert pom_text(root, "packaging") == "pom"
    properties = {
        child.tag.removeprefix(MAVEN_NS): (child.text or "").strip() for child in root.find(_ns("properties"))
    }
    # MI for VS Code opens a folder as a project for this property, and takes the runtime from the next.
    assert properties["projectType"] == "integration-project"
    assert properties["project.runtime.version"] == RUNTIME_VERSION
    assert properties["test.server.version"] == "${project.runtime.version}"
    assert properties["test.server.type"] == "local"
    assert properties["maven.test.skip"] == "false"
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", properties["uuid"])


def test_the_build_packs_the_capp_and_runs_the_unit_tests() -> None:
    found = plugins(pom())
    assert {"vscode-car-plugin", "synapse-unit-test-maven-plugin"} <= set(found)
    car = found["vscode-car-plugin"]
    assert pom_text(car, "groupId") == "org.wso2.maven"
    assert [goal.text for goal in car.iter(f"{MAVEN_NS}goal")] == ["car"]
    unit = found["synapse-unit-test-maven-plugin"]
    assert [goal.text for goal in unit.iter(f"{MAVEN_NS}goal")] == ["synapse-unit-test"]
    assert pom_text(unit, "executions/execution/phase") == "test"
    assert pom_text(unit, "configuration/testCasesFilePath") == "${project.basedir}/src/test/wso2mi/${testFile}"
    assert pom_text(unit, "configuration/server/testServerVersion") == "${server.version}"
    for name, plugin in found.items():
        if name in {"maven-compiler-plugin", "maven-jar-plugin"}:
            continue  # Maven's own, pinned by the Maven version (as MI for VS Code leaves them)
        version = pom_text(plugin, "version")
        assert version.startswith("${") or re.fullmatch(r"\d+(\.\d+)+", version), f"{name} {version} is not pinned"
    repositories = [url.text for url in pom().iter(f"{MAVEN_NS}url")]
    assert repositories and all(url.startswith("https://maven.wso2.org/") for url in repositories)
    assert not any("snapshot" in url for url in repositories)


def capp_path() -> str:
    """Where the build leaves the CApp: the install step's file, with the POM's properties resolved."""
    root = pom()
    file = pom_text(plugins(root)["maven-install-plugin"], "executions/execution/configuration/file")
    values = {
        "project.build.directory": "target",
        "project.artifactId": pom_text(root, "artifactId"),
        "project.version": pom_text(root, "version"),
    }
    return re.sub(r"\$\{([^}]+)\}", lambda match: values[match.group(1)], file)


def test_the_capp_is_named_after_the_project() -> None:
    assert capp_path() == "target/wso2mi-service_1.0.0.car"


# ---------------------------------------------------------------------------------------------------------------
# Artifacts and unit tests


def artifact_files() -> list[Path]:
    return sorted(ARTIFACTS_DIR.rglob("*.xml"))


def test_artifacts_are_synapse_xml_in_the_folder_of_their_kind() -> None:
    files = artifact_files()
    assert {path.relative_to(ARTIFACTS_DIR).as_posix() for path in files} >= {"apis/HealthApi.xml", "apis/HelloApi.xml"}
    for path in files:
        kind = path.parent.name
        assert kind in ARTIFACT_ROOTS, f"{path}: MI for VS Code keeps no artifacts in {kind}/"
        root = ET.parse(path).getroot()
        assert root.tag == f"{{{SYNAPSE_NS}}}{ARTIFACT_ROOTS[kind]}", f"{path.name}: not a Synapse {kind} artifact"
        assert root.get("name") == path.stem
        for element in root.iter():
            if isinstance(element.tag, str):
                assert element.tag.startswith(f"{{{SYNAPSE_NS}}}"), f"{path.name}: {element.tag} outside Synapse"
    apis = [ET.parse(path).getroot() for path in files if path.parent.name == "apis"]
    contexts = [api.get("context") for api in apis]
    assert all(context.startswith("/") for context in contexts)
    assert len(contexts) == len(set(contexts)), "each API has its own context"


def test_health_api_answers_status_up_at_health() -> None:
    root = ET.parse(ARTIFACTS_DIR / "apis" / "HealthApi.xml").getroot()
    assert root.get("context") == "/health"
    [resource] = root.findall(f"{{{SYNAPSE_NS}}}resource")
    assert (resource.get("methods"), resource.get("uri-template")) == ("GET", "/")
    sequence = resource.find(f"{{{SYNAPSE_NS}}}inSequence")
    factory = sequence.find(f"{{{SYNAPSE_NS}}}payloadFactory")
    assert factory.get("media-type") == "json"
    assert json.loads(factory.find(f"{{{SYNAPSE_NS}}}format").text) == {"status": "UP"}
    assert sequence[-1].tag == f"{{{SYNAPSE_NS}}}respond"


def suites() -> list[Path]:
    return sorted(TESTS_DIR.glob("*.xml"))


def suite_problems(path: Path) -> list[str]:
    """What keeps a unit test suite from running: the synapse unit test format (no namespace), an artifact under
    test that exists in the project, and test cases that assert something."""
    root = ET.parse(path).getroot()
    if root.tag != "unit-test":
        return [f"{path.name}: the root is {root.tag}, not unit-test"]
    problems = []
    for element in root.iter():
        if element.tag.startswith("{"):
            problems.append(f"{path.name}: {element.tag} is in a namespace; the unit test format has none")
    artifacts = [element.text.strip() for element in root.iterfind("artifacts/*/artifact")]
    if len(root.findall("artifacts/test-artifact/artifact")) != 1:
        problems.append(f"{path.name}: a suite tests exactly one artifact")
    for artifact in artifacts:
        if not artifact.startswith("src/main/wso2mi/artifacts/") or not (TEMPLATE_DIR / artifact).is_file():
            problems.append(f"{path.name}: {artifact} is not an artifact of the project")
    cases = root.findall("test-cases/test-case")
    if not cases:
        problems.append(f"{path.name}: no test cases")
    for case in cases:
        if not case.findall("assertions/*"):
            problems.append(f"{path.name}: test case {case.get('name')} asserts nothing")
        for assertion in case.findall("assertions/*"):
            if assertion.tag not in {"assertEquals", "assertNotNull"} or assertion.find("actual") is None:
                problems.append(f"{path.name}: {case.get('name')} has an unknown assertion {assertion.tag}")
    return problems


def test_every_unit_test_suite_tests_an_artifact_of_the_project() -> None:
    found = suites()
    assert {path.name for path in found} == {"HealthApiTestSuite.xml", "HelloApiTestSuite.xml"}
    for path in found:
        assert suite_problems(path) == []


def test_the_sample_apis_have_unit_tests() -> None:
    tested = {ET.parse(path).getroot().findtext("artifacts/test-artifact/artifact").strip() for path in suites()}
    assert tested == {"src/main/wso2mi/artifacts/apis/HealthApi.xml", "src/main/wso2mi/artifacts/apis/HelloApi.xml"}
    health = ET.parse(TESTS_DIR / "HealthApiTestSuite.xml").getroot()
    expected = {
        a.findtext("actual"): a.findtext("expected") for a in health.iterfind("test-cases/test-case/assertions/*")
    }
    assert json.loads(expected["$body"]) == {"status": "UP"}
    assert expected["$statusCode"] == "200"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("apis/HelloApi.xml", "apis/GoneApi.xml", "src/main/wso2mi/artifacts/apis/GoneApi.xml is not an artifact"),
        ("<unit-test>", '<unit-test xmlns="urn:x">', "the root is {urn:x}unit-test"),
        ("assertEquals>", "assertTrue>", "unknown assertion assertTrue"),
    ],
)
def test_a_broken_suite_is_found(tmp_path: Path, old: str, new: str, problem: str) -> None:
    broken = tmp_path / "BrokenTestSuite.xml"
    broken.write_text((TESTS_DIR / "HelloApiTestSuite.xml").read_text().replace(old, new))
    assert any(problem in found for found in suite_problems(broken)), suite_problems(broken)


# ---------------------------------------------------------------------------------------------------------------
# deployment.toml and the image


def deployment_toml() -> dict[str, Any]:
    with DEPLOYMENT_TOML.open("rb") as file:
        return tomllib.load(file)


def passwords(value: object, path: str = "") -> list[str]:
    """Where a configuration holds a password or secret as text, not as a `$secret{}` or `$env{}` reference."""
    if isinstance(value, dict):
        return [found for key, inner in value.items() for found in passwords(inner, f"{path}.{key}".strip("."))]
    if isinstance(value, list):
        return [found for index, inner in enumerate(value) for found in passwords(inner, f"{path}[{index}]")]
    secretive = any(word in path.lower() for word in ("password", "secret", "token"))
    reference = isinstance(value, str) and value.startswith(("$secret{", "$env{"))
    return [path] if secretive and not reference else []


def test_the_server_configuration_keeps_the_runtimes_defaults_and_no_password() -> None:
    toml = deployment_toml()
    assert toml["server"]["hostname"] == "localhost"
    # The built-in keystores stay the runtime's defaults (config-tool default.json), so no password is written.
    assert "keystore" not in toml and "truststore" not in toml
    assert passwords(toml) == []
    assert passwords({"keystore": {"primary": {"password": "wso2carbon"}}}) == ["keystore.primary.password"]
    assert passwords({"keystore": {"primary": {"password": "$secret{keystore}"}}}) == []


def test_metrics_statistics_and_traces_are_on() -> None:
    toml = deployment_toml()
    assert {"name": "CustomObservabilityHandler", "class": METRIC_HANDLER} in toml["synapse_handlers"]
    assert toml["mediation"]["flow"]["statistics"] == {"enable": True, "capture_all": True}
    assert "stat" not in toml["mediation"], "payloads and message properties stay out of the traces"
    telemetry = toml["opentelemetry"]
    # 4.4.0 exports over gRPC only; its config mapper turns `type` into the OTLP manager class.
    assert {key: telemetry[key] for key in ("enable", "type", "url")} == {
        "enable": True,
        "type": "otlp",
        "url": "$env{IMAAS_OTLP_ENDPOINT}",
    }
    # 4.4.0's OTLP manager refuses to start without one property, which it sends as a header.
    assert telemetry["properties"] == [{"name": "x-imaas-tenant", "value": "$env{IMAAS_TENANT}"}]


def test_every_variable_the_configuration_reads_has_a_default_in_the_image() -> None:
    used = set(re.findall(r"\$env\{([A-Z_]+)\}", json.dumps(deployment_toml())))
    assert used == {"IMAAS_OTLP_ENDPOINT", "IMAAS_TENANT"}
    defaults = dict(re.findall(r'([A-Z_]+)="([^"]*)"', env_instruction()))
    assert used <= set(defaults), "an unset $env{} stops the server at start-up"
    assert {"IMAAS_ENVIRONMENT", "IMAAS_SERVICE", "SERVICE_NAME"} <= set(defaults)


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def env_instruction() -> str:
    [env] = [argument for instruction, argument in dockerfile_instructions() if instruction == "ENV"]
    return env


def test_dockerfile_builds_on_the_projects_runtime_and_runs_as_its_non_root_user() -> None:
    instructions = dockerfile_instructions()
    froms = [argument for instruction, argument in instructions if instruction == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(rf"wso2/wso2mi:{re.escape(RUNTIME_VERSION)}(@sha256:[0-9a-f]{{64}})?", froms[0])
    users = [argument for instruction, argument in instructions if instruction == "USER"]
    assert users and users[-1] == "802", "the image's own wso2carbon user"
    assert 'JAVA_OPTS="-DenablePrometheusApi=true"' in env_instruction()


def test_dockerfile_copies_the_capp_the_pom_builds_and_the_configuration() -> None:
    copies = [argument.split() for instruction, argument in dockerfile_instructions() if instruction == "COPY"]
    assert copies == [
        ["--chown=802:802", "deployment/deployment.toml", f"{SERVER_HOME}/conf/deployment.toml"],
        ["--chown=802:802", capp_path(), f"{SERVER_HOME}/repository/deployment/server/carbonapps/"],
    ]
    assert "synapse-configs" not in DOCKERFILE.read_text(), "artifacts reach the server inside the CApp only"


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    lines = (TEMPLATE_DIR / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", "everything else stays out of the build context"
    allowed = {pattern.removeprefix("!") for pattern in patterns[1:]}
    assert allowed == {"deployment/deployment.toml", "deployment/libs/", capp_path()}


def test_the_readme_names_what_the_project_builds_and_where() -> None:
    readme = (TEMPLATE_DIR / "README.md").read_text()
    assert f"`{capp_path()}`" in readme
    assert "docker build -f deployment/docker/Dockerfile" in readme
    assert "<project.runtime.version>" in readme and f"wso2/wso2mi:{RUNTIME_VERSION}" in readme
    for path in ("pom.xml", "deployment/deployment.toml", "src/test/wso2mi/", "deploy/base/"):
        assert (TEMPLATE_DIR / path).exists() and path in readme
