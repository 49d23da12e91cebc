"""`make bench`: what a component step costs beyond the SageMaker job it waits for, measured
against a private local stack with the real ACK controller, next to a 30-second-poll baseline.

Run it with `python -m benchmarks.run` from the repository root; see benchmarks/README.md.
"""
