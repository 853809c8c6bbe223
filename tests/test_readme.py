"""The README's notebook example runs as written, on the demo workspace."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from dunning import demo, store

README = Path(__file__).resolve().parent.parent / "README.md"


def notebook_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Python API (notebook)")[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.slow
def test_the_notebook_example_runs_on_the_demo(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    con = store.connect(tmp_path / "data" / "workspace.duckdb")
    demo.build(con)
    con.close()
    monkeypatch.chdir(tmp_path)

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(notebook_example(), "README.md", "exec"), {})
    lines = printed.getvalue().splitlines()

    count, totals = lines[0].split(" ", 1)
    assert int(count) > 0 and "Decimal(" in totals
    document = lines[1].split(" ", 1)[0]
    assert "amount_including_penalties" in lines[1]
    # The reminder names the document it was asked for, in French.
    rendered = "\n".join(lines[2:])
    assert document in rendered
    assert "Sauf erreur ou omission" in rendered
