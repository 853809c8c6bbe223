"""Work that must outlive a script run: one thread per job, its progress kept per
process, so that a click, a rerun or leaving the page cannot stop it halfway.

A UI module, not a page: a page starts a job in a button's callback and follows it
with a fragment that polls `get`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from dunning.errors import DunningError

Progress = Callable[[int, int], None]


@dataclasses.dataclass
class Job:
    """One piece of work on its thread: how far it got, and how it ended."""

    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    thread: threading.Thread | None = None
    reported: bool = False

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total


@st.cache_resource(show_spinner=False)
def _registry() -> dict[Hashable, Job]:
    """The jobs of this process, by key."""
    return {}


_LOCK = threading.Lock()


def start(key: Hashable, work: Callable[[Progress], Any]) -> Job:
    """Run `work(progress)` on a thread, unless a job of this key still runs:
    then that one is returned and nothing new starts."""
    with _LOCK:
        job = _registry().get(key)
        if job is not None and job.running:
            return job
        job = _registry()[key] = Job()

        def run() -> None:
            try:
                job.result = work(job.progress)
            except DunningError as error:
                job.error = str(error)

        job.thread = threading.Thread(target=run, name=f"job-{key}", daemon=True)
        job.thread.start()
        return job


def get(key: Hashable) -> Job | None:
    """The job of this key, running or ended, if one was started."""
    return _registry().get(key)
