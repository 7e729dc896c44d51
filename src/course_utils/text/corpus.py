"""Reading the texts of Section 4 from their folders.

Two layouts, the ones the registry's text datasets have (``course_utils.datasets``):

``sentiment`` (lesson 4's IMDB; Rotten Tomatoes snippets in the quick profile)
    ``<root>/{train,test}/{neg,pos}/<n>.txt``, one text per file, its class the folder's
    name. The full aclImdb also has ``train/unsup/``: reviews without a label, which
    lesson 4 used to fine-tune the language model.
``text`` (lesson 6's Nietzsche; Hamlet in the quick profile)
    ``<root>/corpus.txt``, one long text.

Files are read as UTF-8; a file in another encoding is an error that names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from course_utils.text.tokenizer import read_text_file

__all__ = ["SENTIMENT_CLASSES", "read_corpus", "read_sentiment_folders", "read_unlabelled"]

SENTIMENT_CLASSES = ("neg", "pos")  # class 0 is negative, as in lesson 4
SENTIMENT_LAYOUT = "<root>/{train,test}/{neg,pos}/<n>.txt"


def _text_files(folder: Path) -> list[Path]:
    """The ``.txt`` files of ``folder`` in the order of their numbers (``2.txt`` before ``10``)."""

    def key(path: Path):
        stem = path.stem.split("_")[0]  # aclImdb names files <id>_<rating>.txt
        return (0, int(stem), path.name) if stem.isdigit() else (1, 0, path.name)

    return sorted(folder.glob("*.txt"), key=key)


def _found(root: Path) -> str:
    if not root.is_dir():
        return f"{root} does not exist"
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    shown = ", ".join(entries[:10]) + (" ..." if len(entries) > 10 else "")
    return f"{root} holds: {shown or 'nothing'}"


def read_sentiment_folders(
    root: str | Path, split: str = "train", classes: Sequence[str] = SENTIMENT_CLASSES
) -> tuple[list[str], np.ndarray]:
    """The texts of ``root/split/<class>/`` and their labels, the index of the class.

    Returns ``(texts, labels)``: ``labels[i]`` is the position in ``classes`` of the
    folder text ``i`` came from (0 for ``neg``, 1 for ``pos``).
    """
    root = Path(root)
    texts: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        folder = root / split / name
        files = _text_files(folder) if folder.is_dir() else []
        if not files:
            raise ValueError(
                f"expected the layout {SENTIMENT_LAYOUT} with .txt files in {folder}, "
                f"but {_found(folder if folder.is_dir() else root / split)}"
            )
        texts.extend(read_text_file(path) for path in files)
        labels.extend([label] * len(files))
    return texts, np.array(labels, dtype=np.int64)


def read_unlabelled(root: str | Path) -> list[str]:
    """The texts of ``root/train/unsup/`` (the full aclImdb's), or ``[]`` where there are none."""
    folder = Path(root) / "train" / "unsup"
    return [read_text_file(path) for path in _text_files(folder)] if folder.is_dir() else []


def read_corpus(root: str | Path) -> str:
    """The one long text ``root/corpus.txt``."""
    path = Path(root) / "corpus.txt"
    if not path.is_file():
        raise ValueError(f"expected the layout <root>/corpus.txt, but {_found(Path(root))}")
    return read_text_file(path)
