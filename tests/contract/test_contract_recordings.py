"""The recordings themselves: one for every scenario the recorder knows, each naming the controller
release and the date it was recorded, every placeholder resolvable, and the same shapes as the
controller produces today (re-recorded and compared when the controller runs)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from sagemaker_ack_kfp.codegen.ack_release import pinned_versions
from sagemaker_ack_kfp.kinds import known_kinds, load_kind
from sagemaker_ack_kfp.overlays import rules_for
from tests.contract.recorder import record_all
from tests.contract.recording import (
    CREATE,
    STEP,
    Bindings,
    Recording,
    load,
    recorded_kinds,
    scenarios,
    shape_differences,
)
from tests.contract.scenarios import SCENARIOS
from tests.support.cluster import Cluster

ALL = [load(kind, name) for kind in recorded_kinds() for name in scenarios(kind)]
IDS = [f"{recording.kind}/{recording.scenario}" for recording in ALL]


def test_every_scenario_is_recorded_and_every_kind_has_a_scenario() -> None:
    assert sorted(IDS) == sorted(scenario.key for scenario in SCENARIOS)
    assert set(recorded_kinds()) == set(known_kinds())


@pytest.mark.parametrize("recording", ALL, ids=IDS)
def test_a_recording_names_its_controller_and_date_and_starts_with_the_steps_create(recording: Recording) -> None:
    assert recording.controller["version"] == pinned_versions()["ACK_SAGEMAKER_CONTROLLER_VERSION"]
    assert recording.controller["module"] == "github.com/aws-controllers-k8s/sagemaker-controller"
    assert datetime.date.fromisoformat(recording.recorded) <= datetime.date.today()
    first = recording.events[0]
    assert (first.type, first.by, first.action) == ("ADDED", STEP, CREATE)
    assert recording.controller_events, "the controller wrote nothing"
    assert "/tmp/" not in recording.path.read_text()  # nothing of the machine it was recorded on


@pytest.mark.parametrize("recording", ALL, ids=IDS)
def test_every_placeholder_resolves(recording: Recording) -> None:
    """Replayed with other values (a name, namespace and spec of another step), no placeholder is
    left and none of the recorded run's own values remains."""
    spec = {key: value for key, value in recording.events[0].object["spec"].items() if "{{" not in str(value)}
    bindings = Bindings(recording, name="replayed-name", namespace="replayed-namespace", spec=spec, run_id="replayed-run")
    bindings.previous_spec = spec
    recorded_name = recording.placeholders["{{name}}"]
    for event in recording.events:
        text = str(bindings.apply(event.object))
        assert "{{" not in text
        assert recorded_name not in text and recording.placeholders["{{namespace}}"] not in text
    assert all(re.fullmatch(r"\{\{[a-z_]+(:[^{}]+)?\}\}", placeholder) for placeholder in recording.placeholders)
    # The step's spec names the resource, or, for one SageMaker names itself (a model version),
    # the field that makes SageMaker name it.
    spec = recording.events[0].object["spec"]
    assert load_kind(recording.kind).name_field in spec or rules_for(recording.kind).unnamed_with in spec


@pytest.mark.integration
@pytest.mark.controller
@pytest.mark.slow
def test_the_recordings_match_the_running_controller(cluster: Cluster, tmp_path: Path) -> None:
    """Every scenario recorded afresh with the controller in the stack: what it writes has the
    recorded shapes (conditions and their order, status fields and their types, finalizers,
    annotations, the order of status values); timestamps and names may differ. A difference means
    the controller changed: run `make record-statuses`, then see which contract tests fail."""
    fresh, failures = record_all(list(SCENARIOS), kubeconfig=cluster.kubeconfig, output=tmp_path / "recordings")
    assert not failures, failures
    differences = {key: shape_differences(load(*key.split("/")), recording) for key, recording in fresh.items()}
    changed = {key: problems for key, problems in differences.items() if problems}
    assert not changed, "\n".join(f"{key}:\n  " + "\n  ".join(problems) for key, problems in sorted(changed.items()))
