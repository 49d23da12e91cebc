"""AddTags, DeleteTags and ListTags, addressed by ARN across every kind.

Reserved sim/* tags act only when present in a Create request; adding them
later just stores them.
"""

from __future__ import annotations

from . import injection
from .calls import Body, Call, Handler
from .errors import validation
from .kinds import ALL_KINDS, PIPELINE_EXECUTION
from .resource import Resource
from .validation import check_present


def add_tags(call: Call, body: Body) -> Body:
    check_present(body, ["ResourceArn", "Tags"])
    resource = _resource(call, body["ResourceArn"])
    resource.tags.update(injection.tags_to_dict(body["Tags"]))
    return {"Tags": body["Tags"]}


def delete_tags(call: Call, body: Body) -> Body:
    check_present(body, ["ResourceArn", "TagKeys"])
    resource = _resource(call, body["ResourceArn"])
    for key in body["TagKeys"]:
        resource.tags.pop(key, None)
    return {}


def list_tags(call: Call, body: Body) -> Body:
    check_present(body, ["ResourceArn"])
    resource = _resource(call, body["ResourceArn"])
    tags = [{"Key": k, "Value": v} for k, v in resource.tags.items()]
    start = int(body.get("NextToken") or 0)
    size = int(body.get("MaxResults") or 50)
    page: Body = {"Tags": tags[start:start + size]}
    if start + size < len(tags):
        page["NextToken"] = str(start + size)
    return page


def _resource(call: Call, arn: str) -> Resource:
    found = call.state.by_arn(arn)
    if found is not None:
        return found
    # Report a missing resource the way its own kind reports it.
    _, _, rest = arn.rpartition(":")
    arn_type, _, name = rest.partition("/")
    if arn_type == PIPELINE_EXECUTION.arn_type and "/execution/" in name:
        raise PIPELINE_EXECUTION.not_found(name, arn)
    for info in ALL_KINDS:
        if info.arn_type == arn_type and name:
            raise info.not_found(name, arn)
    raise validation(f"Invalid resource ARN: {arn}")


OPERATIONS: dict[str, Handler] = {
    "AddTags": add_tags,
    "DeleteTags": delete_tags,
    "ListTags": list_tags,
}
