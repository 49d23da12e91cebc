"""What both compiled forms (KFP 1.8 Argo Workflow, KFP 2.x IR) are turned into: pipeline
parameters and a DAG of steps, each of which can tell, once its upstream steps are done, the exact
process to start (or container to run, in pod mode) and which files hold its outputs. The executor
knows nothing about formats."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sagemaker_ack_kfp.localrun.values import STRING, BadValue, parse_text

_TASK_DIR_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class PipelineError(Exception):
    """The compiled pipeline or the run's parameters cannot be run (nothing was started)."""


class ResolutionError(Exception):
    """A step's inputs cannot be resolved from its upstream outputs (the step fails, not the runner)."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = STRING
    default: Any = None
    required: bool = False


@dataclass
class RunContext:
    run_id: str
    workdir: Path
    namespace: str
    pipeline_name: str
    params: dict[str, Any]
    # task -> output key -> value, filled in as steps succeed
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def task_dir(self, task: str) -> Path:
        return self.workdir / _TASK_DIR_UNSAFE.sub("_", task)


@dataclass
class ContainerCall:
    """The step as the container KFP's backend would run (pod mode): image, command and args as
    compiled, output files in the container, each output's folder backed by a host folder."""

    image: str
    command: list[str]
    args: list[str]
    env: list[dict[str, Any]]  # Kubernetes EnvVar items: values resolved, valueFrom kept
    output_dirs: dict[str, Path]  # folder in the container -> host folder the runner reads
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    resources: dict[str, Any] | None = None


@dataclass
class Invocation:
    argv: list[str]
    env: dict[str, str]
    output_files: dict[str, Path]  # output key -> the file the step writes it to (on this machine)
    container: ContainerCall | None = None


@dataclass
class Collected:
    values: dict[str, Any]  # keyed as downstream references name them
    display: dict[str, str]  # short output name -> text, for the summary


class Step(Protocol):
    name: str
    depends_on: tuple[str, ...]
    retries: int  # how many times a failed attempt is run again (Argo retryStrategy, IR retryPolicy)

    def invocation(self, run: RunContext) -> Invocation: ...

    def collect(self, invocation: Invocation) -> Collected: ...


@dataclass
class Plan:
    form: str  # human-readable: which SDK compiled it
    name: str
    parameters: dict[str, Parameter]
    steps: dict[str, Step]

    def resolve_parameters(self, given: dict[str, str]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(self.parameters))
        if unknown:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise PipelineError(f"unknown pipeline parameter(s) {', '.join(unknown)}; this pipeline takes: {known}")
        values: dict[str, Any] = {}
        missing = []
        for name, param in self.parameters.items():
            if name in given:
                try:
                    values[name] = parse_text(given[name], param.type, what=f"parameter {name}")
                except BadValue as exc:
                    raise PipelineError(str(exc)) from None
            elif param.default is not None:
                values[name] = param.default
            elif param.required:
                missing.append(name)
        if missing:
            raise PipelineError(
                "missing required pipeline parameter(s): " + ", ".join(missing) + " (give each with --param NAME=VALUE)"
            )
        return values


def check_dag(steps: dict[str, Step]) -> None:
    """Every dependency exists and there is no cycle."""
    for step in steps.values():
        for dep in step.depends_on:
            if dep not in steps:
                raise PipelineError(f"step {step.name} depends on unknown step {dep!r}")
    state: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise PipelineError("dependency cycle: " + " -> ".join((*path, name)))
        state[name] = 1
        for dep in steps[name].depends_on:
            visit(dep, (*path, name))
        state[name] = 2

    for name in steps:
        visit(name, ())


def topological_order(steps: dict[str, Step]) -> list[str]:
    """Steps in an order that respects the DAG, keeping the compiled order between independent ones."""
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(steps):
        for name, step in steps.items():
            if name not in placed and all(dep in placed for dep in step.depends_on):
                done.append(name)
                placed.add(name)
                break
        else:  # pragma: no cover - check_dag() rejects cycles before this runs
            raise PipelineError("dependency cycle")
    return done
