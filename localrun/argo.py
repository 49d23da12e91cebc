"""KFP SDK 1.8's compiled form, an Argo Workflow, as a runnable plan.

Mapping (what Argo and the KFP 1.8 backend do, done locally):
- pipeline parameters: `spec.arguments.parameters` (a value is the default; none: required);
- the DAG: the entrypoint template's `dag.tasks`, ordered by `dependencies` (and by every
  `{{tasks.<t>.outputs.parameters.<p>}}` a task reads);
- a task's arguments resolve `{{inputs.parameters.x}}` (the pipeline parameters),
  `{{workflow.parameters.x}}` and `{{tasks.<t>.outputs.parameters.<p>}}`; the container
  template's command, args and env then resolve `{{inputs.parameters.x}}` from them;
- `{{workflow.uid}}` is the run id (the KFP API server and Argo substitute it the same way);
- every output path (`/tmp/outputs/<o>/data`) moves into the step's folder of the run's temp dir,
  and an output parameter is that file's text (in pod mode the container writes the original
  path, a hostPath volume backed by that folder);
- `retryStrategy.limit` is how many times a failed step runs again.
Conditions, loops, exit handlers, nested DAGs and artifact inputs are refused up front.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagemaker_ack_kfp.localrun.plan import (
    Collected,
    ContainerCall,
    Invocation,
    Parameter,
    PipelineError,
    Plan,
    ResolutionError,
    RunContext,
    check_dag,
)

FORM = "KFP SDK 1.8 Argo Workflow"
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z][\w-]*(?:\.[\w-]+)*)\s*\}\}")
# Argo variables a KFP 1.8 pipeline may use; anything else under these roots is refused.
_ARGO_ROOTS = ("inputs.", "outputs.", "tasks.", "steps.", "workflow.", "pod.", "node.", "item.")
_UNSUPPORTED_TASK_KEYS = ("when", "withItems", "withParam", "withSequence", "templateRef", "hooks", "onExit")
_TASK_DEPENDS = re.compile(r"^[\w-]+(\.Succeeded)?$")


def is_argo_workflow(doc: dict[str, Any]) -> bool:
    return doc.get("kind") == "Workflow" and str(doc.get("apiVersion", "")).startswith("argoproj.io/")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"  # how KFP 1.8 serializes a bool
    return str(value)


def substitute(text: str, lookup: Callable[[str], str | None], *, where: str) -> str:
    """Replace every Argo `{{variable}}` in text; lookup(name) returns the value or None."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = lookup(name)
        if value is not None:
            return value
        if name.startswith(_ARGO_ROOTS) or name in ("item", "retries", "lastRetry"):
            raise ResolutionError(f"{where}: cannot resolve {{{{{name}}}}}")
        return match.group(0)

    return _VARIABLE.sub(replace, text)


@dataclass
class ArgoStep:
    name: str
    template: dict[str, Any]
    arguments: dict[str, str]
    depends_on: tuple[str, ...]
    retries: int = 0

    # ----- before the step: its exact process -------------------------------------------
    def _workflow_variable(self, run: RunContext, name: str) -> str | None:
        if name == "workflow.uid":
            return run.run_id
        if name == "workflow.name":
            return f"{run.pipeline_name}-{run.run_id[:8]}"
        if name == "workflow.namespace":
            return run.namespace
        if name.startswith("workflow.parameters."):
            value = run.params.get(name.removeprefix("workflow.parameters."))
            return None if value is None else _as_text(value)
        return None

    def _argument(self, run: RunContext, raw: str) -> str:
        def lookup(name: str) -> str | None:
            if name.startswith("inputs.parameters."):
                value = run.params.get(name.removeprefix("inputs.parameters."))
                return None if value is None else _as_text(value)
            if name.startswith("tasks."):
                parts = name.split(".")
                if len(parts) == 5 and parts[2:4] == ["outputs", "parameters"]:
                    produced = run.outputs.get(parts[1], {})
                    if parts[4] not in produced:
                        raise ResolutionError(f"step {self.name}: step {parts[1]} produced no output parameter {parts[4]}")
                    return str(produced[parts[4]])
                return None
            return self._workflow_variable(run, name)

        return substitute(raw, lookup, where=f"step {self.name}")

    def _output_paths(self, run: RunContext) -> dict[str, tuple[Path, Path]]:
        """Argo output name -> (path in the container, path in the run's temp dir)."""
        root = run.task_dir(self.name)
        paths: dict[str, tuple[Path, Path]] = {}
        outputs = self.template.get("outputs") or {}
        for item in [*(outputs.get("parameters") or []), *(outputs.get("artifacts") or [])]:
            original = (item.get("valueFrom") or {}).get("path") or item.get("path")
            if original:
                paths[item["name"]] = (Path(original), root / str(original).lstrip("/"))
        return paths

    def invocation(self, run: RunContext) -> Invocation:
        inputs = {key: self._argument(run, value) for key, value in self.arguments.items()}
        for declared in (self.template.get("inputs") or {}).get("parameters") or []:
            name = declared["name"]
            if name not in inputs:
                default = declared.get("value", declared.get("default"))
                if default is None:
                    raise ResolutionError(f"step {self.name}: no value for template input {name}")
                inputs[name] = _as_text(default)

        def lookup(name: str) -> str | None:
            if name.startswith("inputs.parameters."):
                return inputs.get(name.removeprefix("inputs.parameters."))
            return self._workflow_variable(run, name)

        where = f"step {self.name}"
        container = self.template["container"]
        command = [substitute(_as_text(part), lookup, where=where) for part in container.get("command", [])]
        args = [substitute(_as_text(part), lookup, where=where) for part in container.get("args", [])]
        argv = [*command, *args]
        paths = self._output_paths(run)
        # Longest first, so that a path that prefixes another cannot clobber it.
        for original, local in sorted(paths.values(), key=lambda pair: -len(str(pair[0]))):
            argv = [part.replace(str(original), str(local)) for part in argv]
            local.parent.mkdir(parents=True, exist_ok=True)
        env = {}
        pod_env: list[dict[str, Any]] = []
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = substitute(_as_text(item["value"]), lookup, where=where)
                pod_env.append({"name": item["name"], "value": env[item["name"]]})
            else:
                pod_env.append(item)  # valueFrom: a pod resolves it itself
        metadata = self.template.get("metadata") or {}
        call = ContainerCall(
            image=substitute(_as_text(container.get("image", "")), lookup, where=where),
            command=command,
            args=args,
            env=pod_env,
            output_dirs={str(original.parent): local.parent for original, local in paths.values()},
            labels={str(k): _as_text(v) for k, v in (metadata.get("labels") or {}).items()},
            annotations={str(k): _as_text(v) for k, v in (metadata.get("annotations") or {}).items()},
            resources=container.get("resources"),
        )
        return Invocation(argv=argv, env=env, output_files={name: local for name, (_, local) in paths.items()}, container=call)

    # ----- after the step: its outputs ---------------------------------------------------
    def collect(self, invocation: Invocation) -> Collected:
        declared = {item["name"] for item in (self.template.get("outputs") or {}).get("parameters") or []}
        values: dict[str, Any] = {}
        display: dict[str, str] = {}
        prefix = f"{self.template['name']}-"
        for name, path in invocation.output_files.items():
            if not path.is_file():
                if name in declared:
                    raise ResolutionError(f"the step exited 0 but did not write output parameter {name} ({path})")
                continue
            text = path.read_text()
            if name in declared:
                values[name] = text
            display[name.removeprefix(prefix)] = text
        return Collected(values=values, display=display)


def _template_index(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {template["name"]: template for template in spec.get("templates") or []}


def _dependencies(task: dict[str, Any]) -> list[str]:
    deps = list(task.get("dependencies") or [])
    depends = task.get("depends")
    if depends:
        for term in str(depends).split("&&"):
            term = term.strip().strip("()").strip()
            if not _TASK_DEPENDS.match(term):
                raise PipelineError(
                    f"task {task['name']}: 'depends: {depends}' uses conditions a local run does not support "
                    "(only 'a && b' and '.Succeeded')"
                )
            deps.append(term.split(".")[0])
    # A task that reads another task's output runs after it, whatever the lists say.
    for argument in (task.get("arguments") or {}).get("parameters") or []:
        for match in _VARIABLE.finditer(_as_text(argument.get("value", ""))):
            parts = match.group(1).split(".")
            if parts[0] == "tasks" and len(parts) > 1:
                deps.append(parts[1])
    return sorted(set(deps))


def _check_container_template(task: str, template: dict[str, Any]) -> list[str]:
    if "container" not in template:
        kind = next((k for k in ("dag", "steps", "script", "resource", "suspend", "containerSet") if k in template), "unknown")
        raise PipelineError(
            f"task {task} runs a '{kind}' template ({template['name']}); the local runner runs container steps only "
            "(no nested DAGs, conditions, loops or exit handlers)"
        )
    if (template.get("inputs") or {}).get("artifacts"):
        raise PipelineError(f"task {task} takes input artifacts; the local runner passes parameters only")
    warnings = []
    for item in template["container"].get("env") or []:
        if "value" not in item:
            warnings.append(
                f"task {task}: environment variable {item.get('name')} comes from a secret or the pod (valueFrom); "
                "a step run as a local process does not get it (one run as a pod does)"
            )
    return warnings


def load(doc: dict[str, Any]) -> tuple[Plan, list[str]]:
    spec = doc.get("spec") or {}
    if spec.get("onExit"):
        raise PipelineError("the workflow has an exit handler (onExit); the local runner does not run exit handlers")
    templates = _template_index(spec)
    entry = templates.get(spec.get("entrypoint", ""))
    if entry is None or "dag" not in entry:
        raise PipelineError(f"the workflow's entrypoint {spec.get('entrypoint')!r} is not a DAG template")

    parameters = {}
    for item in (spec.get("arguments") or {}).get("parameters") or []:
        default = item.get("value")
        parameters[item["name"]] = Parameter(
            name=item["name"], default=None if default is None else _as_text(default), required=default is None
        )

    steps: dict[str, ArgoStep] = {}
    warnings: list[str] = []
    for task in entry["dag"].get("tasks") or []:
        name = task["name"]
        used = [key for key in _UNSUPPORTED_TASK_KEYS if key in task]
        if used:
            raise PipelineError(f"task {name} uses {', '.join(used)}; the local runner does not support conditions or loops")
        if (task.get("arguments") or {}).get("artifacts"):
            raise PipelineError(f"task {name} passes artifacts; the local runner passes parameters only")
        template = templates.get(task.get("template", ""))
        if template is None:
            raise PipelineError(f"task {name} names unknown template {task.get('template')!r}")
        warnings += _check_container_template(name, template)
        arguments = {
            item["name"]: _as_text(item.get("value", "")) for item in (task.get("arguments") or {}).get("parameters") or []
        }
        steps[name] = ArgoStep(
            name=name, template=template, arguments=arguments, depends_on=tuple(_dependencies(task)),
            retries=_retry_limit(name, template),
        )
    check_dag(steps)  # type: ignore[arg-type]
    return Plan(form=FORM, name=pipeline_name(doc), parameters=parameters, steps=steps), warnings  # type: ignore[arg-type]


def _retry_limit(task: str, template: dict[str, Any]) -> int:
    """retryStrategy.limit (KFP 1.8's `set_retry`): how many times Argo retries a failed pod."""
    limit = (template.get("retryStrategy") or {}).get("limit", 0)
    try:
        return max(0, int(str(limit)))
    except ValueError:
        raise PipelineError(f"task {task}: retryStrategy.limit {limit!r} is not a number") from None


def pipeline_name(doc: dict[str, Any]) -> str:
    metadata = doc.get("metadata") or {}
    annotation = (metadata.get("annotations") or {}).get("pipelines.kubeflow.org/pipeline_spec")
    if annotation:
        try:
            name = json.loads(annotation).get("name")
            if name:
                return str(name)
        except (json.JSONDecodeError, AttributeError):
            pass
    return str(metadata.get("name") or metadata.get("generateName") or "pipeline").rstrip("-")
