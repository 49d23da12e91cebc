"""Run a generated component the way KFP runs its container: resolve the component.yaml's
command and args (inputValue, outputPath, if/isPresent, and `{{workflow.uid}}`, which the KFP API
server replaces with the run ID) into an argv, and execute it as a process against the stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT

COMPONENTS = REPO_ROOT / "components"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def resolve_args(spec: dict[str, Any], arguments: dict[str, Any], outputs_dir: Path, run_id: str) -> tuple[list[str], dict[str, Path]]:
    output_paths: dict[str, Path] = {}

    def expand(item: Any) -> list[str]:
        if isinstance(item, str):
            return [item.replace("{{workflow.uid}}", run_id)]
        if "inputValue" in item:
            return [_value(arguments[item["inputValue"]])]
        if "outputPath" in item:
            path = outputs_dir / item["outputPath"] / "data"
            output_paths[item["outputPath"]] = path
            return [str(path)]
        if "if" in item:
            condition = item["if"]["cond"]
            present = condition["isPresent"] in arguments
            branch = item["if"].get("then" if present else "else", [])
            return [part for sub in branch for part in expand(sub)]
        raise ValueError(f"unsupported placeholder {item}")

    container = spec["implementation"]["container"]
    argv = [part for item in [*container["command"], *container.get("args", [])] for part in expand(item)]
    return argv, output_paths


@dataclass
class StepResult:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)

    def output_json(self, name: str) -> Any:
        return json.loads(self.outputs[name])


class ComponentStep:
    """One pipeline step: a component, its arguments and its KFP identity."""

    def __init__(
        self, kind: str, arguments: dict[str, Any], *, kubeconfig: Path, workdir: Path, run_id: str, task: str | None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`task=None` leaves SAGEMAKER_ACK_KFP_TASK unset (the step then finds its task as in a pod);
        `env` adds to or overrides the step's environment."""
        self.spec = yaml.safe_load((COMPONENTS / kind / "component.yaml").read_text())
        unknown = set(arguments) - {i["name"] for i in self.spec["inputs"]}
        assert not unknown, f"test passes inputs the component does not have: {unknown}"
        self.arguments = arguments
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.argv, self.output_paths = resolve_args(self.spec, arguments, workdir / "outputs", run_id)
        self.argv[0:1] = [sys.executable] if self.argv[0] == "python3" else self.argv[0:1]
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "KUBECONFIG": str(kubeconfig),
            "PYTHONUNBUFFERED": "1",
        }
        if task is not None:
            self.env["SAGEMAKER_ACK_KFP_TASK"] = task
        self.env.update(env or {})

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv, env=self.env, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def finish(self, proc: subprocess.Popen[str], timeout: float = 300) -> StepResult:
        stdout, stderr = proc.communicate(timeout=timeout)
        outputs = {name: path.read_text() for name, path in self.output_paths.items() if path.exists()}
        return StepResult(proc.returncode, stdout, stderr, outputs)

    def run(self, timeout: float = 300) -> StepResult:
        return self.finish(self.start(), timeout)

    def terminate_when(self, proc: subprocess.Popen[str], predicate: Any, *, timeout: float = 120) -> None:
        """Send SIGTERM (as Kubernetes does when a run is terminated) once predicate() holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"the step exited ({proc.returncode}) before it could be terminated:\n{out}\n{err}")
            if predicate():
                proc.send_signal(signal.SIGTERM)
                return
            time.sleep(0.2)
        raise AssertionError("condition for SIGTERM never held")
