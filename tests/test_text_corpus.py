"""Reading Section 4's texts from their folders (course_utils.text.corpus)."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.text import read_corpus, read_sentiment_folders, read_unlabelled


def write(path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


@pytest.fixture
def reviews(tmp_path):
    for name, text in {
        "train/neg/10_2.txt": "Dull.",
        "train/neg/2_1.txt": "Awful, from start to end.",
        "train/pos/0_9.txt": "A joy.",
        "train/unsup/5_0.txt": "No label here.",
        "test/neg/0.txt": "Bad.",
        "test/pos/0.txt": "Good.",
    }.items():
        write(tmp_path / name, text)
    return tmp_path


def test_texts_come_in_class_order_then_by_number(reviews):
    texts, labels = read_sentiment_folders(reviews, "train")
    assert texts == ["Awful, from start to end.", "Dull.", "A joy."]  # 2_1 before 10_2
    assert labels.tolist() == [0, 0, 1] and labels.dtype == np.int64
    assert read_unlabelled(reviews) == ["No label here."]
    assert read_unlabelled(reviews / "test") == []


def test_a_missing_class_folder_names_the_layout_and_what_is_there(reviews):
    # the test folder given as the root: <root>/neg/neg does not exist
    with pytest.raises(ValueError, match=r"\{train,test\}/\{neg,pos\}.*holds: 0\.txt"):
        read_sentiment_folders(reviews / "test", "neg")


def test_an_empty_class_folder_is_an_error(reviews):
    (reviews / "test" / "pos" / "0.txt").unlink()
    with pytest.raises(ValueError, match=r"\.txt files in .*test/pos.*holds: nothing"):
        read_sentiment_folders(reviews, "test")


def test_a_file_in_another_encoding_is_named(reviews):
    write(reviews / "test" / "pos" / "1.txt", "Tr\xe8s bien.".encode("latin-1"))
    with pytest.raises(ValueError, match=r"1\.txt"):
        read_sentiment_folders(reviews, "test")


def test_corpus(tmp_path):
    with pytest.raises(ValueError, match=r"<root>/corpus\.txt.*does not exist"):
        read_corpus(tmp_path / "nowhere")
    write(tmp_path / "corpus.txt", "To be, or not to be.")
    assert read_corpus(tmp_path) == "To be, or not to be."
