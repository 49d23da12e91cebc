"""KFP SDK 2.x's compiled form, the pipeline IR (PipelineSpec), as a runnable plan.

Mapping (what the KFP 2 driver and launcher do, done locally):
- pipeline parameters: `root.inputDefinitions.parameters`, typed (STRING, NUMBER_INTEGER, ...;
  `--param` text is parsed per type, STRUCT and LIST as JSON);
- the DAG: `root.dag.tasks`, ordered by `dependentTasks` and every `taskOutputParameter`;
- a task's inputs: `componentInputParameter` (a pipeline parameter), `taskOutputParameter`
  (an upstream output, typed by the producer's outputDefinitions) and `runtimeValue.constant`,
  whose strings may embed `{{$.inputs.parameters['pipelinechannel--x']}}`: a constant that is
  exactly one such placeholder takes that input's typed value (as the driver does), one inside
  text or inside a dict or list is substituted as text (as the launcher does);
  inputs the task does not set take the component's defaultValue;
- the executor's command and args: `{{$.inputs.parameters['x']}}`, the JSON placeholders
  IfPresent (present = set by the task or defaulted) and Concat, and
  `{{$.outputs.parameters['o'].output_file}}` (a file in the step's folder of the run's temp dir);
  STRUCT and LIST values are rendered with every number a float, as protobuf Struct carries them;
- `{{workflow.uid}}` and `{{$.pipeline_job_uuid}}` are the run id.
Sub-DAGs (conditions, loops, nested pipelines), artifacts and importers are refused up front.
"""

from __future__ import annotations

import json
import re
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
from sagemaker_ack_kfp.localrun.values import BadValue, coerce, parse_text, to_text

FORM = "KFP SDK 2.x pipeline IR"
_INPUT = re.compile(r"""\{\{\$\.inputs\.parameters\[['"]([^'"\]]+)['"]\]\}\}""")
_OUTPUT_FILE = re.compile(r"""\{\{\$\.outputs\.parameters\[['"]([^'"\]]+)['"]\]\.output_file\}\}""")
_ANY_PLACEHOLDER = re.compile(r"\{\{\$[^}]*\}\}")
_UNSUPPORTED_TASK_KEYS = ("triggerPolicy", "parameterIterator", "artifactIterator", "iteratorPolicy")
_ABSENT = object()


def is_ir(doc: dict[str, Any]) -> bool:
    return "pipelineSpec" in doc or ("root" in doc and "deploymentSpec" in doc)


def _run_placeholders(run: RunContext, task: str) -> dict[str, str]:
    return {
        "{{workflow.uid}}": run.run_id,
        "{{$.pipeline_job_uuid}}": run.run_id,
        "{{$.pipeline_job_name}}": f"{run.pipeline_name}-{run.run_id[:8]}",
        "{{$.pipeline_job_resource_name}}": f"{run.pipeline_name}-{run.run_id[:8]}",
        "{{$.pipeline_task_name}}": task,
    }


@dataclass
class IRStep:
    name: str
    task: dict[str, Any]
    component: dict[str, Any]
    container: dict[str, Any]
    depends_on: tuple[str, ...]
    retries: int = 0

    @property
    def _input_types(self) -> dict[str, dict[str, Any]]:
        return (self.component.get("inputDefinitions") or {}).get("parameters") or {}

    @property
    def _output_types(self) -> dict[str, dict[str, Any]]:
        return (self.component.get("outputDefinitions") or {}).get("parameters") or {}

    # ----- the task's inputs, as the driver resolves them --------------------------------
    def _task_inputs(self, run: RunContext) -> dict[str, Any]:
        specs = (self.task.get("inputs") or {}).get("parameters") or {}
        resolved: dict[str, Any] = {}
        specials = _run_placeholders(run, self.name)

        def resolve(key: str, chain: tuple[str, ...] = ()) -> Any:
            if key in resolved:
                return resolved[key]
            if key in chain:
                raise ResolutionError(f"step {self.name}: input {key} refers to itself")
            if key not in specs:
                raise ResolutionError(f"step {self.name}: no task input {key!r}")
            spec = specs[key]
            if "componentInputParameter" in spec:
                value = run.params.get(spec["componentInputParameter"], _ABSENT)
            elif "taskOutputParameter" in spec:
                ref = spec["taskOutputParameter"]
                produced = run.outputs.get(ref["producerTask"], {})
                if ref["outputParameterKey"] not in produced:
                    raise ResolutionError(
                        f"step {self.name}: step {ref['producerTask']} produced no output {ref['outputParameterKey']}"
                    )
                value = produced[ref["outputParameterKey"]]
            elif "runtimeValue" in spec:
                value = constant(spec["runtimeValue"].get("constant"), (*chain, key))
            else:
                raise ResolutionError(f"step {self.name}: input {key} has an unsupported source {sorted(spec)}")
            resolved[key] = value
            return value

        def embedded(text: str, chain: tuple[str, ...]) -> str:
            for placeholder, value in specials.items():
                text = text.replace(placeholder, value)

            def replace(match: re.Match[str]) -> str:
                value = resolve(match.group(1), chain)
                if value is _ABSENT:
                    raise ResolutionError(f"step {self.name}: {match.group(0)} has no value")
                return to_text(value)

            return _INPUT.sub(replace, text)

        def constant(value: Any, chain: tuple[str, ...], *, top: bool = True) -> Any:
            if isinstance(value, str):
                exact = _INPUT.fullmatch(value)
                if top and exact:  # a constant that is exactly one channel: its typed value, as the driver does
                    return resolve(exact.group(1), chain)
                return embedded(value, chain)  # inside text, as the launcher substitutes it
            if isinstance(value, dict):
                return {k: constant(v, chain, top=False) for k, v in value.items()}
            if isinstance(value, list):
                return [constant(v, chain, top=False) for v in value]
            return value

        for key in specs:
            resolve(key)
        return resolved

    def _component_inputs(self, run: RunContext) -> dict[str, Any]:
        given = self._task_inputs(run)
        values: dict[str, Any] = {}
        for name, spec in self._input_types.items():
            value = given.get(name, _ABSENT)
            if value is _ABSENT and "defaultValue" in spec:
                value = spec["defaultValue"]
            if value is _ABSENT or value is None:
                if not spec.get("isOptional"):
                    raise ResolutionError(f"step {self.name}: required input {name} has no value")
                continue
            try:
                values[name] = coerce(value, spec.get("parameterType", "STRING"), what=f"step {self.name}: input {name}")
            except BadValue as exc:
                raise ResolutionError(str(exc)) from None
        return values

    # ----- the executor's command line, as the launcher renders it -----------------------
    def _render(self, item: Any, inputs: dict[str, Any], outputs: dict[str, Path], run: RunContext) -> list[str]:
        if isinstance(item, str) and item.startswith("{") and ('"IfPresent"' in item or '"Concat"' in item):
            try:
                item = json.loads(item)
            except json.JSONDecodeError:
                pass
        if isinstance(item, dict):
            if "IfPresent" in item:
                branch = item["IfPresent"]
                chosen = branch.get("Then" if branch["InputName"] in inputs else "Else") or []
                chosen = chosen if isinstance(chosen, list) else [chosen]
                return [part for sub in chosen for part in self._render(sub, inputs, outputs, run)]
            if "Concat" in item:
                return ["".join(part for sub in item["Concat"] for part in self._render(sub, inputs, outputs, run))]
            raise ResolutionError(f"step {self.name}: unsupported placeholder {json.dumps(item)}")
        text = str(item)
        for placeholder, value in _run_placeholders(run, self.name).items():
            text = text.replace(placeholder, value)

        def input_value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in inputs:
                raise ResolutionError(f"step {self.name}: input {name} has no value (and is not inside IfPresent)")
            return to_text(inputs[name])

        def output_file(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in outputs:
                raise ResolutionError(f"step {self.name}: the component declares no output parameter {name}")
            return str(outputs[name])

        text = _OUTPUT_FILE.sub(output_file, _INPUT.sub(input_value, text))
        left = _ANY_PLACEHOLDER.search(text)
        if left:
            raise ResolutionError(f"step {self.name}: the local runner cannot resolve {left.group(0)}")
        return [text]

    def invocation(self, run: RunContext) -> Invocation:
        inputs = self._component_inputs(run)
        root = run.task_dir(self.name) / "outputs"
        outputs = {name: root / name / "data" for name in self._output_types}
        # In pod mode the container writes /tmp/outputs/<o>/data, a hostPath backed by the same folder.
        in_pod = {name: Path("/tmp/outputs") / name / "data" for name in self._output_types}
        for path in outputs.values():
            path.parent.mkdir(parents=True, exist_ok=True)

        def render(items: list[Any], paths: dict[str, Path]) -> list[str]:
            return [part for item in items for part in self._render(item, inputs, paths, run)]

        command, args = self.container.get("command", []), self.container.get("args", [])
        argv = render([*command, *args], outputs)
        env = {}
        for item in self.container.get("env") or []:
            if "value" in item:
                [env[item["name"]]] = self._render(str(item["value"]), inputs, outputs, run)
        call = ContainerCall(
            image=str(self.container.get("image", "")),
            command=render(command, in_pod),
            args=render(args, in_pod),
            env=[{"name": key, "value": value} for key, value in env.items()],
            output_dirs={str(in_pod[name].parent): outputs[name].parent for name in outputs},
            labels={"pipelines.kubeflow.org/v2_component": "true"},
        )
        return Invocation(argv=argv, env=env, output_files=outputs, container=call)

    def collect(self, invocation: Invocation) -> Collected:
        values: dict[str, Any] = {}
        display: dict[str, str] = {}
        for name, path in invocation.output_files.items():
            if not path.is_file():
                raise ResolutionError(f"the step exited 0 but did not write output parameter {name} ({path})")
            text = path.read_text()
            kind = self._output_types[name].get("parameterType", "STRING")
            try:
                values[name] = parse_text(text, kind, what=f"output {name}")
            except BadValue as exc:
                raise ResolutionError(str(exc)) from None
            display[name] = text
        return Collected(values=values, display=display)


def _dependencies(name: str, task: dict[str, Any]) -> list[str]:
    deps = set(task.get("dependentTasks") or [])
    for spec in ((task.get("inputs") or {}).get("parameters") or {}).values():
        producer = (spec.get("taskOutputParameter") or {}).get("producerTask")
        if producer:
            deps.add(producer)
        if spec.get("parameterExpressionSelector"):
            raise PipelineError(f"task {name} selects a field of an input (parameterExpressionSelector); not supported locally")
        if "taskFinalStatus" in spec:
            raise PipelineError(f"task {name} reads a task's final status (an exit handler); not supported locally")
    return sorted(deps)


def _parameters(root: dict[str, Any], runtime_values: dict[str, Any]) -> dict[str, Parameter]:
    inputs = root.get("inputDefinitions") or {}
    if inputs.get("artifacts"):
        raise PipelineError("the pipeline takes input artifacts; the local runner passes parameters only")
    parameters = {}
    for name, spec in (inputs.get("parameters") or {}).items():
        kind = spec.get("parameterType", "STRING")
        default = runtime_values.get(name, spec.get("defaultValue"))
        if default is not None:
            try:
                default = coerce(default, kind, what=f"default of parameter {name}")
            except BadValue as exc:
                raise PipelineError(str(exc)) from None
        parameters[name] = Parameter(name=name, type=kind, default=default, required=not spec.get("isOptional"))
    return parameters


def load(doc: dict[str, Any]) -> tuple[Plan, list[str]]:
    runtime_values = ((doc.get("runtimeConfig") or {}).get("parameterValues") or {}) if "pipelineSpec" in doc else {}
    spec = doc.get("pipelineSpec", doc)
    components = spec.get("components") or {}
    executors = (spec.get("deploymentSpec") or {}).get("executors") or {}
    root = spec.get("root") or {}
    if "dag" not in root:
        raise PipelineError("the pipeline's root has no DAG")

    steps: dict[str, IRStep] = {}
    for name, task in (root["dag"].get("tasks") or {}).items():
        used = [key for key in _UNSUPPORTED_TASK_KEYS if key in task]
        if used:
            raise PipelineError(f"task {name} uses {', '.join(used)}; the local runner does not support conditions or loops")
        if (task.get("inputs") or {}).get("artifacts"):
            raise PipelineError(f"task {name} takes artifacts; the local runner passes parameters only")
        ref = (task.get("componentRef") or {}).get("name", "")
        component = components.get(ref)
        if component is None:
            raise PipelineError(f"task {name} names unknown component {ref!r}")
        if "dag" in component:
            raise PipelineError(f"task {name} runs a sub-DAG ({ref}); the local runner runs container steps only")
        if (component.get("outputDefinitions") or {}).get("artifacts"):
            raise PipelineError(f"task {name} produces artifacts; the local runner passes parameters only")
        executor = executors.get(component.get("executorLabel", ""), {})
        if "container" not in executor:
            what = next(iter(executor), "no executor")
            raise PipelineError(f"task {name} is not a container step ({what}); not supported locally")
        steps[name] = IRStep(
            name=name, task=task, component=component, container=executor["container"],
            depends_on=tuple(_dependencies(name, task)),
            retries=int((task.get("retryPolicy") or {}).get("maxRetryCount") or 0),
        )
    check_dag(steps)  # type: ignore[arg-type]
    pipeline = str((spec.get("pipelineInfo") or {}).get("name") or "pipeline")
    plan = Plan(form=FORM, name=pipeline, parameters=_parameters(root, runtime_values), steps=steps)  # type: ignore[arg-type]
    return plan, []
