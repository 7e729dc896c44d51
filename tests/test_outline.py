"""The course outline as data (course_book.outline) against the seed outlines it came from."""

from __future__ import annotations

import re

import pytest
from helpers import REPO

from course_book.outline import (
    LESSONS,
    MOMENTS,
    SECTIONS,
    format_timestamp,
    lesson_for_video,
    moments_for_video,
    parse_timestamp,
    video_url,
)

SEEDS = REPO.parent / "shared" / "seeds"
STRUCTURE = SEEDS / "000_86787e60c42de2d3.txt"
LINK = re.compile(r"https://youtu\.be/([A-Za-z0-9_-]{11})\?t=([0-9hms]+)")


# --- timestamps ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1:02:11", 3731),
        ("2:11", 131),
        ("12:30", 750),
        ("0:00", 0),
        ("62:11", 3731),
        ("3731", 3731),
        ("0", 0),
        ("1h2m11s", 3731),
        ("2h12m1s", 7921),
        ("15m", 900),
        ("45s", 45),
        ("90s", 90),
        ("1h", 3600),
        ("1h5s", 3605),
        ("  2:11 ", 131),
    ],
)
def test_parse_timestamp(text, seconds):
    assert parse_timestamp(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", " ", "abc", "2:7x", "1:2", "1:60", "1:60:00", "1:00:60", "1h60m", "1m60s", "-5", "1.5",
     "h", "1s2m", "2:11 label"],
)  # fmt: skip
def test_parse_timestamp_rejects_bad_text_and_names_it(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_timestamp(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (5, "0:05"), (131, "2:11"), (900, "15:00"), (3731, "1:02:11"), (7921, "2:12:01")],
)
def test_format_timestamp(seconds, text):
    assert format_timestamp(seconds) == text


def test_format_then_parse_round_trips():
    for seconds in range(0, 4 * 3600, 37):
        assert parse_timestamp(format_timestamp(seconds)) == seconds


def test_format_timestamp_rejects_negative_seconds():
    with pytest.raises(ValueError, match="-1"):
        format_timestamp(-1)


def test_video_url():
    assert video_url("IPBSB1HLNLo") == "https://youtu.be/IPBSB1HLNLo"
    assert video_url("IPBSB1HLNLo", 3731) == "https://youtu.be/IPBSB1HLNLo?t=3731"


# --- lessons and moments --------------------------------------------------------


def test_seven_lessons_with_distinct_videos():
    assert [lesson.number for lesson in LESSONS] == [1, 2, 3, 4, 5, 6, 7]
    assert len({lesson.video_id for lesson in LESSONS}) == 7
    for lesson in LESSONS:
        assert re.fullmatch(r"[A-Za-z0-9_-]{11}", lesson.video_id)
        assert lesson_for_video(lesson.video_id) is lesson
    assert lesson_for_video("xxxxxxxxxxx") is None
    assert LESSONS[0].heading == "Lesson 1 — Recognizing cats and dogs"


def test_lessons_match_the_seed_readme():
    readme = SEEDS / "README.md"
    if not readme.is_file():
        pytest.skip(f"the seed outlines are not at {SEEDS}")
    rows = re.findall(r"^\| (\d) — (.+?) \| ([A-Za-z0-9_-]{11}) \|$", readme.read_text(), re.M)
    assert [(int(n), title, vid) for n, title, vid in rows] == [
        (lesson.number, lesson.title, lesson.video_id) for lesson in LESSONS
    ]


def test_every_moment_is_in_a_lesson_video_and_unique():
    assert len({(m.video_id, m.seconds) for m in MOMENTS}) == len(MOMENTS)
    for moment in MOMENTS:
        assert lesson_for_video(moment.video_id) is not None
        assert moment.label and moment.topic
        assert moment.url == f"https://youtu.be/{moment.video_id}?t={moment.seconds}"


def test_moments_for_video_are_in_time_order():
    total = 0
    for lesson in LESSONS:
        moments = moments_for_video(lesson.video_id)
        assert moments, f"lesson {lesson.number} has no moments"
        assert [m.seconds for m in moments] == sorted(m.seconds for m in moments)
        total += len(moments)
    assert total == len(MOMENTS)


def test_examples_from_the_outline():
    by_key = {(m.video_id, m.seconds): m for m in MOMENTS}
    assert by_key["IPBSB1HLNLo", 3731].topic == "Non-linearity and Stochastic Gradient Descent"
    assert by_key["JNxcznsrRb8", 900].topic == "Data Augmentation"
    assert [m.timestamp for m in moments_for_video("JNxcznsrRb8")] == [
        "4:45",
        "15:00",
        "24:10",
        "43:45",
        "1:11:45",
    ]


# --- the structure outline, parsed ----------------------------------------------


def _bullet(line: str) -> str:
    """A bullet's text without its links and trailing period: the topic as the outline words it."""
    text = line[2:].split(" (https://", 1)[0].strip()
    return text.replace(". (", " (").removesuffix(".")


def parse_structure(text: str) -> dict[int, dict]:
    """Per section number: its title, topics, exercises, bonus items and links."""
    sections: dict[int, dict] = {}
    current: dict | None = None
    part = "topics"
    for line in text.splitlines():
        if match := re.match(r"## Section (\d) - (.+)", line):
            current = {"title": match[2], "topics": [], "exercises": [], "bonus": [], "links": []}
            sections[int(match[1])] = current
            part = "topics"
        elif line.startswith("Exercise"):
            part = "exercises"
        elif line.startswith("Bonus"):
            part = "bonus"
        elif line.startswith("- ") and current is not None:
            item = _bullet(line)
            if part == "topics" and item.startswith("(") and item.endswith(")"):
                # Section 3 lists its topics in one parenthesised line.
                current["topics"] += [t[0].upper() + t[1:] for t in item[1:-1].split(", ")]
            else:
                current[part].append(item)
            for video_id, t in LINK.findall(line):
                current["links"].append((video_id, parse_timestamp(t), item))
    return sections


@pytest.fixture(scope="module")
def structure() -> dict[int, dict]:
    if not STRUCTURE.is_file():
        pytest.skip(f"the structure outline is not at {STRUCTURE}")
    return parse_structure(STRUCTURE.read_text(encoding="utf-8"))


def test_every_outline_link_is_a_moment_and_back(structure):
    from_seed = {
        (video_id, seconds, number, topic)
        for number, section in structure.items()
        for video_id, seconds, topic in section["links"]
    }
    ours = {(m.video_id, m.seconds, m.section, m.topic) for m in MOMENTS}
    assert len(from_seed) == len(LINK.findall(STRUCTURE.read_text(encoding="utf-8")))
    assert ours == from_seed


def test_sections_topics_exercises_and_bonus_match_the_outline(structure):
    assert [s.number for s in SECTIONS] == sorted(structure) == [1, 2, 3, 4]
    for section in SECTIONS:
        seed = structure[section.number]
        assert section.title == seed["title"]
        assert [t.title for t in section.topics] == seed["topics"]
        assert list(section.exercises) == seed["exercises"]
        assert list(section.bonus) == seed["bonus"]


# --- the landing page ------------------------------------------------------------


def test_landing_page_lists_every_moment_of_every_lesson_in_time_order():
    index = (REPO / "book" / "index.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```\{video\} (\S+)\n(.*?)^```$", index, re.M | re.S)
    assert [video_id for video_id, _ in blocks] == [lesson.video_id for lesson in LESSONS]
    for video_id, body in blocks:
        lines = [line for line in body.splitlines() if line and not line.startswith(":")]
        expected = [f"{m.timestamp} {m.label}" for m in moments_for_video(video_id)]
        assert lines == expected, video_id


def test_landing_page_is_not_a_notebook():
    index = (REPO / "book" / "index.md").read_text(encoding="utf-8")
    assert not index.startswith("---")
    assert "code-cell" not in index
