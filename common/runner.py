"""The flow every component runs, top to bottom:

    inputs -> spec -> name -> validate -> render -> create or reattach -> wait -> outputs

Nothing reaches the cluster before the inputs are valid. SIGTERM and timeout_seconds stop a job
(its custom resource is deleted, and the controller stops the SageMaker job); hosting resources
are never deleted unless the kind's overlay allows it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sagemaker_ack_kfp import identity as identities
from sagemaker_ack_kfp import logstreaming
from sagemaker_ack_kfp.applying import apply
from sagemaker_ack_kfp.cancelling import cancellable, shielded
from sagemaker_ack_kfp.completion import Expectation, KindRules, Phase, controller_has_acted, judge
from sagemaker_ack_kfp.errors import Cancelled, InputError, NoController, ResourceFailed, StepError, TimedOut
from sagemaker_ack_kfp.inputs import Problem, parse_inputs
from sagemaker_ack_kfp.kinds import KindInfo, load_kind
from sagemaker_ack_kfp.kube import Kube, ResourceRef
from sagemaker_ack_kfp.naming import (
    sagemaker_name,
    SPEC_HASH_ANNOTATION,
    TASK_ANNOTATION,
    generated_name,
    labels_for,
    object_name,
    spec_hash,
)
from sagemaker_ack_kfp.outputs import generic_outputs, write_outputs
from sagemaker_ack_kfp.overlays import rules_for
from sagemaker_ack_kfp.progress import Progress, console_links
from sagemaker_ack_kfp.redacting import Redactor
from sagemaker_ack_kfp.validating import coerce_integers, format_problems, validate_spec

# ACK's per-resource region; without it the controller uses its own default region.
REGION_ANNOTATION = "services.k8s.aws/region"
# ACK's adoption policy (runtime feature gate ResourceAdoption, on by default): with
# "adopt-or-create" the controller adopts a SageMaker resource of that name if there is one.
ADOPTION_POLICY_ANNOTATION = "services.k8s.aws/adoption-policy"
# A watch window when no deadline is due: long, so requests per step stay flat in job length.
MAX_WINDOW_SECONDS = 1800.0


@dataclass
class StepRequest:
    kind: str
    raw_inputs: dict[str, str]
    output_paths: dict[str, str]
    region: str = ""
    namespace: str = ""
    timeout_seconds: float = 0  # 0: no limit
    recoverable_grace_seconds: float = 300
    no_controller_seconds: float = 120
    stream_logs: str = "auto"  # logstreaming.MODES
    run_id_arg: str = ""
    switches: dict[str, Any] = field(default_factory=dict)


def prepare_spec(
    kind: KindInfo, raw_inputs: dict[str, str], *, redactor: Redactor | None = None, max_name_length: int = 63
) -> dict[str, Any]:
    """Inputs -> a validated spec; raises InputError listing every problem. No cluster access.

    The redactor learns the secrets among the inputs before any problem is reported, so an error
    about a bad environment value cannot echo it. `max_name_length` is SageMaker's limit on the
    kind's name (63 for most; longer for a pipeline and an execution's display name)."""
    if redactor is not None:
        redactor.learn_raw_inputs(raw_inputs)
    parsed = parse_inputs(kind, raw_inputs)
    if redactor is not None:
        redactor.learn(parsed.spec)
    spec = coerce_integers(kind.spec_schema, parsed.spec)
    # The name may be generated later from the step's identity; validate the rest now.
    probe = {**spec, kind.name_field: spec.get(kind.name_field) or "placeholder-name"}
    problems = [*parsed.problems, *validate_spec(kind, probe, skip_inputs=parsed.failed_inputs)]
    given = spec.get(kind.name_field)
    if isinstance(given, str) and given and not sagemaker_name(max_name_length).match(given):
        problems.append(
            Problem(
                kind.name_input.name,
                f"'{given}' is not a valid SageMaker name: at most {max_name_length} letters, digits and hyphens, "
                "starting with a letter or digit",
                f"spec.{kind.name_field}",
            )
        )
    if problems:
        raise InputError(format_problems(kind.kind, problems))
    return dict(spec)


def check_kind_rules(kind: KindInfo, rules: KindRules, spec: dict[str, Any]) -> None:
    """What a kind's rules add to its schema: a resource SageMaker names itself when
    `unnamed_with` is set (a model version in a group) takes the name field or that field, not
    both (SageMaker refuses both); and the fields the CRD leaves optional that the controller
    cannot do without (`required_fields`)."""
    problems = []
    if rules.unnamed_with and spec.get(rules.unnamed_with) and spec.get(kind.name_field):
        named, unnamed = kind.name_input.name, kind.input_name(rules.unnamed_with)
        problems.append(
            Problem(
                named,
                f"give '{named}' or '{unnamed}', not both: with '{unnamed}' SageMaker names the "
                f"{kind.kind} itself (a new version in that group), so leave '{named}' out; without it, "
                f"'{named}' names an unversioned {kind.kind}",
                f"spec.{kind.name_field}",
            )
        )
    for field, why in rules.required_fields.items():
        if spec.get(field) in (None, ""):
            problems.append(Problem(kind.input_name(field), f"is required here: {why}", f"spec.{field}"))
    if problems:
        raise InputError(format_problems(kind.kind, problems))


def with_service_defaults(spec: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with SageMaker's value for each defaulted field the user left out. A nested
    field is filled only where its parent object is there, as ACK late-initializes it."""
    filled = copy.deepcopy(spec)
    for path, value in defaults.items():
        *parents, leaf = path.split(".")
        target: Any = filled
        for part in parents:
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict) and target.get(leaf) is None:
            target[leaf] = value
    return filled


def with_kind_defaults(spec: dict[str, Any], rules: KindRules) -> dict[str, Any]:
    """The spec with the kind's SageMaker defaults, and those of a resource SageMaker names itself."""
    spec = with_service_defaults(spec, rules.service_defaults)
    if rules.unnamed_with and spec.get(rules.unnamed_with):
        spec = with_service_defaults(spec, rules.unnamed_defaults)
    return spec


@dataclass(frozen=True)
class Naming:
    name: str  # the SageMaker name the step shows (for a resource SageMaker names: the derived one)
    resource_name: str  # the custom resource's metadata.name
    derived: bool = False  # the name field was empty and now holds the derived name
    named_by_sagemaker: bool = False  # `unnamed_with` is set: the spec carries no name


def resolve_names(kind: KindInfo, rules: KindRules, spec: dict[str, Any], identity: identities.StepIdentity) -> Naming:
    """The SageMaker name and the custom resource's name of a step's resource; fills in the name
    field when the user left it out and the kind has one to fill. The derived name comes from the
    KFP run and task (or, without them, the spec): a retried step finds what it created."""
    derived = generated_name(prefix=rules.name_prefix, identity=identity, spec=spec)
    if rules.unnamed_with and spec.get(rules.unnamed_with):
        return Naming(derived, object_name(derived), named_by_sagemaker=True)
    filled = not spec.get(kind.name_field)
    if filled:
        spec[kind.name_field] = derived
    name = str(spec[kind.name_field])
    return Naming(name, object_name(name if rules.unique_name else derived), derived=filled)


def render(
    kind: KindInfo,
    spec: dict[str, Any],
    *,
    namespace: str,
    region: str,
    identity: identities.StepIdentity,
    name: str,
    adopt_existing: bool = False,
) -> dict[str, Any]:
    annotations = {SPEC_HASH_ANNOTATION: spec_hash(spec)}
    if region:
        annotations[REGION_ANNOTATION] = region
    if adopt_existing:
        annotations[ADOPTION_POLICY_ANNOTATION] = "adopt-or-create"
    if identity.task:
        annotations[TASK_ANNOTATION] = identity.task
    return {
        "apiVersion": f"{kind.group}/{kind.version}",
        "kind": kind.kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels_for(identity),
            "annotations": annotations,
        },
        "spec": spec,
    }


class Step:
    def __init__(
        self, request: StepRequest, *, connect: Callable[[], Kube], progress: Progress, redactor: Redactor
    ) -> None:
        self.request = request
        self._connect = connect
        self.kube: Kube
        self.progress = progress
        self.redactor = redactor
        self.kind = load_kind(request.kind)
        self.rules: KindRules = rules_for(request.kind)
        self.ref: ResourceRef | None = None
        self.logs: logstreaming.LogStreaming | None = None

    def run(self) -> dict[str, Any]:
        request, kind = self.request, self.kind
        spec = prepare_spec(kind, request.raw_inputs, redactor=self.redactor, max_name_length=self.rules.max_name_length)
        check_kind_rules(kind, self.rules, spec)
        spec = with_kind_defaults(spec, self.rules)
        # Only valid inputs get as far as the cluster (and its credentials).
        self.kube = self._connect()
        namespace = request.namespace or self.kube.default_namespace()
        region = request.region
        identity = identities.resolve(run_id_arg=request.run_id_arg, namespace=namespace, read_pod=self.kube.read_pod)
        name, resource_name = self._names(spec, identity)
        self.ref = ResourceRef(kind.group, kind.version, kind.plural, kind.kind, namespace, resource_name)
        body = render(
            kind, spec, namespace=namespace, region=region, identity=identity, name=resource_name,
            adopt_existing=self.rules.adopt_existing,
        )

        started = time.monotonic()
        try:
            with cancellable():
                applied = apply(
                    self.kube, self.ref, body,
                    update_on_conflict=self.rules.on_conflict == "update", updatable=self.rules.updatable_fields,
                )
                verb = {"created": "created", "reattached": "reattached to the existing", "updated": "updated the existing"}
                self.progress.say(f"{verb[applied.outcome]} {self.ref.describe()}" + (f" in region {region}" if region else ""))
                expectation = Expectation(
                    spec=spec, updated=bool(applied.updated_at), updated_at=applied.updated_at
                )
                final = self._wait(started, name=name, region=region, expectation=expectation)
        except (Cancelled, TimedOut):
            self._finish_logs(drain=False)
            self._stop()
            raise
        except ResourceFailed:
            self._finish_logs(drain=True)  # a failed job's last lines say why
            raise
        except BaseException:
            self._finish_logs(drain=False)
            raise
        self._finish_logs(drain=True)
        return {**generic_outputs(kind, final), **self.rules.outputs(final)}

    def _finish_logs(self, *, drain: bool) -> None:
        if self.logs is not None:
            self.logs.finish(drain=drain)

    def _names(self, spec: dict[str, Any], identity: identities.StepIdentity) -> tuple[str, str]:
        naming = resolve_names(self.kind, self.rules, spec, identity)
        origin = f"run {identity.run_id}, task {identity.task}" if identity.known else "the inputs (no KFP run identity)"
        if naming.named_by_sagemaker:
            unnamed = self.rules.unnamed_with or ""
            self.progress.say(
                f"{self.kind.kind} resource {naming.resource_name} (derived from {origin}); SageMaker names the "
                f"{self.kind.kind} itself ({self.kind.input_name(unnamed)}={spec[unnamed]})"
            )
        elif naming.derived:
            self.progress.say(f"{self.kind.kind} name {naming.name} (derived from {origin})")
        return naming.name, naming.resource_name

    def _wait(self, started: float, *, name: str, region: str, expectation: Expectation) -> dict[str, Any]:
        assert self.ref is not None
        request, rules = self.request, self.rules
        links_shown = False
        logs_considered = False
        acted = False
        recoverable_since: float | None = None
        recoverable_message = ""

        def window() -> float:
            now = time.monotonic()
            due = []
            if request.timeout_seconds:
                due.append(started + request.timeout_seconds)
            if not acted:
                due.append(started + request.no_controller_seconds)
            if recoverable_since is not None:
                due.append(recoverable_since + request.recoverable_grace_seconds)
            if not due:
                return MAX_WINDOW_SECONDS
            return min(MAX_WINDOW_SECONDS, max(1.0, min(due) - now + 0.5))

        from sagemaker_ack_kfp.watching import follow

        for obj in follow(self.kube, self.ref, window=window, on_reconnect=self.progress.say):
            now = time.monotonic()
            if obj is not None:
                # The region is known once the controller has recorded it (or the user gave it).
                region = region or ((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("region", "")
                if region and not links_shown:
                    links_shown = True
                    for link in console_links(rules, name=name, region=region):
                        self.progress.say(link)
                self.progress.update(obj, rules)
                acted = acted or controller_has_acted(obj)
                if acted and region and not logs_considered:
                    # The job exists now; its logs are followed beside the watch, never instead of it.
                    logs_considered = True
                    self.logs = logstreaming.start(
                        request.stream_logs, rules, name=name, region=region, progress=self.progress, redactor=self.redactor
                    )
                verdict = judge(obj, rules, expectation)
                if verdict.phase is Phase.SUCCEEDED:
                    return obj
                if verdict.phase is Phase.FAILED:
                    raise ResourceFailed(f"{self.ref.describe()} failed: {verdict.reason}")
                if verdict.recoverable:
                    recoverable_since = recoverable_since or now
                    recoverable_message = verdict.recoverable
                else:
                    recoverable_since = None
            if request.timeout_seconds and now - started >= request.timeout_seconds:
                raise TimedOut(f"{self.ref.describe()} did not finish within timeout_seconds={request.timeout_seconds:g}")
            if not acted and now - started >= request.no_controller_seconds:
                raise NoController(
                    f"no ACK controller acted on {self.ref.describe()} within {request.no_controller_seconds:g}s "
                    f"(its status is still empty). Is the ACK sagemaker-controller installed and running, and does it "
                    f"watch namespace '{self.ref.namespace}'?"
                )
            if recoverable_since is not None and now - recoverable_since >= request.recoverable_grace_seconds:
                raise ResourceFailed(
                    f"{self.ref.describe()}: the controller kept retrying for {request.recoverable_grace_seconds:g}s "
                    f"(ACK.Recoverable): {recoverable_message}"
                )
        raise AssertionError("follow() ended")  # pragma: no cover - follow never ends by itself

    def _deletes_on_cancel(self) -> bool:
        if self.rules.stop_on_cancel:
            return True
        if self.rules.delete_on_cancel_switch:
            return str(self.request.switches.get("delete_on_cancel", "")).strip().lower() in ("true", "1")
        return False

    def _stop(self) -> None:
        """Stop the job by deleting its custom resource (the controller calls Stop*)."""
        if self.ref is None or not self._deletes_on_cancel():
            if self.ref is not None:
                self.progress.say(
                    f"leaving {self.ref.describe()} in place ({self.rules.kind} resources are not deleted on cancel"
                    + (" unless delete_on_cancel is true)" if self.rules.delete_on_cancel_switch else ")")
                )
            return
        with shielded():
            try:
                if self.kube.delete(self.ref, give_up_after=20):
                    what = "the controller stops the SageMaker job" if self.rules.stop_on_cancel else "as delete_on_cancel asked"
                    self.progress.say(f"deleted {self.ref.describe()}; {what}")
            except StepError as exc:
                self.progress.say(f"could not delete {self.ref.describe()} to stop the job: {exc.message}")


def run_step(request: StepRequest, *, connect: Callable[[], Kube], progress: Progress, redactor: Redactor) -> None:
    step = Step(request, connect=connect, progress=progress, redactor=redactor)
    outputs = step.run()
    write_outputs(outputs, request.output_paths)
    progress.say(f"{request.kind} done; outputs written: {', '.join(sorted(request.output_paths)) or 'none'}")
