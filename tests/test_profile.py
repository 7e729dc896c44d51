"""The execution profiles and the kernel-side provenance report."""

from __future__ import annotations

import pytest

from course_utils import provenance as prov
from course_utils.profile import PROFILES, ProfileError, current_profile, default_device


def test_quick_is_the_default(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    profile = current_profile()
    assert profile.name == "quick" and profile.is_quick
    assert profile.device() == "cpu"
    assert not profile.pretrained


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", " Full ")
    profile = current_profile()
    assert profile is PROFILES["full"]
    assert profile.pretrained and profile.use_gpu
    assert profile.image_size > PROFILES["quick"].image_size


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    with pytest.raises(
        ProfileError, match=r"'fast' is not a profile; expected one of: full, quick"
    ):
        current_profile()


def test_default_device_without_gpu_request():
    assert default_device(use_gpu=False) == "cpu"


def test_report_names_the_data_that_was_recorded(monkeypatch):
    monkeypatch.setattr(prov, "_sources", {})
    digits = prov.DataSource(name="digits", origin="scikit-learn", items=1797)
    prov.record_data_source(digits)
    prov.record_data_source(digits)  # recorded once
    prov.record_data_source(prov.DataSource("hamlet", "a wheel", stand_in_for="Nietzsche"))
    report = prov.collect()
    assert [s.name for s in report.data] == ["digits", "hamlet"]
    text = report.to_text()
    assert "Profile: quick" in text
    assert "digits: scikit-learn (1,797 items)" in text
    assert "standing in for Nietzsche" in text
    assert report.to_json()["data"][0]["items"] == 1797


def test_one_stand_in_for_several_datasets_names_them_all(monkeypatch):
    monkeypatch.setattr(prov, "_sources", {})
    for replaced in ("MNIST (full profile)", "Dogs vs Cats (full profile)", "MNIST (full profile)"):
        prov.record_data_source(prov.DataSource("digits", "a wheel", 5000, replaced))
    (source,) = prov.data_sources()
    assert source.stand_in_for == "MNIST (full profile) and Dogs vs Cats (full profile)"
    assert "standing in for MNIST (full profile) and Dogs vs Cats" in prov.collect().to_text()


def test_report_mimebundle_has_json_and_text(monkeypatch):
    monkeypatch.setattr(prov, "_sources", {})
    bundle = prov._Displayable(prov.collect())._repr_mimebundle_()
    assert bundle[prov.MIME_TYPE]["profile"] == "quick"
    assert bundle[prov.MIME_TYPE]["device"].startswith("CPU, ")
    assert "Data: none loaded" in bundle["text/plain"]
