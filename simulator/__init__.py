"""A SageMaker API simulator: the AWS boundary of the local stack (SageMaker JSON 1.1 + STS)."""
