"""Live R ``survey`` on inline code, cached like tests/r/oracle.run_r (on the code and the input files).

The code gets ``out(name, x)``, which writes ``name`` and the values of ``x`` (17 significant digits) to the
result; :func:`run_r_code` returns ``{name: numpy array}``. Files the code reads must be listed in
``files`` so that the cache sees their contents.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
from oracle import run_r

PRELUDE = """suppressMessages(library(survey))
OUT <- commandArgs(trailingOnly = TRUE)[1]
cat("", file = OUT)
out <- function(name, x) cat("@", name, " ", paste(sprintf("%.17g", as.numeric(x)), collapse = " "), "\\n",
                             sep = "", file = OUT, append = TRUE)
"""


def run_r_code(code: str, files: list[Path] = ()) -> dict[str, np.ndarray]:
    """Run ``code`` (after :data:`PRELUDE`) with Rscript; skip without R (fail on CI, see oracle.require_r)."""
    text = PRELUDE + code
    folder = Path(tempfile.gettempdir()) / "trygghet-rlive-cache" / "inline"
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:20]}.R"
    if not script.exists():
        script.write_text(text, encoding="utf-8")
    path = run_r(script, [], [Path(f) for f in files], out_name="out.txt")
    result: dict[str, np.ndarray] = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if parts and parts[0].startswith("@"):
            result[parts[0][1:]] = np.asarray([float(v) for v in parts[1:]])
    return result
