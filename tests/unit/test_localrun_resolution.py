"""The local runner's reading of both compiled forms, on small hand-written documents: pipeline
parameters, placeholders, data passing and DAG order. No processes, no cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagemaker_ack_kfp.localrun import argo, ir
from sagemaker_ack_kfp.localrun.loader import load_plan
from sagemaker_ack_kfp.localrun.plan import PipelineError, Plan, ResolutionError, RunContext, topological_order
from sagemaker_ack_kfp.localrun.report import abbreviate
from sagemaker_ack_kfp.localrun.values import as_protobuf_numbers, to_text

RUN_ID = "0b5d7c9e-1111-4222-8333-444455556666"

# ----- KFP 1.8: an Argo Workflow as the 1.8 compiler writes it --------------------------------

ARGO = yaml.safe_load(
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: mini-
  annotations: {pipelines.kubeflow.org/pipeline_spec: '{"name": "mini"}'}
spec:
  entrypoint: mini
  arguments:
    parameters:
    - {name: who}
    - {name: greeting, value: hello}
    - {name: size, value: 10}
  templates:
  - name: mini
    inputs: {parameters: [{name: greeting}, {name: size}, {name: who}]}
    dag:
      tasks:
      - name: consume
        template: consume
        dependencies: [produce]
        arguments:
          parameters:
          - {name: produce-message, value: '{{tasks.produce.outputs.parameters.produce-message}}'}
      - name: produce
        template: produce
        arguments:
          parameters:
          - {name: greeting, value: '{{inputs.parameters.greeting}}'}
          - {name: size, value: '{{inputs.parameters.size}}'}
          - {name: who, value: '{{inputs.parameters.who}}'}
  - name: produce
    inputs: {parameters: [{name: greeting}, {name: size}, {name: who}]}
    container:
      image: example/step:1
      command: [python3, -u, -m, some.module]
      args: [--config, '{"text": "{{inputs.parameters.greeting}}, {{inputs.parameters.who}}", "size": {{inputs.parameters.size}}}',
             --run, '{{workflow.uid}}', --output-message, /tmp/outputs/message/data, --output-size, /tmp/outputs/size/data]
      env: [{name: GREETING, value: '{{inputs.parameters.greeting}}'}]
    outputs:
      parameters:
      - name: produce-message
        valueFrom: {path: /tmp/outputs/message/data}
      artifacts:
      - {name: produce-message, path: /tmp/outputs/message/data}
      - {name: produce-size, path: /tmp/outputs/size/data}
  - name: consume
    inputs: {parameters: [{name: produce-message}, {name: mode, value: fast}]}
    container:
      image: example/step:1
      command: [python3, -m, some.module]
      args: [--message, '{{inputs.parameters.produce-message}}', --mode, '{{inputs.parameters.mode}}']
"""
)

# ----- KFP 2.x: the pipeline IR as the 2.x compiler writes it ---------------------------------

IR = yaml.safe_load(
    """
pipelineInfo: {name: mini-ir}
schemaVersion: 2.1.0
sdkVersion: kfp-2.17.3
root:
  inputDefinitions:
    parameters:
      who: {parameterType: STRING}
      count: {parameterType: NUMBER_INTEGER, defaultValue: 3.0, isOptional: true}
      settings: {parameterType: STRUCT, defaultValue: {size: 10}, isOptional: true}
      flag: {parameterType: BOOLEAN, isOptional: true}
  dag:
    tasks:
      consume:
        componentRef: {name: comp-consume}
        dependentTasks: [produce]
        inputs:
          parameters:
            config:
              taskOutputParameter: {producerTask: produce, outputParameterKey: config}
            name:
              taskOutputParameter: {producerTask: produce, outputParameterKey: name}
        taskInfo: {name: consume}
      produce:
        componentRef: {name: comp-produce}
        inputs:
          parameters:
            pipelinechannel--who: {componentInputParameter: who}
            message:
              runtimeValue: {constant: "hello {{$.inputs.parameters['pipelinechannel--who']}}"}
            count: {componentInputParameter: count}
            whole: {runtimeValue: {constant: "{{$.inputs.parameters['pipelinechannel--who']}}"}}
            settings: {componentInputParameter: settings}
            config:
              runtimeValue:
                constant:
                  instanceCount: 1.0
                  volumeSizeInGB: 10
                  spot: false
                  owner: "{{$.inputs.parameters['pipelinechannel--who']}}"
                  tags: [{key: team, value: ml}, 2]
            flag: {componentInputParameter: flag}
        taskInfo: {name: produce}
components:
  comp-produce:
    executorLabel: exec-produce
    inputDefinitions:
      parameters:
        message: {parameterType: STRING}
        count: {parameterType: NUMBER_INTEGER}
        whole: {parameterType: STRING}
        settings: {parameterType: STRUCT}
        config: {parameterType: STRUCT}
        flag: {parameterType: BOOLEAN, isOptional: true}
        mode: {parameterType: STRING, isOptional: true, defaultValue: fast}
        extra: {parameterType: STRING, isOptional: true}
    outputDefinitions:
      parameters:
        config: {parameterType: STRUCT}
        name: {parameterType: STRING}
  comp-consume:
    executorLabel: exec-consume
    inputDefinitions:
      parameters:
        config: {parameterType: STRUCT}
        name: {parameterType: STRING}
deploymentSpec:
  executors:
    exec-produce:
      container:
        image: example/step:1
        command: [python3, -u, -m, some.module]
        args:
        - --message
        - "{{$.inputs.parameters['message']}}"
        - --count
        - "{{$.inputs.parameters['count']}}"
        - --whole
        - "{{$.inputs.parameters['whole']}}"
        - --settings
        - "{{$.inputs.parameters['settings']}}"
        - --config
        - "{{$.inputs.parameters['config']}}"
        - '{"IfPresent": {"InputName": "flag", "Then": ["--flag", "{{$.inputs.parameters[''flag'']}}"]}}'
        - '{"IfPresent": {"InputName": "mode", "Then": ["--mode", "{{$.inputs.parameters[''mode'']}}"]}}'
        - '{"IfPresent": {"InputName": "extra", "Then": ["--extra", "{{$.inputs.parameters[''extra'']}}"], "Else": ["--no-extra"]}}'
        - '{"Concat": ["--label=", "{{$.inputs.parameters[''message'']}}", "/", "{{$.inputs.parameters[''count'']}}"]}'
        - --kfp-run-id
        - '{{workflow.uid}}'
        - --output-config
        - "{{$.outputs.parameters['config'].output_file}}"
        - --output-name
        - "{{$.outputs.parameters['name'].output_file}}"
    exec-consume:
      container:
        image: example/step:1
        command: [python3, -m, some.module]
        args: [--config, "{{$.inputs.parameters['config']}}", --name, "{{$.inputs.parameters['name']}}"]
"""
)


def context(plan: Plan, tmp_path: Path, **params: str) -> RunContext:
    return RunContext(
        run_id=RUN_ID, workdir=tmp_path, namespace="team-a", pipeline_name=plan.name,
        params=plan.resolve_parameters(params),
    )


def pairs(argv: list[str]) -> dict[str, str]:
    """--flag value pairs of an argv (flags without a value map to '')."""
    out: dict[str, str] = {}
    index = 0
    while index < len(argv):
        if argv[index].startswith("--") and "=" not in argv[index]:
            has_value = index + 1 < len(argv) and not argv[index + 1].startswith("--")
            out[argv[index]] = argv[index + 1] if has_value else ""
            index += 2 if has_value else 1
        else:
            index += 1
    return out


def write_outputs(files: dict[str, Path], values: dict[str, Any]) -> None:
    for name, value in values.items():
        files[name].parent.mkdir(parents=True, exist_ok=True)
        files[name].write_text(value if isinstance(value, str) else json.dumps(value))


# ----- values -----------------------------------------------------------------------------


def test_struct_numbers_become_floats_but_bools_and_strings_stay() -> None:
    value = {"a": 1, "b": [2, {"c": 3}], "d": True, "e": "4", "f": 1.5, "g": None}
    assert as_protobuf_numbers(value) == {"a": 1.0, "b": [2.0, {"c": 3.0}], "d": True, "e": "4", "f": 1.5, "g": None}
    assert to_text({"volumeSizeInGB": 10}) == '{"volumeSizeInGB": 10.0}'
    assert to_text([1, True]) == "[1.0, true]"
    assert to_text(3) == "3" and to_text(False) == "false" and to_text("x") == "x"


def test_abbreviate_keeps_both_ends() -> None:
    uri = "s3://demo-bucket/mnist-kmeans/models/training-sagemaker-tr-6c9d13dab8/output/model.tar.gz"
    short = abbreviate(uri, 50)
    assert len(short) == 50 and short.startswith("s3://demo-bucket") and short.endswith("model.tar.gz")
    assert abbreviate("a\n  b") == "a b"


# ----- KFP 1.8 (Argo) -----------------------------------------------------------------------


def test_argo_parameters_defaults_and_required() -> None:
    plan, _ = argo.load(ARGO)
    assert plan.name == "mini" and plan.form == argo.FORM
    assert plan.resolve_parameters({"who": "ana"}) == {"who": "ana", "greeting": "hello", "size": "10"}
    with pytest.raises(PipelineError, match="missing required pipeline parameter.*who"):
        plan.resolve_parameters({})
    with pytest.raises(PipelineError, match="unknown pipeline parameter.*nope.*takes: greeting, size, who"):
        plan.resolve_parameters({"who": "x", "nope": "1"})


def test_argo_task_resolution_and_output_passing(tmp_path: Path) -> None:
    plan, _ = argo.load(ARGO)
    run = context(plan, tmp_path, who="ana")
    assert topological_order(plan.steps) == ["produce", "consume"]
    assert plan.steps["consume"].depends_on == ("produce",)

    produce = plan.steps["produce"].invocation(run)
    args = pairs(produce.argv)
    assert produce.argv[:4] == ["python3", "-u", "-m", "some.module"]
    assert json.loads(args["--config"]) == {"text": "hello, ana", "size": 10}
    assert args["--run"] == RUN_ID  # {{workflow.uid}}
    # Output paths move into the step's folder of the run directory.
    assert args["--output-message"] == str(tmp_path / "produce" / "tmp/outputs/message/data")
    assert produce.env == {"GREETING": "hello"}
    assert set(produce.output_files) == {"produce-message", "produce-size"}

    write_outputs(produce.output_files, {"produce-message": "hi ana", "produce-size": "10"})
    collected = plan.steps["produce"].collect(produce)
    assert collected.values == {"produce-message": "hi ana"}  # parameters, as downstream names them
    assert collected.display == {"message": "hi ana", "size": "10"}  # every output, short names
    run.outputs["produce"] = collected.values

    consume = plan.steps["consume"].invocation(run)
    assert pairs(consume.argv) == {"--message": "hi ana", "--mode": "fast"}  # template default for mode


def test_argo_missing_output_parameter_fails_the_step(tmp_path: Path) -> None:
    plan, _ = argo.load(ARGO)
    run = context(plan, tmp_path, who="ana")
    produce = plan.steps["produce"].invocation(run)
    with pytest.raises(ResolutionError, match="did not write output parameter produce-message"):
        plan.steps["produce"].collect(produce)
    with pytest.raises(ResolutionError, match="step produce produced no output parameter produce-message"):
        plan.steps["consume"].invocation(run)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc["spec"]["templates"][0]["dag"]["tasks"][0].update(when="{{x}} == 1"), "conditions or loops"),
        (lambda doc: doc["spec"]["templates"][0]["dag"]["tasks"][0].update(withItems=[1, 2]), "conditions or loops"),
        (lambda doc: doc["spec"].update(onExit="cleanup"), "exit handler"),
        (lambda doc: doc["spec"]["templates"][2].update(container=None) or doc["spec"]["templates"][2].pop("container")
         or doc["spec"]["templates"][2].update(dag={"tasks": []}), "container steps only"),
        (lambda doc: doc["spec"]["templates"][0]["dag"]["tasks"][0].update(dependencies=["ghost"]), "unknown step 'ghost'"),
    ],
)
def test_argo_unsupported_features_are_refused(edit: Any, message: str) -> None:
    doc = json.loads(json.dumps(ARGO))
    edit(doc)
    with pytest.raises(PipelineError, match=message):
        argo.load(doc)


def test_argo_unknown_variable_is_a_resolution_error(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(ARGO))
    doc["spec"]["templates"][2]["container"]["args"].append("{{pod.name}}")
    plan, _ = argo.load(doc)
    with pytest.raises(ResolutionError, match=r"cannot resolve \{\{pod.name\}\}"):
        plan.steps["consume"].invocation(RunContext(RUN_ID, tmp_path, "ns", "mini", {}, {"produce": {"produce-message": "m"}}))


# ----- KFP 2.x (IR) -------------------------------------------------------------------------


def test_ir_parameters_are_typed() -> None:
    plan, _ = ir.load(IR)
    assert plan.name == "mini-ir" and plan.form == ir.FORM
    assert plan.resolve_parameters({"who": "ana"}) == {"who": "ana", "count": 3, "settings": {"size": 10}}
    values = plan.resolve_parameters({"who": "ana", "count": "7", "settings": '{"size": 2}', "flag": "true"})
    assert values == {"who": "ana", "count": 7, "settings": {"size": 2}, "flag": True}
    with pytest.raises(PipelineError, match="parameter count: expected an integer"):
        plan.resolve_parameters({"who": "ana", "count": "7.5"})
    with pytest.raises(PipelineError, match="parameter settings: not valid STRUCT"):
        plan.resolve_parameters({"who": "ana", "settings": "{oops"})
    with pytest.raises(PipelineError, match="missing required pipeline parameter.*who"):
        plan.resolve_parameters({})


def test_ir_placeholders_defaults_and_structs(tmp_path: Path) -> None:
    plan, _ = ir.load(IR)
    run = context(plan, tmp_path, who="ana")
    assert topological_order(plan.steps) == ["produce", "consume"]

    produce = plan.steps["produce"].invocation(run)
    args = pairs(produce.argv)
    assert args["--message"] == "hello ana"  # channel embedded in a string constant
    assert args["--whole"] == "ana"  # a constant that is exactly one channel
    assert args["--count"] == "3"  # NUMBER_INTEGER default 3.0 renders as an integer
    # STRUCT values: every number a float (protobuf Struct), bools and strings as they are.
    assert args["--settings"] == '{"size": 10.0}'
    config = json.loads(args["--config"])
    assert config == {"instanceCount": 1.0, "volumeSizeInGB": 10.0, "spot": False, "owner": "ana",
                      "tags": [{"key": "team", "value": "ml"}, 2.0]}
    assert '"volumeSizeInGB": 10.0' in args["--config"]
    # IfPresent: flag has no value (optional pipeline parameter not given); mode has a default.
    assert "--flag" not in args
    assert args["--mode"] == "fast"
    assert "--no-extra" in produce.argv and "--extra" not in args
    assert "--label=hello ana/3" in produce.argv  # Concat
    assert args["--kfp-run-id"] == RUN_ID
    assert args["--output-config"] == str(tmp_path / "produce" / "outputs" / "config" / "data")

    with_flag = plan.steps["produce"].invocation(context(plan, tmp_path, who="ana", flag="false"))
    assert pairs(with_flag.argv)["--flag"] == "false"


def test_ir_struct_output_is_passed_typed_and_rendered_with_floats(tmp_path: Path) -> None:
    plan, _ = ir.load(IR)
    run = context(plan, tmp_path, who="ana")
    produce = plan.steps["produce"].invocation(run)
    write_outputs(produce.output_files, {"config": '{"k": "7", "n": 3}', "name": "job-1"})
    collected = plan.steps["produce"].collect(produce)
    assert collected.values == {"config": {"k": "7", "n": 3}, "name": "job-1"}
    run.outputs["produce"] = collected.values
    consume = plan.steps["consume"].invocation(run)
    assert pairs(consume.argv) == {"--config": '{"k": "7", "n": 3.0}', "--name": "job-1"}


def test_ir_missing_or_bad_outputs_fail_the_step(tmp_path: Path) -> None:
    plan, _ = ir.load(IR)
    run = context(plan, tmp_path, who="ana")
    produce = plan.steps["produce"].invocation(run)
    with pytest.raises(ResolutionError, match="did not write output parameter config"):
        plan.steps["produce"].collect(produce)
    write_outputs(produce.output_files, {"config": "not json", "name": "x"})
    with pytest.raises(ResolutionError, match="output config: not valid STRUCT"):
        plan.steps["produce"].collect(produce)
    with pytest.raises(ResolutionError, match="step produce produced no output"):
        plan.steps["consume"].invocation(run)


def test_ir_required_input_without_value(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(IR))
    del doc["root"]["dag"]["tasks"]["produce"]["inputs"]["parameters"]["count"]
    plan, _ = ir.load(doc)
    with pytest.raises(ResolutionError, match="required input count has no value"):
        plan.steps["produce"].invocation(context(plan, tmp_path, who="ana"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc["root"]["dag"]["tasks"]["produce"].update(triggerPolicy={"condition": "x"}), "conditions or loops"),
        (lambda doc: doc["components"]["comp-produce"].update(dag={"tasks": {}}), "sub-DAG"),
        (lambda doc: doc["root"]["dag"]["tasks"]["produce"]["inputs"].update(artifacts={"a": {}}), "artifacts"),
        (lambda doc: doc["deploymentSpec"]["executors"]["exec-produce"].update(container=None)
         or doc["deploymentSpec"]["executors"]["exec-produce"].pop("container")
         or doc["deploymentSpec"]["executors"]["exec-produce"].update(importer={}), "not a container step"),
        (lambda doc: doc["root"]["dag"]["tasks"]["consume"].update(dependentTasks=["consume"]), "dependency cycle"),
    ],
)
def test_ir_unsupported_features_are_refused(edit: Any, message: str) -> None:
    doc = json.loads(json.dumps(IR))
    edit(doc)
    with pytest.raises(PipelineError, match=message):
        ir.load(doc)


def test_ir_unknown_placeholder_is_a_resolution_error(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(IR))
    doc["deploymentSpec"]["executors"]["exec-consume"]["container"]["args"].append("{{$.inputs.artifacts['x'].path}}")
    plan, _ = ir.load(doc)
    run = context(plan, tmp_path, who="ana")
    run.outputs["produce"] = {"config": {}, "name": "n"}
    with pytest.raises(ResolutionError, match=r"cannot resolve \{\{\$\.inputs\.artifacts"):
        plan.steps["consume"].invocation(run)


# ----- files ---------------------------------------------------------------------------------


def test_loader_recognises_both_forms(tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text(yaml.safe_dump(ARGO))
    # KFP 2.x may append a platform-config document; the pipeline is the first one.
    (tmp_path / "v2.yaml").write_text(yaml.safe_dump(IR) + "---\nplatforms: {kubernetes: {}}\n")
    (tmp_path / "other.yaml").write_text("kind: ConfigMap\n")
    assert load_plan(tmp_path / "v1.yaml")[0].form == argo.FORM
    assert load_plan(tmp_path / "v2.yaml")[0].form == ir.FORM
    with pytest.raises(PipelineError, match="not a compiled KFP pipeline"):
        load_plan(tmp_path / "other.yaml")
    with pytest.raises(PipelineError, match="cannot read"):
        load_plan(tmp_path / "missing.yaml")
