"""The layout keeps its promises: a pure statistics core, no import-time side effects, layer contracts that
fail on a bad import, and units of a readable size."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_WAVE

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("survey", "reports", "flows", "schemas")
CORE = (
    "survey.design",
    "survey.calibration",
    "survey.calibration_model",
    "survey.calibration_solver",
    "survey.variance",
    "survey.replication",
    "survey.replicate_weights",
    "survey.replicate_estimation",
    "survey.pooling",
    "survey.nonresponse",
    "survey.estimation",
    "survey.models",
    "survey.indicators",
    "survey.labels",
    "survey.errors",
)
NOT_IN_CORE = (
    "prefect",
    "sqlalchemy",
    "pandera",
    "great_tables",
    "matplotlib",
    "jinja2",
    "yaml",
    "typer",
    "survey.data",
    "survey.pipeline",
    "reports",
    "flows",
    "schemas",
)


def _python(code: str) -> str:
    """Run ``code`` in a clean interpreter (no test modules imported) and return its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MPLBACKEND", "CHROME_PATH"))}
    res = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_the_statistics_core_imports_without_io_libraries() -> None:
    loaded = json.loads(
        _python(f"import json, sys\nfor m in {CORE!r}: __import__(m)\nprint(json.dumps(sorted(sys.modules)))")
    )
    offending = sorted(m for m in loaded if any(m == b or m.startswith(b + ".") for b in NOT_IN_CORE))
    assert offending == []
    assert "statsmodels" in {m.split(".")[0] for m in loaded}  # the core does use its libraries


def test_the_statistics_are_imported_once_the_load_runs() -> None:
    """``trygghet run`` reads and validates the wave and opens the store before it imports scipy, statsmodels
    and the estimators (about 1 s): the import then overlaps the wave's load (runner.import_statistics)."""
    stats = ("scipy.stats", "statsmodels", "survey.estimation", "survey.models", "survey.pipeline.steps")
    code = f"""
import json, sys, tempfile
from pathlib import Path
import survey.pipeline.runner as runner
from survey.pipeline.config import build_config
seen = {{}}
real_open = runner.open_store
def open_store(config):
    seen["before_the_load"] = sorted(m for m in {stats!r} if m in sys.modules)
    return real_open(config)
runner.open_store = open_store
out = Path(tempfile.mkdtemp())
wave = Path({str(SAMPLE_WAVE)!r})
runner.run(build_config(None, {{"responses": wave / "responses.csv", "population": wave / "population.csv",
    "out": out, "db": f"sqlite:///{{out}}/t.db", "publish": False}}))
seen["after_the_run"] = sorted(m for m in {stats!r} if m in sys.modules)
print(json.dumps(seen))
"""
    seen = json.loads(_python(code).strip().splitlines()[-1])
    assert seen == {"before_the_load": [], "after_the_run": sorted(stats)}


def test_the_wave_is_frozen_for_the_collector_during_a_run_and_thawed_after() -> None:
    """survey.heap: from the store's opening to the end of the run the wave's objects are out of the
    garbage collector's full passes (gc.freeze), and the run leaves the collector as it found it."""
    code = f"""
import gc, json, tempfile
from pathlib import Path
import survey.pipeline.runner as runner
from survey.pipeline.config import build_config
seen = {{"before": gc.get_freeze_count()}}
def progress(message):
    seen.setdefault("during", []).append(gc.get_freeze_count())
out = Path(tempfile.mkdtemp())
wave = Path({str(SAMPLE_WAVE)!r})
runner.run(build_config(None, {{"responses": wave / "responses.csv", "population": wave / "population.csv",
    "out": out, "db": f"sqlite:///{{out}}/t.db", "formats": ["html"], "charts": "none"}}), progress=progress)
seen["after"] = gc.get_freeze_count()
print(json.dumps(seen))
"""
    seen = json.loads(_python(code).strip().splitlines()[-1])
    assert seen["before"] == 0 and seen["after"] == 0
    assert seen["during"][0] == 0  # reading and validating: not yet
    assert all(n > 1000 for n in seen["during"][2:])  # weighting, estimating, trends, publishing


def test_no_thread_but_the_main_one_imports_during_a_run() -> None:
    """Concurrent imports can fail (importlib's deadlock detection): while the load and the outputs' store
    run beside the statistics and the report, only the main thread imports. Both staged paths are taken
    (the limit lowered to the sample wave's size), so the ADBC driver and the recording thread are used."""
    code = f"""
import json, sys, tempfile, threading
from pathlib import Path
imports, connects = [], set()
def hook(event, args):
    if threading.current_thread() is threading.main_thread():
        return
    if event == "import" and args[0] not in sys.modules:
        imports.append([threading.current_thread().name, args[0]])
    elif event == "sqlite3.connect":
        connects.add(threading.current_thread().name)
sys.addaudithook(hook)
import survey.data.store.staging as staging
import survey.data.store.loading as loading
import survey.data.store.weights as weights
staging.STAGE_MIN_ROWS = 10
staged = []
def counted(real):
    def stage_rows(database, table, *args, **kwargs):
        staged.append(table.name)
        return real(database, table, *args, **kwargs)
    return stage_rows
loading.stage_rows, weights.stage_rows = counted(loading.stage_rows), counted(weights.stage_rows)
import survey.pipeline.runner as runner
from survey.pipeline.config import build_config
out = Path(tempfile.mkdtemp())
wave = Path({str(SAMPLE_WAVE)!r})
runner.run(build_config(None, {{"responses": wave / "responses.csv", "population": wave / "population.csv",
    "out": out, "db": f"sqlite:///{{out}}/t.db", "formats": ["html"], "charts": "none"}}))
print(json.dumps({{"imports": imports, "connects": sorted(connects), "staged": sorted(staged)}}))
"""
    seen = json.loads(_python(code).strip().splitlines()[-1])
    assert seen["staged"] == ["responses", "weights"]
    assert len(seen["connects"]) == 2 and any(t.startswith("trygghet-save") for t in seen["connects"])
    assert seen["imports"] == []


def _all_modules() -> list[str]:
    mods = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            if "migrations" in rel.parts:
                continue
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            mods.append(".".join(parts))
    return mods


def test_importing_any_module_changes_nothing() -> None:
    """No module changes the environment, selects a matplotlib backend or sets CHROME_PATH on import."""
    out = json.loads(
        _python(
            "import json, os, sys\n"
            # pandera sets SPARK_LOCAL_IP and PYARROW_IGNORE_TIMEZONE when imported: a third-party effect,
            # imported before the snapshot so that only our own modules are judged
            "import pandera.pandas\n"
            # polars (pulled in by a dependency) sets _RJEM_MALLOC_CONF for its allocator: also third-party
            "import importlib.util\n"
            "if importlib.util.find_spec('polars'): import polars\n"
            "before = dict(os.environ)\n"
            f"for m in {_all_modules()!r}: __import__(m)\n"
            "after = dict(os.environ)\n"
            "changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))\n"
            "backend = None\n"
            "if 'matplotlib' in sys.modules:\n"
            "    import matplotlib\n"
            "    backend = matplotlib.rcParams._get_backend_or_none()\n"
            "print(json.dumps({'changed': changed, 'backend': backend, 'pyplot': 'matplotlib.pyplot' in sys.modules}))"
        )
    )
    assert out == {"changed": [], "backend": None, "pyplot": False}


def _lint_tree(tmp_path: Path) -> Path:
    """A copy of the project's packages and pyproject.toml to break on purpose."""
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (make install installs it)")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(exe), "--no-cache"], check=False, cwd=tree, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize(
    ("module", "bad_import", "expected"),
    [
        ("survey/design.py", "import sqlalchemy", "survey.design is not allowed to import sqlalchemy"),
        (
            "survey/estimation/shares.py",
            "from survey.data import codebook",
            "survey.estimation.shares -> survey.data.codebook",
        ),
        ("survey/data/store.py", "from survey.pipeline import runner", "survey.data.store -> survey.pipeline.runner"),
        ("flows/run_wave.py", "from survey import models", "flows.run_wave -> survey.models"),
    ],
)
def test_each_layer_contract_fails_on_a_bad_import(tmp_path: Path, module: str, bad_import: str, expected: str) -> None:
    tree = _lint_tree(tmp_path)
    clean = _lint_imports(tree)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    target = tree / module
    if not target.exists():  # a module split into a package: break its __init__
        target = tree / module.removesuffix(".py") / "__init__.py"
    target.write_text(target.read_text(encoding="utf-8") + f"\n{bad_import}  # deliberately bad\n", encoding="utf-8")
    broken = _lint_imports(tree)
    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout
    assert expected in " ".join(broken.stdout.split()), broken.stdout


MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def test_no_module_or_function_is_too_long() -> None:
    """Modules stay under ~600 lines and functions under ~80, unless a ``# long:`` comment on the ``def``
    line says why."""
    too_long = []
    for pkg in (*PACKAGES, "tests"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic revisions are schema listings, not logic
                continue
            text = path.read_text(encoding="utf-8")
            lines = text.splitlines()
            rel = path.relative_to(ROOT)
            if pkg != "tests" and len(lines) > MAX_MODULE_LINES and "# long-module:" not in text:
                too_long.append(f"{rel}: {len(lines)} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                    size = node.end_lineno - node.lineno + 1
                    head = "\n".join(lines[node.lineno - 1 : node.body[0].lineno])  # the signature, with comments
                    if size > MAX_FUNCTION_LINES and "# long:" not in head:
                        too_long.append(f"{rel}:{node.lineno} {node.name}: {size} lines")
    assert too_long == []
