"""`sagemaker-ack-kfp <command>`: one console script for everything the project ships.

  component   run one component step (what the container runs)
  run-local   run a compiled KFP pipeline (1.8 Argo YAML or 2.x IR) against a cluster, step by step
  stack       start/stop the local control plane (etcd, kube-apiserver, ACK controller, simulator)
  simulator   run or inspect the SageMaker API simulator
  rbac        grant a pipeline's service account exactly what the components need
"""

from __future__ import annotations

import importlib
import sys

_COMMANDS = {
    "component": "sagemaker_ack_kfp.component",
    "run-local": "sagemaker_ack_kfp.localrun.__main__",
    "stack": "sagemaker_ack_kfp.stack.__main__",
    "simulator": "sagemaker_ack_kfp.simulator.cli",
    "rbac": "sagemaker_ack_kfp.rbac.__main__",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in _COMMANDS:
        print(__doc__.strip(), file=sys.stderr if args and args[0] not in ("-h", "--help") else sys.stdout)
        return 0 if args and args[0] in ("-h", "--help") else 2
    module = importlib.import_module(_COMMANDS[args[0]])
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
