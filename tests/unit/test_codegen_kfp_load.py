"""The generated component.yaml files load and compile in both KFP SDKs users run.

KFP 1.8.22 compiles to an Argo Workflow, KFP 2.x to pipeline IR; each SDK lives in its own
virtualenv made by hack/kfp-venvs.sh (cached outside the repo). A subprocess per SDK loads
every component, compiles a one-step pipeline that sets only the required inputs plus
`region`, and also runs every README example; the assertions then read the compiled files.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagemaker_ack_kfp.codegen.identity import IDENTITY_ARGS

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = REPO_ROOT / "components"
KINDS = sorted(p.parent.name for p in COMPONENTS.glob("*/component.yaml"))

# Runs inside an SDK venv: argv = components dir, output dir. Prints {kind: compiled path}.
COMPILE_EVERY_COMPONENT = textwrap.dedent(
    """
    import json, pathlib, sys
    from kfp import compiler, dsl
    from kfp.components import load_component_from_file

    SAMPLES = {"String": "probe", "Integer": 3, "Float": 1.5, "Bool": True,
               "JsonObject": {"probe": 1}, "JsonArray": [{"probe": 1}]}
    components, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    compiled = {}
    for path in sorted(components.glob("*/component.yaml")):
        kind = path.parent.name
        info = json.loads((path.parent / "kind.json").read_text())
        op = load_component_from_file(str(path))
        arguments = {i["name"]: SAMPLES[i["type"]] for i in info["inputs"]
                     if i["required"] and i["field"] != info["nameField"]}
        arguments["region"] = "us-west-2"

        @dsl.pipeline(name="check-" + kind.lower())
        def pipeline():
            op(**arguments)

        target = out / (kind + ".yaml")
        compiler.Compiler().compile(pipeline, str(target))
        compiled[kind] = str(target)
    print(json.dumps(compiled))
    """
)


def _venv_pythons() -> dict[str, Path]:
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "hack" / "kfp-venvs.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"hack/kfp-venvs.sh failed:\n{proc.stderr[-3000:]}")
    pythons = dict(line.split("=", 1) for line in proc.stdout.split() if "=" in line)
    return {name: Path(path) for name, path in pythons.items()}


@pytest.fixture(scope="module")
def venv_pythons() -> dict[str, Path]:
    return _venv_pythons()


def _compile_all(python: Path, out: Path) -> dict[str, dict[str, Any]]:
    script = out / "compile_all.py"
    script.write_text(COMPILE_EVERY_COMPONENT)
    proc = subprocess.run(
        [str(python), str(script), str(COMPONENTS), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    compiled = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(compiled) == KINDS
    return {kind: yaml.safe_load(Path(path).read_text()) for kind, path in compiled.items()}


def _kind_info(kind: str) -> dict[str, Any]:
    return json.loads((COMPONENTS / kind / "kind.json").read_text())


def _given(info: dict[str, Any]) -> set[str]:
    """The inputs the compile script set: required spec inputs (not the name) and region."""
    return {i["name"] for i in info["inputs"] if i["required"] and i["field"] != info["nameField"]} | {"region"}


def _pair_after(args: list[Any], flag: str) -> Any:
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


@pytest.fixture(scope="module")
def kfp1_workflows(venv_pythons: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _compile_all(venv_pythons["kfp-1.8.22"], tmp_path_factory.mktemp("kfp1"))


@pytest.fixture(scope="module")
def kfp2_pipelines(venv_pythons: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _compile_all(venv_pythons["kfp-2"], tmp_path_factory.mktemp("kfp2"))


@pytest.mark.parametrize("kind", KINDS)
def test_kfp_1_8_argo_workflow_passes_only_given_inputs(kfp1_workflows: dict[str, Any], kind: str) -> None:
    workflow = kfp1_workflows[kind]
    assert workflow["kind"] == "Workflow"
    containers = [t for t in workflow["spec"]["templates"] if "container" in t]
    assert len(containers) == 1
    container = containers[0]["container"]
    args = container["args"]
    info = _kind_info(kind)

    assert args[:2] == ["--kind", kind]
    assert container["command"] == ["python3", "-u", "-m", "sagemaker_ack_kfp.component"]
    assert _pair_after(args, "--region") == "us-west-2"
    flags = {a for a in args if isinstance(a, str) and a.startswith("--") and not a.startswith("--output-")}
    expected_flags = {"--kind"} | {f"--{name}" for name in _given(info)} | set(IDENTITY_ARGS[::2])
    expected_flags |= {f"--{i['name']}" for i in info["runtimeInputs"] if "default" in i}
    assert flags == expected_flags  # unset optional inputs (the name, namespace, tags...) are absent
    for name in _given(info) - {"region"}:
        item = next(i for i in info["inputs"] if i["name"] == name)
        value = _pair_after(args, f"--{name}")
        if item["type"] == "JsonObject":
            assert json.loads(value) == {"probe": 1}
    for output in info["outputs"]:
        assert _pair_after(args, f"--output-{output['name']}") == f"/tmp/outputs/{output['name']}/data"
    assert args[args.index(IDENTITY_ARGS[0]) : args.index(IDENTITY_ARGS[0]) + len(IDENTITY_ARGS)] == list(IDENTITY_ARGS)


_IR_TYPES = {
    "String": "STRING",
    "Integer": "NUMBER_INTEGER",
    "Float": "NUMBER_DOUBLE",
    "Bool": "BOOLEAN",
    "JsonObject": "STRUCT",
    "JsonArray": "LIST",
}


@pytest.mark.parametrize("kind", KINDS)
def test_kfp_2_ir_keeps_optional_inputs_behind_if_present(kfp2_pipelines: dict[str, Any], kind: str) -> None:
    pipeline = kfp2_pipelines[kind]
    info = _kind_info(kind)
    (executor,) = pipeline["deploymentSpec"]["executors"].values()
    args = executor["container"]["args"]
    (component,) = pipeline["components"].values()
    parameters = component["inputDefinitions"]["parameters"]
    (task,) = pipeline["root"]["dag"]["tasks"].values()

    assert args[:2] == ["--kind", kind]
    assert set(task["inputs"]["parameters"]) == _given(info)  # nothing else is passed to the task
    guarded = {}
    for arg in args:
        if isinstance(arg, str) and arg.startswith('{"IfPresent"'):
            condition = json.loads(arg)["IfPresent"]
            guarded[condition["InputName"]] = condition["Then"]
    all_inputs = [*info["inputs"], *info["runtimeInputs"]]
    for item in all_inputs:
        name = item["name"]
        placeholder = f"{{{{$.inputs.parameters['{name}']}}}}"
        optional = not item.get("required", False) or item.get("field") == info["nameField"]
        if optional:
            assert guarded[name] == [f"--{name}", placeholder]
            assert parameters[name].get("isOptional") is True
        else:
            assert _pair_after(args, f"--{name}") == placeholder
            assert "isOptional" not in parameters[name]
        assert parameters[name]["parameterType"] == _IR_TYPES[item["type"]]
    assert set(guarded) == {i["name"] for i in all_inputs} - {n for n in _given(info) if n != "region"}
    for output in info["outputs"]:
        assert _pair_after(args, f"--output-{output['name']}") == (
            f"{{{{$.outputs.parameters['{output['name']}'].output_file}}}}"
        )
        assert (
            component["outputDefinitions"]["parameters"][output["name"]]["parameterType"] == _IR_TYPES[output["type"]]
        )


def _readme_example(kind: str, sdk_heading: str) -> str:
    text = (COMPONENTS / kind / "README.md").read_text()
    section = text.split(sdk_heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python block after {sdk_heading!r} in {kind}/README.md"
    return match.group(1)


@pytest.mark.parametrize(("venv", "heading"), [("kfp-2", "KFP SDK 2.x"), ("kfp-1.8.22", "KFP SDK 1.8")])
def test_readme_examples_compile(venv_pythons: dict[str, Path], tmp_path: Path, venv: str, heading: str) -> None:
    (tmp_path / "components").symlink_to(COMPONENTS)
    for kind in KINDS:
        workdir = tmp_path
        (workdir / "pipeline.yaml").unlink(missing_ok=True)
        proc = subprocess.run(
            [str(venv_pythons[venv]), "-c", _readme_example(kind, heading)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"{kind} README example ({venv}):\n{proc.stderr[-3000:]}"
        compiled = yaml.safe_load((workdir / "pipeline.yaml").read_text())
        text = json.dumps(compiled)
        assert kind in text and "--kind" in text


def test_sdk_versions_are_the_pinned_ones(venv_pythons: dict[str, Path]) -> None:
    versions = {}
    for name, python in venv_pythons.items():
        proc = subprocess.run(
            [str(python), "-c", "import kfp; print(kfp.__version__)"], capture_output=True, text=True, check=True
        )
        versions[name] = proc.stdout.strip()
    assert versions["kfp-1.8.22"] == "1.8.22"
    assert versions["kfp-2"].startswith("2.")
    assert sys.version_info >= (3, 11)
