"""Hypothesis strategies for bad step inputs, driven by the kind's real CRD schema.

A case starts from a valid TrainingJob spec, applies one to three mutations (a value of the wrong
JSON type at a random schema path, an unknown field, a required input deleted, a whole input
replaced by text that is not the JSON it should be, a bad Bool or name, an unknown input) and
renders the raw strings KFP would hand the container. `broken` names the inputs a mutation
certainly made invalid: the step's report must name each of them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from sagemaker_ack_kfp.kinds import KindInfo, load_kind
from sagemaker_ack_kfp.naming import SAGEMAKER_NAME
from tests.support.manifests import training_spec

KIND: KindInfo = load_kind("TrainingJob")
_JSON_INPUTS = {item.field: item for item in KIND.inputs if item.type in ("JsonObject", "JsonArray")}
_BOOL_INPUTS = [item.name for item in KIND.inputs if item.type == "Bool"]
_KNOWN_NAMES = {item.name for item in KIND.inputs} | {item.name for item in KIND.runtime_inputs}


def base_spec() -> dict[str, Any]:
    """A valid spec that reaches into many parts of the schema (maps, arrays, nested objects)."""
    spec = training_spec("fuzz-base")
    spec.update(
        environment={"MODE": "train"},
        enableNetworkIsolation=True,
        checkpointConfig={"s3URI": "s3://demo-bucket/checkpoints"},
        vpcConfig={"subnets": ["subnet-1"], "securityGroupIDs": ["sg-1"]},
        retryStrategy={"maximumRetryAttempts": 2},
        debugRuleConfigurations=[{"ruleConfigurationName": "loss", "ruleParameters": {"threshold": "0.5"}}],
        tags=[{"key": "team", "value": "ml"}],
    )
    return spec


# ----- JSON values and types -----------------------------------------------------------------

# Text that can travel as a command-line argument: no NUL, no lone surrogates.
_SAFE_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
safe_text = st.text(_SAFE_CHARS, max_size=12)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | safe_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(safe_text, children, max_size=3),
    max_leaves=6,
)


def matches(value: Any, schema_type: str) -> bool:
    """Whether the step accepts `value` where the schema says `schema_type` (integral floats are
    accepted as integers: KFP 2.x sends every JSON number as a float)."""
    if schema_type == "integer":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if schema_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    expected = {"string": str, "boolean": bool, "object": dict, "array": list}.get(schema_type)
    return expected is not None and isinstance(value, expected)


# ----- schema paths ----------------------------------------------------------------------------

Path = tuple[str | int, ...]


def _paths(schema: dict[str, Any], prefix: Path, depth: int) -> Iterator[tuple[Path, dict[str, Any]]]:
    yield prefix, schema
    if depth == 0:
        return
    for key, sub in (schema.get("properties") or {}).items():
        yield from _paths(sub, (*prefix, key), depth - 1)
    if isinstance(schema.get("items"), dict):
        yield from _paths(schema["items"], (*prefix, 0), depth - 1)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _paths(schema["additionalProperties"], (*prefix, "someKey"), depth - 1)


def schema_paths() -> list[tuple[Path, dict[str, Any]]]:
    """Every (path, schema) below a top-level JSON input, a few levels deep."""
    found = []
    for top, sub in KIND.spec_schema["properties"].items():
        if top in _JSON_INPUTS:
            found.extend((path, s) for path, s in _paths(sub, (top,), 5) if isinstance(s.get("type"), str))
    return found


TYPED_PATHS = schema_paths()
OBJECT_PATHS = [(path, schema) for path, schema in TYPED_PATHS if schema.get("properties")]


def put(spec: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path`, creating (or replacing with) the objects and one-element arrays the
    path goes through, so mutations of overlapping paths compose."""
    node: Any = spec
    for step, following in zip(path, path[1:]):
        node = _child(node, step, [] if isinstance(following, int) else {})
    last = path[-1]
    if isinstance(last, int) and not node:
        node.append(value)
    else:
        node[last] = value


def _child(node: Any, step: str | int, empty: dict[str, Any] | list[Any]) -> Any:
    """`node[step]` as a container of `empty`'s type (node is already the right container for step)."""
    if isinstance(step, int) and not node:
        node.append(empty)
    child = node[step] if isinstance(step, int) else node.get(step)
    if type(child) is not type(empty):
        node[step] = child = empty
    return child


# ----- cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    spec: dict[str, Any]
    raw_edits: dict[str, str] = field(default_factory=dict)  # input -> raw string, replacing the rendered one
    deleted: set[str] = field(default_factory=set)  # inputs not passed at all (wins over everything)
    unknown_inputs: dict[str, str] = field(default_factory=dict)
    spec_broken: set[str] = field(default_factory=set)  # inputs a spec mutation certainly broke
    raw_broken: set[str] = field(default_factory=set)  # inputs whose raw string is certainly wrong
    what: list[str] = field(default_factory=list)

    @property
    def raw(self) -> dict[str, str]:
        """The strings KFP hands the step, known inputs only."""
        raw = {**render(self.spec), **self.raw_edits}
        return {name: value for name, value in raw.items() if name not in self.deleted}

    @property
    def broken(self) -> set[str]:
        """Inputs the step's report must name."""
        from_spec = self.spec_broken - set(self.raw_edits)  # a raw edit replaced the mutated value
        return from_spec | self.raw_broken | set(self.unknown_inputs) | self.deleted

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return f"Case({'; '.join(self.what)}; raw={self.raw!r}; unknown={self.unknown_inputs!r})"


def render(spec: dict[str, Any]) -> dict[str, str]:
    raw = {}
    for item in KIND.inputs:
        if item.field not in spec:
            continue
        value = spec[item.field]
        if item.type == "String" and isinstance(value, str):
            raw[item.name] = value
        elif item.type == "Bool" and isinstance(value, bool):
            raw[item.name] = "true" if value else "false"
        else:
            raw[item.name] = json.dumps(value)
    return raw


Mutation = Callable[[Case], None]


@st.composite
def wrong_type(draw: st.DrawFn) -> Mutation:
    path, schema = draw(st.sampled_from(TYPED_PATHS))
    value = draw(json_values.filter(lambda v: not matches(v, schema["type"])))

    def apply(case: Case) -> None:
        put(case.spec, path, value)
        case.spec_broken.add(KIND.input_name(str(path[0])))
        case.what.append(f"{'.'.join(map(str, path))} = {value!r} (schema: {schema['type']})")

    return apply


@st.composite
def unknown_field(draw: st.DrawFn) -> Mutation:
    path, schema = draw(st.sampled_from(OBJECT_PATHS))
    key = draw(st.text(_SAFE_CHARS, min_size=1, max_size=10).filter(lambda k: k not in schema["properties"]))
    value = draw(json_values)

    def apply(case: Case) -> None:
        put(case.spec, (*path, key), value)
        case.spec_broken.add(KIND.input_name(str(path[0])))
        case.what.append(f"unknown field {key!r} in {'.'.join(map(str, path))}")

    return apply


@st.composite
def deleted_required(draw: st.DrawFn) -> Mutation:
    # The name is required by the CRD but generated by the step when absent.
    fields = [f for f in KIND.spec_required if f != KIND.name_field]
    gone = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))

    def apply(case: Case) -> None:
        case.deleted.update(KIND.input_name(name) for name in gone)
        case.what.append(f"deleted {gone}")

    return apply


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    except RecursionError:  # pragma: no cover - not produced at these sizes
        return True
    return False


_WRONG_JSON = st.one_of(
    safe_text.filter(lambda t: t != "" and _not_json(t)),
    st.sampled_from(["NaN", "Infinity", "-Infinity", '{"a": 1, "a": 2}', "{", "[1, 2", "{'single': 'quotes'}", "null"]),
    json_values.map(json.dumps),
)


@st.composite
def wrong_json(draw: st.DrawFn) -> Mutation:
    item = draw(st.sampled_from(sorted(_JSON_INPUTS.values(), key=lambda i: i.name)))
    text = draw(_WRONG_JSON)
    expected = dict if item.type == "JsonObject" else list
    try:
        parsed = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        certain = not isinstance(parsed, expected)
    except ValueError:
        certain = True

    def apply(case: Case) -> None:
        case.raw_edits[item.name] = text
        (case.raw_broken.add if certain else case.raw_broken.discard)(item.name)
        case.what.append(f"{item.name} raw {text!r}")

    return apply


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(name)


@st.composite
def bad_bool(draw: st.DrawFn) -> Mutation:
    name = draw(st.sampled_from(_BOOL_INPUTS))
    text = draw(safe_text.filter(lambda t: t.strip().lower() not in ("true", "false", "1", "0") and t != ""))

    def apply(case: Case) -> None:
        case.raw_edits[name] = text
        case.raw_broken.add(name)
        case.what.append(f"{name} raw {text!r}")

    return apply


@st.composite
def bad_name(draw: st.DrawFn) -> Mutation:
    text = draw(safe_text.filter(lambda t: t != "" and not SAGEMAKER_NAME.match(t)))

    def apply(case: Case) -> None:
        case.raw_edits[KIND.name_input.name] = text
        case.raw_broken.add(KIND.name_input.name)
        case.what.append(f"name {text!r}")

    return apply


@st.composite
def unknown_input(draw: st.DrawFn) -> Mutation:
    name = draw(st.from_regex(r"[a-z][a-z0-9_]{2,20}", fullmatch=True).filter(lambda n: n not in _KNOWN_NAMES))
    value = draw(st.from_regex(r"[A-Za-z0-9{}\[\]:, ]{1,12}", fullmatch=True))

    def apply(case: Case) -> None:
        case.unknown_inputs[name] = value
        case.what.append(f"unknown input {name!r}")

    return apply


ANY_MUTATION = st.one_of(
    wrong_type(), unknown_field(), deleted_required(), wrong_json(), bad_bool(), bad_name(), unknown_input()
)


@st.composite
def bad_inputs(draw: st.DrawFn, *, mutations: st.SearchStrategy[Mutation] = ANY_MUTATION) -> Case:
    case = Case(spec=copy.deepcopy(base_spec()))
    for mutation in draw(st.lists(mutations, min_size=1, max_size=3)):
        mutation(case)
    return case
