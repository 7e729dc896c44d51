"""The course outline as data: sections, topics, lessons and video moments.

Deep Learning Part 1 is organised in four sections (preparatory session, image
understanding, structured data, NLP and recommendation). Their topics point into
the seven lecture videos of the 2018 course at labelled moments. This module
holds that outline as plain data, so that the book's landing page, the ``video``
directive (:mod:`course_book.video`) and the tests read the same
facts. It imports nothing beyond the standard library.

Timestamps are stored in seconds. :func:`parse_timestamp` reads the forms used
by people and by YouTube links (``1:02:11``, ``3731``, ``1h2m11s``) and
:func:`format_timestamp` writes the clock form (``1:02:11``, ``2:11``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "LESSONS",
    "MOMENTS",
    "SECTIONS",
    "Lesson",
    "Moment",
    "Section",
    "Topic",
    "format_timestamp",
    "lesson_for_video",
    "moments_for_video",
    "parse_timestamp",
    "video_url",
]


# --- timestamps ---------------------------------------------------------------

_CLOCK = re.compile(r"(\d+)(?::(\d{2}))?:(\d{2})")  # h:mm:ss or m:ss
_UNITS = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")  # 1h2m11s, 15m, 45s


def parse_timestamp(text: str) -> int:
    """Read a timestamp and return it in seconds.

    Accepted forms: ``h:mm:ss`` or ``m:ss`` (``"1:02:11"``, ``"2:11"``), plain
    seconds (``"3731"``) and YouTube's ``1h2m11s`` form (``"15m"``, ``"45s"``).
    Minutes and seconds after a larger unit must be below 60.

    >>> parse_timestamp("1:02:11"), parse_timestamp("1h2m11s"), parse_timestamp("15m")
    (3731, 3731, 900)
    """
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    if match := _CLOCK.fullmatch(stripped):
        first, middle, last = match.groups()
        if middle is None:  # m:ss
            hours, minutes, seconds = 0, int(first), int(last)
        else:  # h:mm:ss
            hours, minutes, seconds = int(first), int(middle), int(last)
            if minutes >= 60:
                raise ValueError(f"invalid timestamp {text!r}: minutes must be below 60")
        if seconds >= 60:
            raise ValueError(f"invalid timestamp {text!r}: seconds must be below 60")
        return 3600 * hours + 60 * minutes + seconds
    if stripped and (match := _UNITS.fullmatch(stripped)):
        hours, minutes, seconds = (int(g) if g else None for g in match.groups())
        if hours is not None and minutes is not None and minutes >= 60:
            raise ValueError(f"invalid timestamp {text!r}: minutes must be below 60")
        if (hours is not None or minutes is not None) and seconds is not None and seconds >= 60:
            raise ValueError(f"invalid timestamp {text!r}: seconds must be below 60")
        return 3600 * (hours or 0) + 60 * (minutes or 0) + (seconds or 0)
    raise ValueError(
        f"invalid timestamp {text!r}: expected h:mm:ss, m:ss, seconds or the 1h2m11s form"
    )


def format_timestamp(seconds: int) -> str:
    """Write ``seconds`` in clock form: ``"1:02:11"`` past the hour, ``"2:11"`` before it."""
    if seconds < 0:
        raise ValueError(f"a timestamp cannot be negative: {seconds}")
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def video_url(video_id: str, seconds: int | None = None) -> str:
    """The plain YouTube link to a video, at ``seconds`` when given (``?t=SECONDS``)."""
    url = f"https://youtu.be/{video_id}"
    return url if seconds is None else f"{url}?t={seconds}"


# --- the data types -------------------------------------------------------------


@dataclass(frozen=True)
class Lesson:
    """One lecture of the 2018 course and its video."""

    number: int
    title: str
    video_id: str

    @property
    def heading(self) -> str:
        """``"Lesson 1 — Recognizing cats and dogs"``."""
        return f"Lesson {self.number} — {self.title}"

    @property
    def url(self) -> str:
        return video_url(self.video_id)


@dataclass(frozen=True)
class Moment:
    """A labelled moment in a lecture video that the outline links to."""

    video_id: str
    seconds: int
    label: str  # what the video covers from this moment on, as the book shows it
    topic: str  # the outline topic that links here, as the outline words it
    section: int  # the number of the section that topic belongs to

    @property
    def timestamp(self) -> str:
        return format_timestamp(self.seconds)

    @property
    def url(self) -> str:
        return video_url(self.video_id, self.seconds)


@dataclass(frozen=True)
class Topic:
    """A topic of a section, with the video moments the outline gives for it."""

    title: str
    moments: tuple[Moment, ...] = ()


@dataclass(frozen=True)
class Section:
    """One of the four sections of the course."""

    number: int
    title: str
    topics: tuple[Topic, ...]
    exercises: tuple[str, ...] = ()
    bonus: tuple[str, ...] = ()


# --- the outline ------------------------------------------------------------------

LESSONS: tuple[Lesson, ...] = (
    Lesson(1, "Recognizing cats and dogs", "IPBSB1HLNLo"),
    Lesson(2, "Convolutional neural networks", "JNxcznsrRb8"),
    Lesson(3, "Improving your image classifier", "9C06ZPF8Uuc"),
    Lesson(4, "Structured, time series & language models", "gbceqO8PpBg"),
    Lesson(5, "Collaborative filtering; inside the training loop", "J99NV9Cr75I"),
    Lesson(6, "Interpreting embeddings; RNNs from scratch", "sHcLkfRrgoQ"),
    Lesson(7, "Resnets from scratch", "H3g26EVADgY"),
)


def _topic(section: int, title: str, *links: tuple[str, str, str]) -> Topic:
    """A topic whose links are ``(video_id, t, label)`` with ``t`` as in the outline's URLs."""
    moments = tuple(
        Moment(video_id, parse_timestamp(t), label, title, section) for video_id, t, label in links
    )
    return Topic(title, moments)


SECTIONS: tuple[Section, ...] = (
    Section(
        1,
        "Preparatory Session",
        topics=(
            Topic("Working with Jupyter notebook"),
            Topic("Numpy for absolute dummies"),
            Topic("MLP for dummies"),
        ),
    ),
    Section(
        2,
        "Image Understanding",
        topics=(
            _topic(
                2,
                'The "Top-Down" approach to study',
                ("IPBSB1HLNLo", "2m11s", "The top-down approach to study"),
            ),
            _topic(
                2,
                "Setting up a paperspace.com account",
                ("IPBSB1HLNLo", "6m11s", "Setting up a paperspace.com account"),
            ),
            _topic(
                2,
                'The "Dogs vs Cats" example (ResNet)',
                ("IPBSB1HLNLo", "12m30s", "The dogs vs cats example (ResNet)"),
            ),
            _topic(
                2,
                "Our first deep learning model",
                ("IPBSB1HLNLo", "20m20s", "Our first deep learning model"),
            ),
            _topic(
                2,
                "Non-linearity and Stochastic Gradient Descent",
                ("IPBSB1HLNLo", "1h2m11s", "Non-linearity and stochastic gradient descent"),
            ),
            _topic(
                2,
                "Visualizing and understanding Convolutional Neural Nets",
                ("IPBSB1HLNLo", "1h8m20s", "Visualizing and understanding convolutional nets"),
                ("9C06ZPF8Uuc", "42m15s", "Visualizing and understanding convolutional nets"),
                ("9C06ZPF8Uuc", "49m45s", "A convolutional net demo in Excel"),
            ),
            _topic(
                2,
                "Learning rate and LR Finder",
                ("JNxcznsrRb8", "4m45s", "The learning rate and the LR finder"),
            ),
            _topic(
                2,
                "Differential learning rate",
                ("JNxcznsrRb8", "43m45s", "Differential learning rates"),
            ),
            _topic(2, "Momentum", ("J99NV9Cr75I", "1h53m45s", "Momentum")),
            Topic("Minibatch Gradient Descent"),
            _topic(2, "Optimizers (ADAM)", ("J99NV9Cr75I", "1h59m5s", "Optimizers: Adam")),
            Topic("Overfitting and how to deal with it?"),
            Topic("Dropout"),
            _topic(
                2,
                "Weight decay or L2 Regularization",
                ("J99NV9Cr75I", "2h12m1s", "Weight decay (L2 regularization)"),
            ),
            _topic(
                2,
                "Data Augmentation",
                ("JNxcznsrRb8", "15m", "Data augmentation"),
                ("JNxcznsrRb8", "24m10s", "Data augmentation (continued)"),
            ),
            _topic(2, "Confusion matrix", ("JNxcznsrRb8", "1h11m45s", "The confusion matrix")),
            _topic(
                2,
                "Multi-label image classification",
                ("9C06ZPF8Uuc", "1h20m30s", "Multi-label image classification"),
            ),
        ),
        exercises=(
            "Dog_Breeds_Identification competition on Kaggle",
            "Use a better architecture (ResneXt)",
            "CIFAR 10 classification",
        ),
        bonus=(
            "Math for deep learning (Differential Calculus, Exponentiation & Logarithm)",
            "Transfer Learning using differential learning rates",
            "ResNet from scratch",
            "Real-Time object detection",
        ),
    ),
    Section(
        3,
        "Working with Structured Data",
        topics=(
            Topic("Embeddings"),
            Topic("Categorical & continuous variables"),
            Topic("Rossmann Kaggle competition"),
        ),
    ),
    Section(
        4,
        "Natural Language Processing and Recommendation Systems",
        topics=(
            _topic(4, "Intro to NLP", ("gbceqO8PpBg", "1h23m30s", "An introduction to NLP")),
            _topic(
                4,
                "Creating a language model",
                ("gbceqO8PpBg", "1h31m15s", "Creating a language model"),
            ),
            _topic(4, "Tokenization", ("gbceqO8PpBg", "1h39m30s", "Tokenization")),
            _topic(4, "Build a vocabulary", ("gbceqO8PpBg", "1h43m45s", "Building a vocabulary")),
            Topic("Collaborative Filtering with Movielens"),
            _topic(
                4,
                "Recurrent Neural Nets",
                ("sHcLkfRrgoQ", "1h9m15s", "Recurrent neural nets (part 1)"),
                ("sHcLkfRrgoQ", "1h36m5s", "Recurrent neural nets (part 2)"),
                ("sHcLkfRrgoQ", "1h48m45s", "Recurrent neural nets (part 3)"),
                ("H3g26EVADgY", "3m4s", "Recurrent neural nets (part 4)"),
            ),
            Topic("GRU and LSTM cells for training long sequence of RNNs"),
            _topic(
                4,
                "Long Short Term Memory",
                ("H3g26EVADgY", "53m40s", "Long short-term memory (LSTM)"),
            ),
        ),
    ),
)

# Every moment of the outline, in outline order.
MOMENTS: tuple[Moment, ...] = tuple(
    moment for section in SECTIONS for topic in section.topics for moment in topic.moments
)


def lesson_for_video(video_id: str) -> Lesson | None:
    """The lesson whose lecture is ``video_id``, or ``None`` for a video outside the course."""
    return next((lesson for lesson in LESSONS if lesson.video_id == video_id), None)


def moments_for_video(video_id: str) -> tuple[Moment, ...]:
    """The outline's moments in one video, in time order."""
    return tuple(sorted((m for m in MOMENTS if m.video_id == video_id), key=lambda m: m.seconds))
