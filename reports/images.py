"""PNG and PDF of the tables through headless Chromium (great-tables ``gtsave``).

Nothing changes at import time: ``CHROME_PATH`` is set only for the duration of a render
(:func:`chrome_env`) and restored afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from reports.results import PublishedFile
from reports.tabledata import TableData
from survey.errors import PublishError

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-component-update",
    "--disable-quic",
    "--disable-background-networking",
    "--no-first-run",
)


def chromium_binary() -> str | None:
    """The Chromium/Chrome executable, or ``None``."""
    real = "/usr/lib/chromium/chromium"
    if os.path.isfile(real) and os.access(real, os.X_OK):
        return real
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_available() -> bool:
    return chromium_binary() is not None


def chromium_wrapper(cache_dir: Path | None = None) -> Path:
    """Write (once) a wrapper script that runs Chromium with the flags it needs as root in a container.

    Debian's ``/usr/bin/chromium`` resets ``CHROMIUM_FLAGS``, so the wrapper calls the real binary.
    """
    binary = chromium_binary()
    if binary is None:
        raise PublishError(
            "PNG och PDF kräver Chromium (apt-get install chromium), som inte finns på datorn; "
            "välj andra format med --formats, t.ex. html,xlsx,csv."
        )
    d = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / f"trygghet-chromium-{os.getuid()}"
    d.mkdir(parents=True, exist_ok=True)
    script = d / "chromium-wrapper.sh"
    body = f'#!/bin/sh\nexec "{binary}" {" ".join(CHROMIUM_FLAGS)} "$@"\n'
    if not script.exists() or script.read_text() != body:
        tmp = d / f".wrapper-{os.getpid()}"
        tmp.write_text(body)
        tmp.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        os.replace(tmp, script)
    return script


@contextlib.contextmanager
def chrome_env() -> Iterator[None]:
    """CHROME_PATH pointing at the wrapper for the duration; the headless browser is closed afterwards."""
    old = os.environ.get("CHROME_PATH")
    os.environ["CHROME_PATH"] = str(chromium_wrapper())
    try:
        yield
    finally:
        try:
            import nokap

            nokap.close()
        except Exception:
            pass
        if old is None:
            os.environ.pop("CHROME_PATH", None)
        else:
            os.environ["CHROME_PATH"] = old


def render_image(t: TableData, path: Path) -> Path:
    """One table as PNG (zoom 2) or PDF, wide enough for the whole table (inside :func:`chrome_env`)."""
    from reports.gt import widths

    stub, cols = widths(t)
    fmt = path.suffix.lstrip(".")
    try:
        t.to_gt().gtsave(path, expand=16, zoom=2 if fmt == "png" else 1, vwidth=max(1200, stub + sum(cols) + 64))
    except Exception as exc:  # nokap raises its own error types
        raise PublishError(f"Chromium kunde inte skriva {path.name}: {exc}") from exc
    return path


def write_images(
    tables: Sequence[TableData], out_dir: Path, fmts: Sequence[str] = ("png", "pdf")
) -> list[PublishedFile]:
    """``out_dir/tables/<table_id>.png|pdf``: each table once per format."""
    d = Path(out_dir) / "tables"
    d.mkdir(parents=True, exist_ok=True)
    files = []
    with chrome_env():
        for t in tables:
            for fmt in fmts:
                files.append(PublishedFile("table", t.table_id, fmt, render_image(t, d / f"{t.table_id}.{fmt}")))
    return files
