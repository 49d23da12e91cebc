"""The local runner end to end on hand-written compiled pipelines whose steps are small Python
programs (no cluster): DAG order, parallel branches, output passing, failure propagation, the
identity every step gets, redaction, exit codes and the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagemaker_ack_kfp.localrun.__main__ import main

# One step program for every test: it writes --message to the --out file (if given), can wait
# for another step's marker file, prints its identity and exits with --exit.
STEP = r"""
import os, pathlib, signal, sys, time
a = dict(zip(sys.argv[1::2], sys.argv[2::2]))
if "--until-terminated" in a:
    def stop(*_):
        print("error: terminated by the runner", file=sys.stderr, flush=True)
        sys.exit(143)
    signal.signal(signal.SIGTERM, stop)
    pathlib.Path(a["--until-terminated"]).write_text("started")
    time.sleep(120)
    sys.exit(0)
print("identity", os.environ["SAGEMAKER_ACK_KFP_RUN_ID"], os.environ["SAGEMAKER_ACK_KFP_TASK"], a.get("--run", ""))
if "--echo" in a:
    print("echo", a["--echo"])
for name in a.get("--print-env", "").split(","):
    if name:
        print("env", name, os.environ.get(name, "<unset>"))
if "--mark" in a:
    pathlib.Path(a["--mark"]).write_text("started")
if "--fail-once" in a:  # fails the first time it runs, succeeds once the marker exists
    marker = pathlib.Path(a["--fail-once"])
    if not marker.exists():
        marker.write_text("failed once")
        print("error: first attempt fails", file=sys.stderr)
        sys.exit(5)
if "--wait-for" in a:
    deadline = time.monotonic() + 60
    while not pathlib.Path(a["--wait-for"]).exists():
        if time.monotonic() > deadline:
            print("error: the other branch never started", file=sys.stderr)
            sys.exit(9)
        time.sleep(0.05)
if "--out" in a:
    pathlib.Path(a["--out"]).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(a["--out"]).write_text(a.get("--message", ""))
code = int(a.get("--exit", "0"))
if code:
    print("some detail", file=sys.stderr)
    print(f"error: step said no ({a.get('--message', '')})", file=sys.stderr)
sys.exit(code)
"""


def argo_pipeline(tasks: dict[str, dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    """An Argo Workflow like KFP 1.8 writes: one container template per task.
    tasks: name -> {"args": [...], "after": [...], "inputs": {name: value}, "retries": N}"""
    templates: list[dict[str, Any]] = []
    dag_tasks = []
    for name, task in tasks.items():
        inputs = task.get("inputs", {})
        dag_tasks.append({
            "name": name, "template": name, "dependencies": task.get("after", []),
            "arguments": {"parameters": [{"name": key, "value": value} for key, value in inputs.items()]},
        })
        templates.append({
            "name": name,
            **({"retryStrategy": {"limit": task["retries"]}} if "retries" in task else {}),
            "inputs": {"parameters": [{"name": key} for key in inputs]},
            "container": {"image": "unused", "command": ["python3", "-c", STEP], "args": task["args"]},
            "outputs": {"parameters": [{"name": f"{name}-message", "valueFrom": {"path": "/tmp/outputs/message/data"}}]}
            if "/tmp/outputs/message/data" in task["args"] else {},
        })
    entry = {"name": "demo", "inputs": {"parameters": [{"name": key} for key in params]}, "dag": {"tasks": dag_tasks}}
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "demo-"},
        "spec": {"entrypoint": "demo", "arguments": {"parameters": [{"name": k, "value": v} for k, v in params.items()]},
                 "templates": [entry, *templates]},
    }


def run(tmp_path: Path, doc: dict[str, Any], *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict[str, Any]]:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(doc))
    report = tmp_path / "report.json"
    code = main([str(path), "--report", str(report), "--workdir", str(tmp_path / "work"), *args])
    out = capsys.readouterr().out
    return code, out, json.loads(report.read_text()) if report.exists() else {}


def steps_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in report["steps"]}


def test_outputs_flow_downstream_and_every_step_knows_its_run_and_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = argo_pipeline(
        {
            "first": {"args": ["--message", "{{inputs.parameters.greeting}} world", "--out", "/tmp/outputs/message/data",
                               "--run", "{{workflow.uid}}"],
                      "inputs": {"greeting": "{{inputs.parameters.greeting}}"}},
            "second": {"args": ["--echo", "{{inputs.parameters.first-message}}", "--run", "{{workflow.uid}}"],
                       "after": ["first"], "inputs": {"first-message": "{{tasks.first.outputs.parameters.first-message}}"}},
        },
        {"greeting": "hello"},
    )
    code, out, report = run(tmp_path, doc, "--run-id", "run-123", capsys=capsys)
    assert code == 0, out
    assert report["status"] == "Succeeded" and report["run_id"] == "run-123"
    # {{workflow.uid}} and the exported identity agree, per task.
    assert "[first] identity run-123 first run-123" in out
    assert "[second] identity run-123 second run-123" in out
    assert "[second] echo hello world" in out
    assert out.index("[first] succeeded") < out.index("[second] started (after first)")
    assert steps_of(report)["first"]["outputs"] == {"message": "hello world"}
    assert (tmp_path / "work" / "first" / "tmp/outputs/message/data").read_text() == "hello world"


def test_independent_branches_run_in_parallel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each branch waits for the other's marker: both finish only if they run at the same time.
    a, b = tmp_path / "a.started", tmp_path / "b.started"
    doc = argo_pipeline(
        {
            "left": {"args": ["--mark", str(a), "--wait-for", str(b)]},
            "right": {"args": ["--mark", str(b), "--wait-for", str(a)]},
            "join": {"args": ["--echo", "joined"], "after": ["left", "right"]},
        },
        {},
    )
    code, out, report = run(tmp_path, doc, capsys=capsys)
    assert code == 0, out
    assert [s["status"] for s in report["steps"]] == ["Succeeded"] * 3
    assert "[join] started (after left, right)" in out


def test_a_failed_step_stops_its_dependents_but_not_other_branches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = argo_pipeline(
        {
            "train": {"args": ["--exit", "3", "--message", "no controller"]},
            "model": {"args": ["--echo", "never"], "after": ["train"]},
            "deploy": {"args": ["--echo", "never"], "after": ["model"]},
            "other": {"args": ["--echo", "independent"]},
        },
        {},
    )
    code, out, report = run(tmp_path, doc, capsys=capsys)
    assert code == 1
    steps = steps_of(report)
    assert report["status"] == "Failed"
    assert steps["train"] | {"duration_seconds": None} == {
        "name": "train", "status": "Failed", "exit_code": 3, "duration_seconds": None,
        "reason": "error: step said no (no controller)", "outputs": {}, "attempts": 1,
    }
    assert steps["model"]["status"] == "Skipped" and steps["model"]["reason"] == "upstream step train failed"
    assert steps["deploy"]["status"] == "Skipped" and steps["deploy"]["reason"] == "upstream step model skipped"
    assert steps["other"]["status"] == "Succeeded"
    assert "[model] started" not in out and "echo never" not in out
    assert "run failed: step train: error: step said no (no controller)" in out.replace(report["run_id"] + " ", "")
    # The summary table lists every step with its status.
    table = out[out.index("STEP "):]
    assert "train" in table and "Failed" in table and "Skipped" in table


def test_secrets_are_masked_in_everything_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = json.dumps({"DB_PASSWORD": "hunter2-secret", "MODE": "fast-and-loose"})
    doc = argo_pipeline({"step": {"args": ["--environment", env, "--echo", "pw is hunter2-secret"]}}, {})
    code, out, _ = run(tmp_path, doc, "--verbose", capsys=capsys)
    assert code == 0, out
    assert "hunter2-secret" not in out and "fast-and-loose" not in out
    assert '"DB_PASSWORD": "***"' in out  # the verbose command line shows the key, not the value
    assert "[step] echo pw is ***" in out


def test_env_file_variables_reach_every_step_and_secret_values_are_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FROM_RUNNER", "inherited")
    monkeypatch.setenv("PASSED_BY_NAME", "from the runner")
    env_file = tmp_path / "step.env"
    env_file.write_text(
        "# the stack's step environment\n\nAWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:1234/x?a=b\n"
        "AWS_SECRET_ACCESS_KEY=not-so-secret-value\nPASSED_BY_NAME\nNOT_SET_ANYWHERE\n"
    )
    later = tmp_path / "later.env"
    later.write_text("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:5678\n")
    names = "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,AWS_SECRET_ACCESS_KEY,PASSED_BY_NAME,NOT_SET_ANYWHERE,FROM_RUNNER"
    doc = argo_pipeline({"one": {"args": ["--print-env", names]}, "two": {"args": ["--print-env", names], "after": ["one"]}}, {})
    code, out, _ = run(tmp_path, doc, "--env-file", str(env_file), "--env-file", str(later), capsys=capsys)
    assert code == 0, out
    for step in ("one", "two"):
        assert f"[{step}] env AWS_ENDPOINT_URL_CLOUDWATCH_LOGS http://127.0.0.1:5678" in out
        assert f"[{step}] env AWS_SECRET_ACCESS_KEY ***" in out
        assert f"[{step}] env PASSED_BY_NAME from the runner" in out
        assert f"[{step}] env NOT_SET_ANYWHERE <unset>" in out
        assert f"[{step}] env FROM_RUNNER inherited" in out  # on top of the runner's own environment
    assert "not-so-secret-value" not in out

    env_file.write_text("export AWS_REGION=us-east-1\n")  # a shell file is not an env file
    path = tmp_path / "pipeline.yaml"
    assert main([str(path), "--env-file", str(env_file)]) == 2
    assert f"error: --env-file {env_file}, line 1: expected NAME=VALUE with a variable name, got 'export AWS_REGION'" in capsys.readouterr().err


def test_parameters_and_document_errors_exit_2_without_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = argo_pipeline({"step": {"args": ["--out", "/tmp/outputs/message/data"]}}, {"needed": None})  # type: ignore[dict-item]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main([str(path)]) == 2
    assert "missing required pipeline parameter(s): needed" in capsys.readouterr().err
    assert main([str(path), "--param", "needed"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "step").exists()


def test_ir_pipeline_runs_with_typed_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {
        "pipelineInfo": {"name": "ir-demo"},
        "root": {
            "inputDefinitions": {"parameters": {"size": {"parameterType": "NUMBER_INTEGER", "defaultValue": 10.0, "isOptional": True}}},
            "dag": {"tasks": {
                "make": {"componentRef": {"name": "comp-make"}, "taskInfo": {"name": "make"}, "inputs": {"parameters": {
                    "pipelinechannel--size": {"componentInputParameter": "size"},
                    "config": {"runtimeValue": {"constant": {"volumeSizeInGB": 5, "note": "size={{$.inputs.parameters['pipelinechannel--size']}}"}}},
                }}},
                "use": {"componentRef": {"name": "comp-use"}, "taskInfo": {"name": "use"}, "dependentTasks": ["make"],
                        "inputs": {"parameters": {"config": {"taskOutputParameter": {"producerTask": "make", "outputParameterKey": "config"}}}}},
            }},
        },
        "components": {
            "comp-make": {"executorLabel": "exec-make",
                          "inputDefinitions": {"parameters": {"config": {"parameterType": "STRUCT"}}},
                          "outputDefinitions": {"parameters": {"config": {"parameterType": "STRUCT"}}}},
            "comp-use": {"executorLabel": "exec-use", "inputDefinitions": {"parameters": {"config": {"parameterType": "STRUCT"}}}},
        },
        "deploymentSpec": {"executors": {
            "exec-make": {"container": {"image": "x", "command": ["python3", "-c", STEP], "args": [
                "--message", "{{$.inputs.parameters['config']}}", "--out", "{{$.outputs.parameters['config'].output_file}}"]}},
            "exec-use": {"container": {"image": "x", "command": ["python3", "-c", STEP], "args": [
                "--echo", "{{$.inputs.parameters['config']}}", "--run", "{{workflow.uid}}"]}},
        }},
    }
    code, out, report = run(tmp_path, doc, "--param", "size=7", capsys=capsys)
    assert code == 0, out
    # Numbers inside structs travel as floats, in and out of the step, as on a KFP 2 backend.
    assert '[use] echo {"note": "size=7", "volumeSizeInGB": 5.0}' in out or \
        '[use] echo {"volumeSizeInGB": 5.0, "note": "size=7"}' in out
    assert json.loads(steps_of(report)["make"]["outputs"]["config"]) == {"volumeSizeInGB": 5.0, "note": "size=7"}
    assert report["form"] == "KFP SDK 2.x pipeline IR"


def test_terminating_the_runner_stops_the_running_steps(tmp_path: Path) -> None:
    started = tmp_path / "started"
    doc = argo_pipeline(
        {"long": {"args": ["--until-terminated", str(started)]}, "after": {"args": ["--echo", "x"], "after": ["long"]}}, {}
    )
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc))
    report = tmp_path / "report.json"
    runner = subprocess.Popen(
        [sys.executable, "-m", "sagemaker_ack_kfp.localrun", str(path), "--report", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
    )
    deadline = time.monotonic() + 60
    while not started.exists():
        assert runner.poll() is None and time.monotonic() < deadline, "the long step never started"
        time.sleep(0.05)
    runner.terminate()  # SIGTERM, as when a CI job is cancelled
    out, _ = runner.communicate(timeout=60)
    assert runner.returncode == 130, out
    assert "interrupted: stopping 1 running step(s)" in out
    assert "[long] error: terminated by the runner" in out  # the step got SIGTERM and could clean up
    steps = steps_of(json.loads(report.read_text()))
    assert steps["long"]["status"] == "Failed" and steps["long"]["exit_code"] == 143
    assert steps["after"]["status"] == "Not run"


def test_a_failed_attempt_runs_again_within_the_retry_limit_as_the_same_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "failed-once"
    doc = argo_pipeline(
        {
            "flaky": {"args": ["--fail-once", str(marker), "--run", "{{workflow.uid}}", "--out", "/tmp/outputs/message/data",
                               "--message", "second time lucky"], "retries": 2},
            "strict": {"args": ["--fail-once", str(tmp_path / "strict-marker")]},
        },
        {},
    )
    code, out, report = run(tmp_path, doc, "--run-id", "run-r", capsys=capsys)
    steps = steps_of(report)
    assert steps["flaky"]["status"] == "Succeeded" and steps["flaky"]["attempts"] == 2
    assert steps["flaky"]["outputs"] == {"message": "second time lucky"}
    assert "[flaky] attempt 1 failed (exit code 5): error: first attempt fails; retrying (1 of 2)" in out
    # Both attempts were the same task of the same run (a retried KFP pod keeps its node name).
    assert out.count("[flaky] identity run-r flaky run-r") == 2
    # Without a retry limit one failure fails the step.
    assert steps["strict"]["status"] == "Failed" and steps["strict"]["attempts"] == 1 and code == 1
