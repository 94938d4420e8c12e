# Shared by ops/serve.sh and ops/stop.sh: where the local Prefect server and worker keep their state.
# TRYGGHET_DATA_DIR: runs, SQLite databases, survey configurations and the Prefect server's home;
# default ${XDG_DATA_HOME:-~/.local/share}/trygghet (never the code checkout).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/.venv/bin}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
export TRYGGHET_DATA_DIR="${TRYGGHET_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/trygghet}"
PORT="${PREFECT_PORT:-4200}"
export PREFECT_HOME="$TRYGGHET_DATA_DIR/prefect"
export PREFECT_API_URL="http://127.0.0.1:$PORT/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
export PREFECT_LOGGING_LEVEL="${TRYGGHET_LOG_LEVEL:-INFO}"
RUN_DIR="$PREFECT_HOME/run"
POOL="${TRYGGHET_WORK_POOL:-trygghet}"

# alive NAME: the process of RUN_DIR/NAME.pid is running
alive() { [[ -f "$RUN_DIR/$1.pid" ]] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }
