"""Dunning workspace: the domain package behind the pages, the CLI and notebooks."""

from __future__ import annotations

from dunning.workspace import Workspace

__all__ = ["Workspace"]
