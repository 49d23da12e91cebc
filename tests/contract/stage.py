"""What a contract test works with: a namespace on a real API server where no controller runs,
steps run exactly as KFP runs them, and replays of the real controller's recordings.

    def test_x(contract: Contract) -> None:
        run = contract.start("TrainingJob", training_arguments(contract.namespace))
        replay = contract.replay("TrainingJob", "success")
        replay.play()
        result = run.finish()
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from sagemaker_ack_kfp.kinds import load_kind
from tests.contract.recording import load
from tests.contract.replay import Chooser, Replayer, ReplayingController, by_injection_tags
from tests.faults.harness import Running
from tests.support.cluster import Cluster
from tests.support.component_command import ComponentStep


# The replays' User-Agent, so that the audit log tells their requests from the step's.
REPLAYER_AGENT = "sagemaker-ack-kfp-contract-replayer"


@dataclass
class Contract:
    cluster: Cluster
    namespace: str
    workdir: Path
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def api(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.cluster.admin())

    # ----- steps -------------------------------------------------------------------------
    def step(
        self, kind: str, arguments: dict[str, Any], *, run_id: str | None = None, task: str | None = "step",
        env: dict[str, str] | None = None, kubeconfig: Path | None = None,
    ) -> ComponentStep:
        """A step of `kind`, as KFP runs it; `namespace` defaults to the test's (None: not given)."""
        given = {key: value for key, value in {"namespace": self.namespace, **arguments}.items() if value is not None}
        return ComponentStep(
            kind, given, kubeconfig=kubeconfig or self.cluster.kubeconfig,
            workdir=self.workdir / f"{kind}-{next(self._counter)}", run_id=run_id or str(uuid.uuid4()), task=task, env=env,
        )

    def start(self, kind: str, arguments: dict[str, Any], **options: Any) -> Running:
        """Start a step; read its output line by line while it runs (Running.wait_for_line)."""
        return Running(self.step(kind, arguments, **options))

    # ----- the controller's part ---------------------------------------------------------
    def _replayer_client(self) -> client.ApiClient:
        api_client = self.cluster.admin()
        api_client.user_agent = REPLAYER_AGENT
        return api_client

    def replay(self, kind: str, scenario: str, *, name: str | None = None, timeout: float = 120.0) -> Replayer:
        """A replay of recordings/<kind>/<scenario>.json onto the step's resource (attach() waits for it)."""
        return Replayer(self._replayer_client(), load(kind, scenario), namespace=self.namespace, name=name, timeout=timeout)

    def replaying_controller(self, *, choose: Chooser = by_injection_tags) -> ReplayingController:
        return ReplayingController(self._replayer_client(), self.namespace, choose=choose)

    # ----- what the API server holds -----------------------------------------------------
    def resources(self, kind: str) -> list[dict[str, Any]]:
        info = load_kind(kind)
        return list(self.api.list_namespaced_custom_object(info.group, info.version, self.namespace, info.plural)["items"])

    def requests(self, kind: str, verb: str) -> list[dict[str, Any]]:
        """The audit log's record of every `verb` request on `kind` in this namespace but the
        replays', in order (the local stack's API server logs each request's metadata, URI and
        response code)."""
        assert self.cluster.stack is not None, "the audit log exists on the local stack only"
        plural = load_kind(kind).plural
        found = []
        for line in self.cluster.stack.layout.audit_log.read_text().splitlines():
            entry = json.loads(line)
            ref = entry.get("objectRef") or {}
            if (entry.get("stage") == "ResponseComplete" and entry.get("verb") == verb and ref.get("resource") == plural
                    and ref.get("namespace") == self.namespace and not ref.get("subresource")
                    and entry.get("userAgent") != REPLAYER_AGENT):
                found.append(entry)
        return found
