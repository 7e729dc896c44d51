"""How many pages the build executes at once (course_book.parallel.execution_jobs); the pages
running side by side are tested on fixture books in test_sphinxext_book.py."""

from __future__ import annotations

import os

import pytest
from sphinx.errors import ExtensionError

from course_book.parallel import MAX_JOBS, execution_jobs


@pytest.fixture(autouse=True)
def no_job_settings(monkeypatch):
    monkeypatch.delenv("COURSE_EXECUTION_JOBS", raising=False)
    monkeypatch.delenv("COURSE_PROFILE", raising=False)


def test_quick_profile_runs_a_page_per_cpu_up_to_the_cap():
    assert execution_jobs() == max(1, min(MAX_JOBS, len(os.sched_getaffinity(0))))


def test_full_profile_runs_one_page_at_a_time_on_its_gpu(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")
    assert execution_jobs() == 1
    monkeypatch.setenv("COURSE_EXECUTION_JOBS", "3")  # unless told otherwise
    assert execution_jobs() == 3


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_job_count_is_named(monkeypatch, value):
    monkeypatch.setenv("COURSE_EXECUTION_JOBS", value)
    with pytest.raises(ExtensionError, match="COURSE_EXECUTION_JOBS=.* whole number"):
        execution_jobs()
