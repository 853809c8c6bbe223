"""pages/jobs.py: work on a thread of its own, started at most once at a time."""

from __future__ import annotations

import threading

import streamlit as st

from dunning.errors import InvalidValue
from pages import jobs


def test_a_second_start_while_the_job_runs_starts_nothing():
    st.cache_resource.clear()
    release = threading.Event()
    runs = []

    def work(progress):
        runs.append(1)
        progress(1, 2)
        release.wait(10)
        progress(2, 2)
        return "done"

    first = jobs.start("k", work)
    second = jobs.start("k", work)  # the double click
    assert second is first and first.running
    release.set()
    first.thread.join(10)
    assert (runs, first.result, first.done, first.total) == ([1], "done", 2, 2)
    assert jobs.get("k") is first

    # Once it has ended, the same key can run again (a retry of what is left).
    again = jobs.start("k", lambda progress: "again")
    again.thread.join(10)
    assert again is not first and again.result == "again"


def test_a_failing_job_keeps_its_message():
    def work(progress):
        raise InvalidValue("Campaign 9 does not exist.")

    job = jobs.start("failing", work)
    job.thread.join(10)
    assert job.error == "Campaign 9 does not exist." and job.result is None
