#!/usr/bin/env bash
# Relay's test-and-deploy path for a model, as commands whose exit codes decide:
#
#   check -> train -> evaluate -> request -> deploy-staging -> smoke -> promote
#
# deploy-staging points the staging deployment at the new version and waits until its model
# server ($STAGING_URL) answers from it (readiness, then a smoke request); if it does not, the
# deployment is rolled back, the server never stopped answering from the old version, and the
# stage exits 1. The staging deployment and its server are set up once:
#   relay deploy churn@1 --name churn-staging && relay serve churn-staging --port 8600
#
#   bash examples/ci/pipeline.sh            # every stage, in order
#   bash examples/ci/pipeline.sh evaluate   # one stage (CI systems run one per step)
#
# Exit codes (relay's): 0 go on; 1 a check failed (a contract, a metric bound, required
# evidence, a rejected request); 2 a mistake in the command or its input; 3/4 no or not enough
# rights; 13 a decision that did not come in time; see `relay --help` and docs/ci/.
# Stages share what they produced (the registered ref, the request's id) through the file
# $RELAY_CI_STATE, so a CI system can run them as separate steps or jobs.
#
# Relay is reached as every relay command reaches it: RELAY_SERVER_URL and RELAY_TOKEN (an
# ML or MLOps engineer's token) in CI; an embedded store ($RELAY_HOME) when they are unset.
set -euo pipefail

: "${RELAY_PROJECT:=churn}"
: "${MODEL:=churn}"                             # the registry model
: "${TRAIN_DATA:=data/train.csv}"               # the training data file
: "${TRAIN_DATASET:=${MODEL}-train}"            # ... published as this dataset
: "${CONTRACT:=contracts/train.yaml}"           # ... under this contract
: "${TARGET:=churned}"                          # the label column
: "${HOLDOUT:=holdout@latest}"                  # the dataset version evaluated on
: "${MIN_METRICS:=auc=0.75}"                    # bounds, space-separated: "auc=0.8 accuracy=0.7"
: "${ALIAS:=production}"                        # the protected alias to promote to
: "${STAGING:=${MODEL}-staging}"                # the staging deployment (created once, served)
: "${STAGING_URL:=http://127.0.0.1:8600}"       # ... by `relay serve $STAGING` at this URL
: "${DEPLOY_TIMEOUT:=300}"                      # seconds for staging to load the new version
: "${SMOKE_RECORDS:=}"                          # JSON records for the smoke test (optional)
: "${APPROVAL_TIMEOUT:=2h}"                     # how long `promote` waits for the reviewers
: "${TRAIN_CMD:=python examples/ci/train.py}"   # prints the registered ref as its last line
: "${RELAY_CI_STATE:=.relay-ci.env}"
: "${RELAY:=relay}"
export RELAY_PROJECT MODEL TRAIN_DATA TRAIN_DATASET CONTRACT TARGET

say() { printf '\n== %s\n' "$*" >&2; }
remember() { printf '%s=%q\n' "$1" "$2" >> "$RELAY_CI_STATE"; }
recall() {
  [[ -f $RELAY_CI_STATE ]] && source "$RELAY_CI_STATE"
  if [[ -z ${!1:-} ]]; then
    echo "no $1 from an earlier stage in $RELAY_CI_STATE; run the stages in order" >&2
    exit 2
  fi
}
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

check() {
  say "contracts check: $TRAIN_DATA against $CONTRACT"
  : > "$RELAY_CI_STATE"
  $RELAY contracts check "$CONTRACT" "$TRAIN_DATA"
}

train() {
  say "train: $TRAIN_CMD"
  local out
  out=$($TRAIN_CMD)
  REF=$(tail -n 1 <<< "$out")
  remember REF "$REF"
  echo "registered $REF" >&2
}

evaluate() {
  recall REF
  say "evaluate: $REF on $HOLDOUT, bounds $MIN_METRICS"
  local bounds=()
  for bound in $MIN_METRICS; do bounds+=(--min "$bound"); done
  $RELAY models evaluate "$REF" "$HOLDOUT" --target "$TARGET" "${bounds[@]}"
}

request() {
  recall REF
  say "promotion request: $REF to $ALIAS"
  local out code=0
  out=$($RELAY models promote "$REF" --to "$ALIAS" --eval "$HOLDOUT" --target "$TARGET" \
        --note "CI ${CI_COMMIT_SHA:-${GITHUB_SHA:-local}}: $REF" --fail-on-evidence --json) \
    || code=$?
  if [[ -n $out ]]; then
    REQUEST=$(field id <<< "$out")
    remember REQUEST "$REQUEST"
    echo "request $REQUEST opened: its reviewers see it in relay inbox" >&2
  fi
  return "$code"
}

deploy_staging() {
  recall REF
  say "deploy to staging: $STAGING at $STAGING_URL serves $REF"
  $RELAY deployments set-target "$STAGING" "$REF" --wait --url "$STAGING_URL" \
    --timeout "$DEPLOY_TIMEOUT" --reason "CI ${CI_COMMIT_SHA:-${GITHUB_SHA:-local}}"
}

smoke() {
  say "smoke test: $STAGING at $STAGING_URL${SMOKE_RECORDS:+ with $SMOKE_RECORDS}"
  local records=()
  [[ -n $SMOKE_RECORDS ]] && records=(--smoke "$SMOKE_RECORDS")
  $RELAY deployments smoke "$STAGING" --url "$STAGING_URL" "${records[@]}" --rollback
}

promote() {
  recall REQUEST
  say "promote on approval: waiting up to $APPROVAL_TIMEOUT for request $REQUEST"
  $RELAY requests wait "$REQUEST" --timeout "$APPROVAL_TIMEOUT"
}

STAGES=(check train evaluate request deploy-staging smoke promote)
if (( $# )); then
  for stage in "$@"; do
    if [[ " ${STAGES[*]} " != *" $stage "* ]]; then
      echo "unknown stage $stage; the stages are: ${STAGES[*]}" >&2
      exit 2
    fi
    "${stage//-/_}"
  done
else
  for stage in "${STAGES[@]}"; do "${stage//-/_}"; done
fi
