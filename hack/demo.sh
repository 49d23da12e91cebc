#!/usr/bin/env bash
# `make demo`: the mnist_kmeans sample pipeline, end to end, on the local stack.
#
# Compiles samples/mnist_kmeans with KFP SDK 1.8 (the virtualenv from hack/kfp-venvs.sh), runs
# the compiled Argo Workflow step by step with the local runner (sagemaker_ack_kfp.localrun)
# in a namespace of its own, then shows every step's outputs, the custom resources, and the
# objects the run left in the stack's S3 bucket (with commands to fetch them).
# When the stack runs a node (STACK_NODE=running in .stack/env), every step is a real Pod, as KFP
# runs it: the component image, the pipeline's service account (granted with rbac/setup.sh), its
# own pod's identity; otherwise each step is a local process.
# Needs a running stack with its object store (`make stack-up`, which `make demo` runs first).
#
# Env: SAGEMAKER_ACK_KFP_STACK_DIR  the stack to use (default: .stack in the repository)
#      PY                           the project's Python (default: .venv/bin/python)
# Exit code: the local runner's (0: every step succeeded); 1 as well when the stack runs without
# the ACK controller, where the first step is expected to fail.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
stack_dir="${SAGEMAKER_ACK_KFP_STACK_DIR:-$repo/.stack}"
PY="${PY:-$repo/.venv/bin/python}"
cache="${SAGEMAKER_ACK_KFP_CACHE:-$HOME/.cache/sagemaker-ack-kfp}"
role_arn="arn:aws:iam::123456789012:role/sagemaker-ack-kfp-demo"  # the simulator's account
bucket="sagemaker-ack-kfp-demo"

say() { printf '\n==> %s\n' "$*"; }
banner() {
  local line="!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  printf '\n%s\n' "$line"
  printf '!!  %s\n' "$@"
  printf '%s\n\n' "$line"
}

if [[ ! -f "$stack_dir/env" ]]; then
  echo "error: no local stack at $stack_dir (run \`make stack-up\`, or \`make demo\`, which starts it)" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$stack_dir/env"  # KUBECONFIG, KUBECTL, SAGEMAKER_SIMULATOR_URL, ACK_CONTROLLER, AWS_ENDPOINT_URL_S3, STACK_NODE
if ! "$KUBECTL" get --raw /readyz >/dev/null 2>&1; then
  echo "error: the stack's API server at $KUBE_APISERVER_URL does not answer (run \`make stack-up\`)" >&2
  exit 1
fi
if [[ -z "${AWS_ENDPOINT_URL_S3:-}" ]]; then
  echo "error: the stack at $stack_dir runs without its object store (started with --no-s3), and the demo's" >&2
  echo "       first step writes the training data there. Restart it with one: make stack-down && make demo" >&2
  exit 1
fi

namespace="demo-$(date +%m%d-%H%M%S)-$RANDOM"
workdir="$stack_dir/demo/$namespace"
mkdir -p "$workdir"
compiled="$workdir/mnist_kmeans.yaml"
report="$workdir/report.json"
controller="${ACK_CONTROLLER:-absent}"
node="${STACK_NODE:-absent}"
service_account=default-editor  # what KFP's multi-user mode runs a profile's pipelines as
if [[ "$node" == "running" ]]; then
  how="as a real Pod on the stack's node (image ghcr.io/sagemaker-ack-kfp/components, service
     account $service_account, granted with rbac/setup.sh)"
  mode_args=(--mode pod --service-account "$service_account")
  step_env="$stack_dir/pod-step.env"  # the same, with the addresses pods reach (the node's relay)
else
  how="as a local process (this stack has no node: see README.md, \"Local stack\")"
  mode_args=(--mode process)
  step_env="$stack_dir/step.env"
fi

cat <<EOF

This demo runs the sample pipeline samples/mnist_kmeans on the local stack:

  upload sample data -> TrainingJob -+-> ModelPackageGroup -> ModelPackage   (register the model)
                                     +-> Model -+-> TransformJob
                                                +-> EndpointConfig -> Endpoint

  1. compile it with KFP SDK 1.8 (an Argo Workflow, as KFP 1.8 would run it)
  2. run every step (python -m sagemaker_ack_kfp.localrun) in namespace $namespace,
     $how:
     the first step writes a small generated data set into s3://$bucket/mnist-kmeans/ in the
     stack's object store ($AWS_ENDPOINT_URL_S3); each SageMaker step creates its custom
     resource, the ACK controller turns it into SageMaker calls, answered by the SageMaker
     simulator, which reads and writes that store; the training and transform steps also
     print their job's own log lines ([algo-1-...] ...), which they read from the simulator's
     CloudWatch Logs with the environment the stack gives steps ($step_env: fake AWS
     credentials, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL_S3)
  3. show each step's outputs, the custom resources and the objects the run left behind
EOF

no_controller_params=()
if [[ "$controller" != "running" ]]; then
  banner "THE ACK CONTROLLER IS NOT RUNNING IN THIS STACK (ACK_CONTROLLER=$controller)." \
    "" \
    "The stack was started without it: the controller's Go module" \
    "(github.com/aws-controllers-k8s/sagemaker-controller) is refused by this machine's Go" \
    "module proxy, so it could not be built (README.md, \"Known limits, read this first\")." \
    "Nothing turns the custom resources into SageMaker calls, so the pipeline CANNOT succeed." \
    "" \
    "The demo runs it anyway, with no_controller_seconds=5: the data step fills the bucket," \
    "then the training and model group steps create their TrainingJob and ModelPackageGroup," \
    "see no controller act on them and fail fast (exit code 3) saying so; the steps after" \
    "them are skipped. This demo will exit non-zero."
  no_controller_params=(--param no_controller_seconds=5)
fi

# ----- 1. compile ------------------------------------------------------------------------------
say "1/3 compiling samples/mnist_kmeans with KFP SDK 1.8"
# hack/kfp-venvs.sh reuses the cached virtualenv, or creates it (pip install kfp==1.8.22) when it is
# missing or its pinned requirements changed: a minute or two, with a heartbeat meanwhile.
if [[ ! -x "$cache/venvs/kfp-1.8.22/bin/python" ]]; then
  echo "    first run: creating the KFP SDK 1.8.22 virtualenv in $cache/venvs (a minute or two)"
fi
venv_log="$workdir/kfp-venvs.log"
bash "$repo/hack/kfp-venvs.sh" kfp-1.8.22 >"$workdir/kfp-venvs.out" 2>"$venv_log" &
pid=$! elapsed=0
while kill -0 "$pid" 2>/dev/null; do
  sleep 1; elapsed=$((elapsed + 1))
  if ((elapsed % 15 == 0)); then echo "    ... still installing kfp 1.8.22 (${elapsed}s, log: $venv_log)"; fi
done
if ! wait "$pid"; then
  echo "error: creating the KFP SDK 1.8 virtualenv failed; the end of its log:" >&2
  tail -n 30 "$venv_log" >&2
  exit 1
fi
if [[ -s "$venv_log" ]]; then
  echo "    $(tail -n 1 "$venv_log") installed"
fi
kfp_python="$(sed -n 's/^kfp-1.8.22=//p' "$workdir/kfp-venvs.out")"
"$kfp_python" "$repo/samples/compile.py" mnist_kmeans -o "$compiled" | sed 's/^/    /'

# ----- 2. run ----------------------------------------------------------------------------------
say "2/3 running it in namespace $namespace"
"$KUBECTL" create namespace "$namespace" | sed 's/^/    /'
if [[ "$node" == "running" ]]; then
  # As a KFP profile has it: the pipeline's service account, granted least privilege.
  "$KUBECTL" create serviceaccount "$service_account" -n "$namespace" | sed 's/^/    /'
  "$repo/rbac/setup.sh" --namespace "$namespace" --service-account "$service_account" | sed 's/^/    /'
fi
run_started="$(date +%s)"
set +e
"$PY" -m sagemaker_ack_kfp.localrun "$compiled" \
  --param role_arn="$role_arn" --param bucket="$bucket" "${no_controller_params[@]}" \
  --namespace "$namespace" --workdir "$workdir/steps" --report "$report" \
  --env-file "$step_env" "${mode_args[@]}"
status=$?
set -e

# ----- 3. results --------------------------------------------------------------------------------
say "3/3 what the run produced"
if [[ -f "$report" ]]; then
  "$PY" - "$report" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
for step in report["steps"]:
    print(f"\n  {step['name']}: {step['status']}" + (f" (exit code {step['exit_code']})" if step["exit_code"] else ""))
    if step["reason"]:
        print(f"    reason: {step['reason']}")
    for name, value in sorted(step["outputs"].items()):
        if len(value) > 160:  # a resource's whole status: the report has it in full
            value = value[:150] + f"... ({len(value)} characters, in full in {sys.argv[1]})"
        print(f"    {name} = {value}")
EOF
fi
echo
echo "  Objects under s3://$bucket/mnist-kmeans/ in the stack's object store ($AWS_ENDPOINT_URL_S3):"
"$PY" - "$bucket" "$run_started" <<'EOF' || echo "    (could not list the bucket: is the object store up? make stack-status)"
import sys
import boto3
bucket, started = sys.argv[1], float(sys.argv[2])
listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="mnist-kmeans/").get("Contents", [])
produced = ("mnist-kmeans/models/", "mnist-kmeans/batch-output/")
for item in listed:
    fresh = item["Key"].startswith(produced) and item["LastModified"].timestamp() >= started - 1
    mark = "  <- written by this run's SageMaker jobs" if fresh else ""
    print(f"    s3://{bucket}/{item['Key']}  ({item['Size']} bytes){mark}")
if not listed:
    print("    (none)")
EOF
echo
# "endpoints" alone means the core v1 Endpoints; the SageMaker kind needs its group.
kinds="trainingjobs,modelpackagegroups,modelpackages,models,transformjobs,endpointconfigs,endpoints.sagemaker.services.k8s.aws"
echo "  \$ kubectl get $kinds -n $namespace"
"$KUBECTL" get "$kinds" -n "$namespace" 2>&1 | sed 's/^/  /'
if [[ "$node" == "running" ]]; then
  echo
  echo "  \$ kubectl get pods -n $namespace -L pipeline/runid"
  "$KUBECTL" get pods -n "$namespace" -L pipeline/runid 2>&1 | sed 's/^/  /'
fi

cat <<EOF

Look around (after \`source $stack_dir/env\`):
  \$KUBECTL get $kinds -n $namespace
  \$KUBECTL get trainingjobs -n $namespace -o yaml   # the spec each step wrote, the controller's status
  \$KUBECTL get pods -n $namespace; \$KUBECTL logs -n $namespace <pod>   # each step's pod and its log (pod mode)
  \$KUBECTL api-resources --api-group=sagemaker.services.k8s.aws   # every SageMaker kind
  $PY -m sagemaker_ack_kfp.simulator list --url \$SAGEMAKER_SIMULATOR_URL   # what "SageMaker" holds
Fetch the last steps' outputs from the bucket (the model, one .out per batch input object):
  aws s3 ls --recursive s3://$bucket/mnist-kmeans/        # AWS CLI v2.13+/v1.29+ reads AWS_ENDPOINT_URL_S3
  aws --endpoint-url "\$AWS_ENDPOINT_URL_S3" s3 cp s3://$bucket/mnist-kmeans/batch-output/part-0.csv.out -
  $PY -c "import boto3; [print(o['Key']) for o in boto3.client('s3').list_objects_v2(Bucket='$bucket', Prefix='mnist-kmeans/')['Contents']]"
  ls $workdir                                      # compiled pipeline, report.json, step outputs
  $PY -m sagemaker_ack_kfp.localrun $compiled --param role_arn=$role_arn --param bucket=$bucket --namespace $namespace ${mode_args[*]}
                                                   # run it again (a new run id: new resources)
Stop the stack: make stack-down
EOF

if [[ "$controller" != "running" ]]; then
  banner "The run failed as expected: the stack has no ACK controller (ACK_CONTROLLER=$controller)." \
    "See README.md, \"Known limits, read this first\". Nothing else is wrong with your setup." \
    "With a controller binary of v1.9.1: ACK_CONTROLLER_BIN=/path/to/controller make demo"
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "The demo run failed (local runner exit code $status); the step's reason is above." >&2
fi
exit "$status"
