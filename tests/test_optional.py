"""survey.optional.without: an optional backend (polars) kept out of an import, loaded modules kept, and
everything importable afterwards; the statistics' imports of a run (statsmodels) leave polars out."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from survey.optional import without

_PROBE = """
import importlib, importlib.util, sys
{before}
from survey.optional import without
{body}
print("polars" in sys.modules, importlib.util.find_spec("polars") is not None)
"""


def _probe(body: str, before: str = "") -> list[str]:
    code = _PROBE.format(before=before, body=body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return done.stdout.split()


def test_a_module_not_loaded_cannot_be_imported_inside_and_can_afterwards() -> None:
    code = (
        "import sys\n"
        "from survey.optional import without\n"
        "assert 'colorsys' not in sys.modules\n"
        "with without('colorsys'):\n"
        "    try:\n        import colorsys\n        print('imported')\n"
        "    except ImportError:\n        print('refused')\n"
        "import colorsys\nprint(colorsys.rgb_to_hsv(1, 0, 0))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.splitlines() == ["refused", "(0.0, 1.0, 1)"]  # red: hue 0, saturation 1, value 1


def test_a_loaded_module_stays_usable_inside() -> None:
    import json

    with without("json"):
        import json as again

        assert again is json and json.dumps([1]) == "[1]"
    assert sys.modules["json"] is json


def test_the_statistics_imports_leave_polars_out() -> None:
    installed = importlib.util.find_spec("polars") is not None
    body = "from survey.pipeline.runner import import_statistics\nimport_statistics()\nimport statsmodels"
    assert _probe(body) == ["False", str(installed)]


def test_the_statistics_imports_leave_formulaic_out_and_statsmodels_formulas_work() -> None:
    code = (
        "import sys\n"
        "from survey.pipeline.runner import import_statistics\n"
        "import_statistics()\n"
        "print('formulaic' in sys.modules)\n"
        "import numpy as np, pandas as pd\n"
        "import statsmodels.formula.api as smf\n"
        "df = pd.DataFrame({'y': [1.0, 2.0, 4.0, 5.0], 'x': [0.0, 1.0, 2.0, 3.0]})\n"
        "print(round(float(smf.ols('y ~ x', df).fit().params['x']), 6))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split() == ["False", "1.4"]  # least squares slope of (0,1),(1,2),(2,4),(3,5): 14/10


def test_a_loaded_polars_is_kept() -> None:
    pytest.importorskip("polars")
    body = "from survey.pipeline.runner import import_statistics\nimport_statistics()"
    assert _probe(body, before="import polars") == ["True", "True"]
