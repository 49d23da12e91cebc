#!/usr/bin/env bash
# `make demo`: the mnist_kmeans sample pipeline, end to end, on the local stack.
#
# Compiles samples/mnist_kmeans with KFP SDK 1.8 (the virtualenv from hack/kfp-venvs.sh), runs
# the compiled Argo Workflow step by step with the local runner (sagemaker_ack_kfp.localrun)
# in a namespace of its own, then shows every step's outputs and the custom resources.
# Needs a running stack (`make stack-up`, which `make demo` runs first).
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
source "$stack_dir/env"  # KUBECONFIG, KUBECTL, SAGEMAKER_SIMULATOR_URL, ACK_CONTROLLER
if ! "$KUBECTL" get --raw /readyz >/dev/null 2>&1; then
  echo "error: the stack's API server at $KUBE_APISERVER_URL does not answer (run \`make stack-up\`)" >&2
  exit 1
fi

namespace="demo-$(date +%m%d-%H%M%S)-$RANDOM"
workdir="$stack_dir/demo/$namespace"
mkdir -p "$workdir"
compiled="$workdir/mnist_kmeans.yaml"
report="$workdir/report.json"
controller="${ACK_CONTROLLER:-absent}"

cat <<EOF

This demo runs the sample pipeline samples/mnist_kmeans on the local stack:

  TrainingJob -+-> ModelPackageGroup -> ModelPackage   (register the model)
               +-> Model -+-> TransformJob
                          +-> EndpointConfig -> Endpoint

  1. compile it with KFP SDK 1.8 (an Argo Workflow, as KFP 1.8 would run it)
  2. run every step locally (python -m sagemaker_ack_kfp.localrun) against the stack's API
     server, in namespace $namespace: each step creates its custom resource, the ACK
     controller turns it into SageMaker calls, answered by the SageMaker simulator
  3. show each step's outputs and the custom resources the run left behind
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
    "The demo runs it anyway, with no_controller_seconds=5: the first steps create their" \
    "TrainingJob and ModelPackageGroup, see no controller act on them and fail fast (exit" \
    "code 3) saying so; the steps after them are skipped. This demo will exit non-zero."
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
set +e
"$PY" -m sagemaker_ack_kfp.localrun "$compiled" \
  --param role_arn="$role_arn" --param bucket="$bucket" "${no_controller_params[@]}" \
  --namespace "$namespace" --workdir "$workdir/steps" --report "$report"
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
# "endpoints" alone means the core v1 Endpoints; the SageMaker kind needs its group.
kinds="trainingjobs,modelpackagegroups,modelpackages,models,transformjobs,endpointconfigs,endpoints.sagemaker.services.k8s.aws"
echo "  \$ kubectl get $kinds -n $namespace"
"$KUBECTL" get "$kinds" -n "$namespace" 2>&1 | sed 's/^/  /'

cat <<EOF

Look around (after \`source $stack_dir/env\`):
  \$KUBECTL get $kinds -n $namespace
  \$KUBECTL get trainingjobs -n $namespace -o yaml   # the spec each step wrote, the controller's status
  \$KUBECTL api-resources --api-group=sagemaker.services.k8s.aws   # every SageMaker kind
  $PY -m sagemaker_ack_kfp.simulator list --url \$SAGEMAKER_SIMULATOR_URL   # what "SageMaker" holds
  ls $workdir                                      # compiled pipeline, report.json, step outputs
  $PY -m sagemaker_ack_kfp.localrun $compiled --param role_arn=$role_arn --param bucket=$bucket --namespace $namespace
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
