"""ACK v1.9.1's skipped late initialization, shared by the job kinds it can end.

If the controller's Describe right after a create is throttled, it cannot copy SageMaker's
defaults into the spec; its next sync takes them for a spec change, calls the kind's update and
marks the resource ACK.Terminal, while the SageMaker job runs on untracked.
"""

from __future__ import annotations


def skipped_late_initialization_hint(job: str, *, avoid: str, cause: str = "") -> str:
    """What a step adds to that Terminal message: it changed nothing, the job runs on, what to do."""
    return (
        f"This step changed nothing: {cause}the controller compared the spec with SageMaker's copy before it "
        "could copy SageMaker's defaults into it (most likely its read right after the create was throttled; "
        f"ACK v1.9.1) and refused the update it thought was needed. The SageMaker {job} keeps running, but the "
        f"resource no longer follows it: watch or stop it in the SageMaker console. To avoid this, {avoid}."
    )
