"""Shared fixtures: a fixed today, a temporary workspace, no developer settings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dunning import store

DATA = Path(__file__).parent / "data"
TODAY = "2026-02-15"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Keep the developer's machine out: fixed today, temporary workspace, no SMTP."""
    monkeypatch.setenv("DUNNING_TODAY", TODAY)
    monkeypatch.setenv("DUNNING_DB", str(tmp_path / "workspace.duckdb"))
    for name in list(os.environ):
        if name.startswith("DUNNING_SMTP_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def con(tmp_path):
    """A fresh workspace in a DuckDB file of its own."""
    connection = store.connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


@pytest.fixture
def data_file(tmp_path):
    """Copy a file of tests/data into tmp_path (bytes untouched) and return it."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copyfile(DATA / name, target)
        return target

    return copy
