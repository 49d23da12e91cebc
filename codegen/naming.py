"""Names: ACK's camelCase spec fields and kinds as the snake_case names KFP inputs and files use.

ACK keeps AWS acronyms upper-case inside field names (`roleARN`, `kmsKeyID`,
`maxPayloadInMB`), so a plain "underscore before every capital" rule would produce
`role_a_r_n`. Runs of capitals are treated as one word instead: `roleARN` -> `role_arn`.
"""

from __future__ import annotations

import re

# A boundary is either lower/digit -> Upper ("roleA"), or the last capital of an acronym
# run that starts a new capitalised word ("ARNName" -> "ARN", "Name").
_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def snake_case(name: str) -> str:
    """`hyperParameterTuningJobName` -> `hyper_parameter_tuning_job_name`, `roleARN` -> `role_arn`."""
    if not name or not name[0].isalpha():
        raise ValueError(f"cannot derive a snake_case name from {name!r}")
    return _BOUNDARY.sub("_", name).lower()


def is_snake_case(name: str) -> bool:
    """True for names usable as KFP input/output names and CLI flags (`model_artifact_url`)."""
    return bool(_SNAKE.match(name))
