"""A SageMaker API simulator: the AWS boundary of the local stack (SageMaker JSON 1.1 + STS).

Run it with `python -m sagemaker_ack_kfp.simulator serve`, or in-process::

    with running_simulator(phase_seconds=0.05) as sim:
        boto3.client("sagemaker", endpoint_url=sim.url, ...)
"""

from .config import SimulatorConfig
from .server import SimulatorServer, running_simulator, start_server
from .state import SimulatorState

__all__ = ["SimulatorConfig", "SimulatorServer", "SimulatorState", "running_simulator", "start_server"]
