"""The lifecycles the recorder drives each kind through, with the real controller.

A scenario gives a step's inputs (as a test would give them) and a lifecycle: what to wait for
and what the step (or a user) does in between. Failures come from the simulator's injection tags
(simulator/README.md, "Failure injection"): `sim/fail-reason` makes the job or endpoint fail,
`sim/validation-error` makes the create call fail so the controller keeps retrying
(ACK.Recoverable), `sim/phase-seconds` keeps a job running long enough to be stopped. A spec edit
of a running job is how ACK v1.9.1 ends a TrainingJob or a tuning job ACK.Terminal.

Every kind with a component has at least `success` and `recoverable`; tests that need another
lifecycle add it here and run `make record-statuses`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sagemaker_ack_kfp.completion import RECOVERABLE, TERMINAL, Expectation, Phase, conditions, judge
from sagemaker_ack_kfp.overlays import rules_for
from tests.support.manifests import (
    DEFINITION_PREFIXES,
    definition_arguments,
    endpoint_config_arguments,
    inference_component_arguments,
    inference_endpoint_config_arguments,
    labeling_arguments,
    model_arguments,
    model_package_arguments,
    model_package_group_arguments,
    pipeline_arguments,
    pipeline_execution_arguments,
    processing_arguments,
    schedule_arguments,
    tags,
    training_arguments,
    transform_arguments,
    tuning_arguments,
)

Predicate = Callable[[dict[str, Any], Expectation], bool]


class Prerequisites(Protocol):
    """What a scenario may ask the recorder for before its own resource is created."""

    namespace: str

    def ready(self, kind: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Create a resource of another kind as a step would, wait until it succeeded, return the
        step's outputs (e.g. model_name). Not recorded."""
        ...


# ----- lifecycle actions -------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    what: str
    predicate: Predicate
    timeout: float = 300.0


@dataclass(frozen=True)
class StepUpdate:
    """The same step run again with other inputs: it updates the resource in place."""

    changes: Callable[[Prerequisites], dict[str, Any]]


@dataclass(frozen=True)
class StepDelete:
    """The step is cancelled (SIGTERM, timeout_seconds, delete_on_cancel) and deletes its resource;
    the recording goes on until the resource is gone."""


@dataclass(frozen=True)
class Edit:
    """Someone else (a user) changes the resource's spec."""

    spec_patch: dict[str, Any]


Action = Wait | StepUpdate | StepDelete | Edit


@dataclass(frozen=True)
class Scenario:
    kind: str
    name: str
    description: str
    arguments: Callable[[Prerequisites], dict[str, Any]]
    lifecycle: tuple[Action, ...]
    # Seconds to go on recording after the last action, for the controller's trailing writes.
    settle: float = 3.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


# ----- predicates --------------------------------------------------------------------------


def _phase(kind: str, phase: Phase) -> Predicate:
    rules = rules_for(kind)
    return lambda obj, expectation: judge(obj, rules, expectation).phase is phase


def succeeded(kind: str) -> Wait:
    return Wait(f"{kind} succeeded (as a step judges it)", _phase(kind, Phase.SUCCEEDED))


def failed(kind: str) -> Wait:
    return Wait(f"{kind} failed (as a step judges it)", _phase(kind, Phase.FAILED))


def _condition_true(kind: str) -> Predicate:
    return lambda obj, _: (conditions(obj).get(kind) or {}).get("status") == "True"


RECOVERING = Wait("ACK.Recoverable True", _condition_true(RECOVERABLE))
TERMINATED = Wait("ACK.Terminal True", _condition_true(TERMINAL))
GONE = Wait("the resource deleted", lambda obj, _: bool(obj.get("_deleted")))


def status_is(kind: str, value: str) -> Wait:
    status_field = rules_for(kind).status_field
    assert status_field, f"{kind} has no status field"
    return Wait(f"{status_field} {value}", lambda obj, _: (obj.get("status") or {}).get(status_field) == value)


# ----- the scenarios -----------------------------------------------------------------------

FAIL_REASON = "AlgorithmError: recorded failure, exit code 1"
VALIDATION_ERROR = "Invalid ResourceConfig: ml.m5.huge is not a supported instance type (recorded rejection)"
ENDPOINT_FAIL_REASON = "Image pull failed for variant main (recorded failure)"
LONG = "30"  # phase seconds that keep a job running while the recorder acts on it
# A retrying controller writes several times a second: a short tail keeps those recordings small.
RECOVERING_SETTLE = 1.5


def _with_tags(arguments: dict[str, Any], **injections: str) -> dict[str, Any]:
    return {**arguments, "tags": tags(**injections)}


def _job_scenarios(kind: str, arguments: Callable[[Prerequisites], dict[str, Any]], *, running: str) -> list[Scenario]:
    return [
        Scenario(kind, "success", f"a {kind} runs to its success state", arguments, (succeeded(kind),)),
        Scenario(
            kind, "failure", f"a {kind} fails (sim/fail-reason): the status carries SageMaker's failureReason",
            lambda p: _with_tags(arguments(p), fail_reason=FAIL_REASON), (failed(kind),),
        ),
        Scenario(
            kind, "stop", f"a running {kind} is deleted by its step (SIGTERM, timeout_seconds): the controller stops the "
            "job and removes its finalizer",
            lambda p: _with_tags(arguments(p), phase_seconds=LONG),
            (status_is(kind, running), StepDelete(), GONE),
        ),
        Scenario(
            kind, "recoverable", f"SageMaker rejects the {kind}'s create (sim/validation-error): the controller keeps "
            "retrying with ACK.Recoverable",
            lambda p: _with_tags(arguments(p), validation_error=VALIDATION_ERROR), (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
    ]


def _model(p: Prerequisites) -> str:
    return str(p.ready("Model", model_arguments(p.namespace))["model_name"])


def _endpoint_config(p: Prerequisites, **extra: Any) -> str:
    return str(p.ready("EndpointConfig", endpoint_config_arguments(p.namespace, _model(p), **extra))["endpoint_config_name"])


def _definition(p: Prerequisites) -> str:
    outputs = p.ready("DataQualityJobDefinition", definition_arguments("DataQualityJobDefinition", p.namespace))
    return str(outputs["job_definition_name"])


def _training() -> list[Scenario]:
    kind = "TrainingJob"
    arguments: Callable[[Prerequisites], dict[str, Any]] = lambda p: training_arguments(p.namespace)
    terminal = Scenario(
        kind, "terminal", "a user edits a running TrainingJob's hyperparameters: ACK v1.9.1 calls its update and ends "
        "the resource ACK.Terminal ('only Warm Pool or Profiler can be updated'), as after a throttled late initialization",
        lambda p: _with_tags(arguments(p), phase_seconds=LONG),
        (status_is(kind, "InProgress"), Edit({"hyperParameters": {"k": "11"}}), TERMINATED),
    )
    return [*_job_scenarios(kind, arguments, running="InProgress"), terminal]


def _tuning() -> list[Scenario]:
    kind = "HyperParameterTuningJob"
    arguments: Callable[[Prerequisites], dict[str, Any]] = lambda p: tuning_arguments(p.namespace)
    terminal = Scenario(
        kind, "terminal", "a user edits a running tuning job: ACK v1.9.1 cannot update one and ends it ACK.Terminal "
        "('not implemented')",
        lambda p: _with_tags(arguments(p), phase_seconds=LONG),
        (status_is(kind, "InProgress"),
         Edit({"hyperParameterTuningJobConfig": {"resourceLimits": {"maxNumberOfTrainingJobs": 4, "maxParallelTrainingJobs": 3}}}),
         TERMINATED),
    )
    scenarios = _job_scenarios(kind, arguments, running="InProgress")
    scenarios[0] = Scenario(kind, "success", "a tuning job completes: the status names its best training job",
                            arguments, (succeeded(kind),))
    return [*scenarios, terminal]


def _hosting() -> list[Scenario]:
    endpoint = "Endpoint"

    def endpoint_arguments(p: Prerequisites, **extra: Any) -> dict[str, Any]:
        return {"namespace": p.namespace, "endpoint_config_name": _endpoint_config(p), **extra}

    return [
        Scenario("Model", "success", "a Model is created and synced", lambda p: model_arguments(p.namespace), (succeeded("Model"),)),
        Scenario(
            "Model", "recoverable", "SageMaker rejects the Model (sim/validation-error): ACK.Recoverable",
            lambda p: model_arguments(p.namespace, tags=tags(validation_error=VALIDATION_ERROR)), (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
        Scenario(
            "EndpointConfig", "success", "an EndpointConfig is created and synced",
            lambda p: endpoint_config_arguments(p.namespace, _model(p)), (succeeded("EndpointConfig"),),
        ),
        Scenario(
            "EndpointConfig", "recoverable", "SageMaker rejects the EndpointConfig (sim/validation-error): ACK.Recoverable",
            lambda p: endpoint_config_arguments(p.namespace, _model(p), tags=tags(validation_error=VALIDATION_ERROR)),
            (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
        Scenario(endpoint, "success", "an Endpoint is created and comes InService", endpoint_arguments, (succeeded(endpoint),)),
        Scenario(
            endpoint, "failure", "an Endpoint whose config fails (sim/fail-reason on the EndpointConfig) ends Failed",
            lambda p: {"namespace": p.namespace,
                       "endpoint_config_name": _endpoint_config(p, tags=tags(fail_reason=ENDPOINT_FAIL_REASON))},
            (failed(endpoint),),
        ),
        Scenario(
            endpoint, "update", "an InService Endpoint is updated by a step to a new endpoint config: the controller records "
            "the config in its annotation, goes Updating and back InService with a fresh ACK.ResourceSynced",
            endpoint_arguments,
            (succeeded(endpoint), StepUpdate(lambda p: {"endpoint_config_name": _endpoint_config(p)}), succeeded(endpoint)),
        ),
        Scenario(
            endpoint, "update-failure", "an Endpoint update to a config that SageMaker rolls back (sim/fail-reason on the "
            "new EndpointConfig): InService on the old config, failureReason set, ACK.ResourceSynced False",
            endpoint_arguments,
            (succeeded(endpoint),
             StepUpdate(lambda p: {"endpoint_config_name": _endpoint_config(p, tags=tags(fail_reason=ENDPOINT_FAIL_REASON))}),
             failed(endpoint)),
        ),
        Scenario(
            endpoint, "update-after-failure", "an Endpoint whose update SageMaker rolled back (ACK.Terminal) is updated "
            "again, to a good config: the controller takes the new update on and the endpoint comes back InService on it",
            endpoint_arguments,
            (succeeded(endpoint),
             StepUpdate(lambda p: {"endpoint_config_name": _endpoint_config(p, tags=tags(fail_reason=ENDPOINT_FAIL_REASON))}),
             failed(endpoint),
             StepUpdate(lambda p: {"endpoint_config_name": _endpoint_config(p)}),
             succeeded(endpoint)),
        ),
        Scenario(
            endpoint, "delete", "a Creating Endpoint is deleted by its step (delete_on_cancel=true): the controller deletes "
            "it in SageMaker and removes its finalizer",
            lambda p: endpoint_arguments(p, tags=tags(phase_seconds="15")),
            (status_is(endpoint, "Creating"), StepDelete(), GONE),
        ),
        Scenario(
            endpoint, "recoverable", "SageMaker rejects the Endpoint (sim/validation-error): ACK.Recoverable",
            lambda p: endpoint_arguments(p, tags=tags(validation_error=VALIDATION_ERROR)), (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
    ]


def _batch() -> list[Scenario]:
    return [
        *_job_scenarios(
            "TransformJob", lambda p: transform_arguments(p.namespace, _model(p)), running="InProgress"),
        *_job_scenarios("ProcessingJob", lambda p: processing_arguments(p.namespace), running="InProgress"),
    ]


def _monitoring() -> list[Scenario]:
    kind = "MonitoringSchedule"
    scenarios = [
        Scenario(kind, "success", "a MonitoringSchedule is created and Scheduled",
                 lambda p: schedule_arguments(p.namespace, _definition(p)), (succeeded(kind),)),
        Scenario(kind, "failure", "a MonitoringSchedule fails (sim/fail-reason)",
                 lambda p: schedule_arguments(p.namespace, _definition(p), tags=tags(fail_reason=FAIL_REASON)), (failed(kind),)),
        Scenario(
            kind, "update", "a Scheduled MonitoringSchedule is updated by a step to a new schedule: Pending, then Scheduled "
            "with a fresh ACK.ResourceSynced",
            lambda p: schedule_arguments(p.namespace, _definition(p)),
            (succeeded(kind),
             StepUpdate(lambda p: {"monitoring_schedule_config": schedule_arguments(
                 p.namespace, _definition(p), cron="cron(0 0 ? * * *)")["monitoring_schedule_config"]}),
             succeeded(kind)),
        ),
        Scenario(
            kind, "recoverable", "SageMaker rejects the MonitoringSchedule (sim/validation-error): ACK.Recoverable",
            lambda p: schedule_arguments(p.namespace, _definition(p), tags=tags(validation_error=VALIDATION_ERROR)),
            (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
    ]
    for definition in DEFINITION_PREFIXES:
        arguments = lambda p, d=definition: definition_arguments(d, p.namespace)  # noqa: E731
        scenarios += [
            Scenario(definition, "success", f"a {definition} is created and synced", arguments, (succeeded(definition),)),
            Scenario(
                definition, "recoverable", f"SageMaker rejects the {definition} (sim/validation-error): ACK.Recoverable",
                lambda p, d=definition: definition_arguments(d, p.namespace, tags=tags(validation_error=VALIDATION_ERROR)),
                (RECOVERING,), settle=RECOVERING_SETTLE,
            ),
        ]
    return scenarios


# ----- model registry, inference components, Ground Truth, SageMaker Pipelines -------------

MODEL_PACKAGE_FAIL_REASON = "Transform job failed: ClientError: no rows in the validation input (recorded failure)"
COMPONENT_FAIL_REASON = "Model failed its container health check (recorded failure)"
EXECUTION_FAIL_REASON = "Step Train failed: AlgorithmError: recorded failure"
# A parameter the pipeline definition does not declare: StartPipelineExecution's ValidationException,
# which the controller retries. Executions take no tags, so this is their recoverable rejection; the
# name is long enough to be recorded as the spec's (so a replay names the step's own parameter).
UNDECLARED_PARAMETER = "EpochsToTrain"
# A model version is Pending, then validated (InProgress), then Completed; the controller reads it
# once right after its create, again about a second later, then every 30 s. With the simulator's
# one-second phases that second read fell on the Pending/InProgress boundary, so whether a
# recording showed InProgress was a matter of load. Longer phases keep both early reads Pending
# and the version done long before the 30 s read.
PACKAGE_PHASE_SECONDS = "5"


def _group(p: Prerequisites) -> str:
    arguments = model_package_group_arguments(p.namespace, "")
    del arguments["model_package_group_name"]  # named after the prerequisite's run and task
    return str(p.ready("ModelPackageGroup", arguments)["model_package_group_name"])


def _registry() -> list[Scenario]:
    group, package = "ModelPackageGroup", "ModelPackage"

    def group_arguments(p: Prerequisites, **extra: Any) -> dict[str, Any]:
        arguments = model_package_group_arguments(p.namespace, "", **extra)
        del arguments["model_package_group_name"]
        return arguments

    return [
        Scenario(group, "success", "a ModelPackageGroup is created and Completed", group_arguments, (succeeded(group),)),
        Scenario(
            group, "recoverable", "SageMaker rejects the ModelPackageGroup (sim/validation-error): ACK.Recoverable",
            lambda p: group_arguments(p, tags=tags(validation_error=VALIDATION_ERROR)), (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
        Scenario(
            package, "success", "a model version is registered in a group (SageMaker numbers it) and Completed",
            lambda p: model_package_arguments(p.namespace, _group(p), tags=tags(phase_seconds=PACKAGE_PHASE_SECONDS)),
            (succeeded(package),),
        ),
        Scenario(
            package, "failure", "a model version fails its validation (sim/fail-reason): Failed, SageMaker's reason in "
            "modelPackageStatusDetails",
            lambda p: model_package_arguments(
                p.namespace, _group(p), tags=tags(fail_reason=MODEL_PACKAGE_FAIL_REASON, phase_seconds=PACKAGE_PHASE_SECONDS)),
            (failed(package),),
        ),
        Scenario(
            package, "update", "a Completed model version is approved by a step (model_approval_status Approved): the "
            "controller calls UpdateModelPackage and the version is Completed again",
            lambda p: model_package_arguments(p.namespace, _group(p), tags=tags(phase_seconds=PACKAGE_PHASE_SECONDS)),
            (succeeded(package),
             StepUpdate(lambda p: {"model_approval_status": "Approved", "approval_description": "metrics within bounds"}),
             succeeded(package)),
        ),
        Scenario(
            package, "recoverable", "SageMaker rejects the model version (sim/validation-error): ACK.Recoverable",
            lambda p: model_package_arguments(p.namespace, _group(p), tags=tags(validation_error=VALIDATION_ERROR)),
            (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
    ]


def _inference_components() -> list[Scenario]:
    kind = "InferenceComponent"

    def endpoint(p: Prerequisites) -> str:
        config = p.ready("EndpointConfig", inference_endpoint_config_arguments(p.namespace))["endpoint_config_name"]
        return str(p.ready("Endpoint", {"namespace": p.namespace, "endpoint_config_name": config})["endpoint_name"])

    def model(p: Prerequisites, **extra: Any) -> str:
        return str(p.ready("Model", model_arguments(p.namespace, **extra))["model_name"])

    def broken_model(p: Prerequisites) -> str:
        return model(p, tags=tags(fail_reason=COMPONENT_FAIL_REASON))

    def arguments(p: Prerequisites, **extra: Any) -> dict[str, Any]:
        return inference_component_arguments(p.namespace, endpoint(p), model(p), **extra)

    def specification(model_name: str) -> dict[str, Any]:
        return inference_component_arguments("unused", "unused", model_name)["specification"]

    return [
        Scenario(kind, "success", "an InferenceComponent is deployed onto an endpoint and comes InService", arguments,
                 (succeeded(kind),)),
        Scenario(
            kind, "failure", "an InferenceComponent of a model that fails (sim/fail-reason on the Model) ends Failed",
            lambda p: inference_component_arguments(p.namespace, endpoint(p), broken_model(p)), (failed(kind),),
        ),
        Scenario(
            kind, "update", "an InService InferenceComponent is scaled by a step (copyCount 1 -> 3): the controller records "
            "the spec in its last-spec-for-update annotation, goes Updating and back InService with a fresh ACK.ResourceSynced",
            arguments,
            (succeeded(kind), StepUpdate(lambda p: {"runtime_config": {"copyCount": 3}}), succeeded(kind)),
        ),
        Scenario(
            kind, "update-failure", "an InferenceComponent update to a model that SageMaker rolls back (sim/fail-reason on "
            "the new Model): InService on the old model, failureReason set, ACK.Terminal",
            arguments,
            (succeeded(kind), StepUpdate(lambda p: {"specification": specification(broken_model(p))}), failed(kind)),
        ),
        Scenario(
            kind, "recoverable", "SageMaker rejects the InferenceComponent (sim/validation-error): ACK.Recoverable",
            lambda p: arguments(p, tags=tags(validation_error=VALIDATION_ERROR)), (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
    ]


def _labeling() -> list[Scenario]:
    return _job_scenarios("LabelingJob", lambda p: labeling_arguments(p.namespace), running="InProgress")


def _pipelines() -> list[Scenario]:
    pipeline, execution = "Pipeline", "PipelineExecution"

    def pipeline_of(p: Prerequisites, **extra: Any) -> dict[str, Any]:
        arguments = pipeline_arguments(p.namespace, "", **extra)
        del arguments["pipeline_name"]  # named after the run and task
        return arguments

    def defined(p: Prerequisites, **extra: Any) -> str:
        return str(p.ready(pipeline, pipeline_of(p, **extra))["pipeline_name"])

    return [
        Scenario(pipeline, "success", "a Pipeline is defined and Active", pipeline_of, (succeeded(pipeline),)),
        Scenario(
            pipeline, "recoverable", "SageMaker rejects the Pipeline (sim/validation-error): ACK.Recoverable",
            lambda p: pipeline_of(p, tags=tags(validation_error=VALIDATION_ERROR)), (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
        Scenario(execution, "success", "a PipelineExecution runs to Succeeded",
                 lambda p: pipeline_execution_arguments(p.namespace, defined(p)), (succeeded(execution),)),
        Scenario(
            execution, "failure", "a PipelineExecution fails at its last step (sim/fail-reason on the Pipeline): Failed "
            "with SageMaker's failureReason",
            lambda p: pipeline_execution_arguments(p.namespace, defined(p, tags=tags(fail_reason=EXECUTION_FAIL_REASON))),
            (failed(execution),),
        ),
        Scenario(
            execution, "stop", "an Executing PipelineExecution is deleted by its step (SIGTERM, timeout_seconds): the "
            "controller calls StopPipelineExecution and removes its finalizer",
            lambda p: pipeline_execution_arguments(p.namespace, defined(p, tags=tags(phase_seconds=LONG))),
            (status_is(execution, "Executing"), StepDelete(), GONE),
        ),
        Scenario(
            execution, "recoverable", "SageMaker refuses to start the execution (a parameter the definition does not "
            "declare: ValidationException): the controller keeps retrying with ACK.Recoverable",
            lambda p: pipeline_execution_arguments(
                p.namespace, defined(p), pipeline_parameters=[{"name": UNDECLARED_PARAMETER, "value": "3"}]),
            (RECOVERING,), settle=RECOVERING_SETTLE,
        ),
    ]


SCENARIOS: tuple[Scenario, ...] = (
    *_training(), *_tuning(), *_hosting(), *_batch(), *_monitoring(),
    *_registry(), *_inference_components(), *_labeling(), *_pipelines(),
)


def select(kinds: list[str] | None = None, names: list[str] | None = None) -> list[Scenario]:
    chosen = [s for s in SCENARIOS if (not kinds or s.kind in kinds) and (not names or s.name in names)]
    if not chosen:
        raise ValueError(f"no scenario matches kinds={kinds} names={names}")
    return chosen
