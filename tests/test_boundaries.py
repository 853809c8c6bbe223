"""The domain package stands alone (no Streamlit) and code carries no open-work tags."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import dunning

ROOT = Path(__file__).resolve().parent.parent


def test_dunning_never_imports_streamlit():
    modules = [f"dunning.{m.name}" for m in pkgutil.iter_modules(dunning.__path__)]
    modules.remove("dunning.__main__")
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_no_todo_markers_in_code():
    offenders = []
    for folder in ("dunning", "pages", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for marker in ("TO" + "DO", "FIX" + "ME"):
                if marker in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {marker}")
    app = ROOT / "app.py"
    if app.exists():
        assert "TO" + "DO" not in app.read_text(encoding="utf-8")
    assert offenders == []
