#!/usr/bin/env bash
# `make serve`: a Prefect server on 127.0.0.1:$PREFECT_PORT (default 4200) with its home in
# $TRYGGHET_DATA_DIR/prefect, the process work pool `trygghet`, every deployment of prefect.yaml, and a
# worker; prints the UI address and a ready `prefect deployment run` line. Stop with `make stop`.
# Running it again reuses a server and worker that are still up (and deploys again).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
WAIT_S="${TRYGGHET_SERVE_WAIT:-300}"
mkdir -p "$RUN_DIR" "$TRYGGHET_DATA_DIR/surveys" "$TRYGGHET_DATA_DIR/examples"
cd "$ROOT"

# wait_until WHAT PIDNAME CHECK...: run CHECK once a second until it succeeds, at most WAIT_S seconds;
# fails early when the process PIDNAME has died (and shows the end of its log).
wait_until() {
  local what=$1 name=$2; shift 2
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      echo "serve: $what stopped; the end of $RUN_DIR/$name.log:" >&2; tail -n 30 "$RUN_DIR/$name.log" >&2; exit 1
    fi
    if (( SECONDS - t0 > WAIT_S )); then
      echo "serve: $what not ready after $WAIT_S s (TRYGGHET_SERVE_WAIT); see $RUN_DIR/$name.log" >&2; exit 1
    fi
    sleep 1
  done
}
healthy() { "$BIN/python" -c 'import sys, urllib.request as u; sys.exit(u.urlopen(sys.argv[1] + "/health", timeout=5).status != 200)' "$PREFECT_API_URL" 2>/dev/null; }
worker_up() {
  "$BIN/python" - "$PREFECT_API_URL" "$POOL" "$1" <<'PY'
import json, sys, urllib.request as u
req = u.Request(f"{sys.argv[1]}/work_pools/{sys.argv[2]}/workers/filter", data=b"{}", method="POST",
                headers={"Content-Type": "application/json"})
sys.exit(not any(w["name"] == sys.argv[3] for w in json.load(u.urlopen(req, timeout=5))))
PY
}

# 1. the server
if alive server && healthy; then
  echo "serve: Prefect server already running (pid $(cat "$RUN_DIR/server.pid"))"
else
  if healthy; then
    echo "serve: something else answers on 127.0.0.1:$PORT; stop it or choose another PREFECT_PORT" >&2; exit 1
  fi
  setsid "$BIN/prefect" server start --host 127.0.0.1 --port "$PORT" >"$RUN_DIR/server.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/server.pid"
  echo "serve: starting the Prefect server (pid $!, log $RUN_DIR/server.log)"
  wait_until "the Prefect server" server healthy
fi

# 2. the work pool and the deployments
"$BIN/prefect" work-pool inspect "$POOL" >/dev/null 2>&1 || "$BIN/prefect" work-pool create "$POOL" --type process
"$BIN/prefect" --no-prompt deploy --all

# 3. the worker (its flow runs inherit TRYGGHET_DATA_DIR and the rest of this environment)
WORKER="trygghet-$(hostname)"
if alive worker; then
  echo "serve: worker already running (pid $(cat "$RUN_DIR/worker.pid"))"
else
  setsid "$BIN/prefect" worker start --pool "$POOL" --name "$WORKER" >"$RUN_DIR/worker.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/worker.pid"
  wait_until "the worker" worker worker_up "$WORKER"
fi

# 4. the sample wave: the demo's (make demo), else one generated into the data folder
INPUT="$ROOT/out/input"
if [[ ! -f "$INPUT/responses.csv" ]]; then
  INPUT="$TRYGGHET_DATA_DIR/sample/input"
  [[ -f "$INPUT/responses.csv" ]] || "$BIN/trygghet" synth --n 12000 --districts 8 --years 4 --seed 2026 \
      --tiny-district --out "$INPUT" >/dev/null
fi
YEAR=$("$BIN/python" -c 'import csv, sys; print(max(int(r["year"]) for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))))' "$INPUT/responses.csv")
cat >"$TRYGGHET_DATA_DIR/examples/demo.yaml" <<YAML
# Written by make serve: the sample wave as a survey configuration (see docs/production.md).
name: demo
report:
  municipality: Exempelkommun
  title: Trygghetsundersökning {year} (syntetiska data)
years:
  $YEAR: {responses: $INPUT/responses.csv, population: $INPUT/population.csv}
YAML

cat <<MSG

Prefect UI:  http://127.0.0.1:$PORT   (API $PREFECT_API_URL; data in $TRYGGHET_DATA_DIR)
Worker:      $WORKER on pool $POOL (log $RUN_DIR/worker.log); stop everything with: make stop

Run the sample wave as the annual report (outputs in $TRYGGHET_DATA_DIR/runs/demo/$YEAR/<flow run id>/):
  PREFECT_API_URL=$PREFECT_API_URL $BIN/prefect deployment run 'annual_report/annual-report' --param surveys=examples/demo.yaml --param years=$YEAR
MSG
