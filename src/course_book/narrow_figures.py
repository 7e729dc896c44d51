"""Multi-panel figures re-flowed for a phone.

A figure laid out for the desktop column (about 670 px wide) with panels side by side
squeezes each panel to a sliver on a phone (about 340 px): tick labels, panel titles and
numbers pile into each other. :func:`narrow_layout` computes, at build time, the layout
overrides that re-flow such a figure into fewer columns for a narrow canvas: each panel
keeps a width it can be read at (an image keeps its aspect ratio, so it grows taller as
it grows wider), rows stack downwards, and everything placed in paper coordinates
(panel titles, labels, buttons, sliders, legends) moves with the panel it belongs to or
keeps its distance in pixels from the plot's edge.

``course_plotly.js`` applies the overrides when the figure's canvas is narrower than
:data:`NARROW_BELOW_PX`, and then fixes what only the browser can measure (titles that
must wrap, button rows too long for the width, slider labels that overlap).

The geometry, in pixels: ``W`` and ``H`` are the plot area's width and height (the
figure less its margins); a panel's domain ``[a, b]`` spans ``(b - a) * W`` pixels.
"""

from __future__ import annotations

import base64
import math
import re
import struct
from dataclasses import dataclass, field

NARROW_BELOW_PX = 600  # a canvas narrower than this gets the narrow layout
DESKTOP_CANVAS_PX = 672  # the canvas in the book's column on a desktop screen
PHONE_CANVAS_PX = 340  # the canvas on a 390 px phone screen, which the re-flow targets

CHAR_EM = 0.6  # a character's width in ems of the font (Plotly's default sans-serif)
LINE_PX = 1.3  # a line's height in ems
IMAGE_MIN_PX = 56  # an image or heatmap without tick labels is readable this small
TICKED_IMAGE_MIN_PX = 120  # ... one with tick labels on its axes
PLOT_MIN_PX = 230  # a line or bar chart: one to a row on a phone
IMAGE_MAX_PX = 230  # an image grows with its panel's width, up to this height
# Between panels in a row: images without tick labels, with them (room for the y axis's),
# and plots.
IMAGE_GAP_PX, TICKED_IMAGE_GAP_PX, PLOT_GAP_PX = 10, 40, 50
AXIS_KEY = re.compile(r"^([xy])axis(\d*)$")


@dataclass
class Panel:
    """One subplot: its axes, its domains (paper fractions) and what it draws."""

    xaxis: str  # layout key: "xaxis", "xaxis2", ...
    yaxis: str
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]
    image_like: bool  # a picture (heatmap, image) whose height follows its width
    ticks: bool  # tick labels shown on either axis
    x_title: bool
    aspect: float | None = None  # its picture's height / width in pixels, when known
    title_px: float = 0.0  # width of its widest title line, estimated
    title_lines: int = 0
    new_x: tuple[float, float] = (0.0, 1.0)
    new_y: tuple[float, float] = (0.0, 1.0)
    annotations: list[int] = field(default_factory=list)

    @property
    def min_px(self) -> float:
        if not self.image_like:
            floor = PLOT_MIN_PX
        elif self.ticks:
            floor = TICKED_IMAGE_MIN_PX
        else:
            floor = IMAGE_MIN_PX
        return max(floor, self.title_px)


def _axis_ref(key: str) -> str:
    """ "xaxis2" -> "x2": the name traces and annotations use for an axis."""
    letter, number = AXIS_KEY.match(key).groups()
    return letter + number


def _axis_key(ref: str) -> str:
    """ "x2" -> "xaxis2"."""
    return f"{ref[0]}axis{ref[1:]}"


def _domain(axis: dict) -> tuple[float, float]:
    low, high = axis.get("domain") or (0.0, 1.0)
    return float(low), float(high)


def _text_px(text: str, font_size: float) -> tuple[float, int]:
    """An estimate of a label's widest line in pixels, and its number of lines."""
    lines = re.split(r"<br\s*/?>", re.sub(r"<(?!br)[^>]+>", "", str(text)))
    return max(len(line) for line in lines) * font_size * CHAR_EM, len(lines)


def find_panels(figure: dict) -> list[Panel]:
    """The figure's subplots, one per x axis that has traces, with the traces' kinds."""
    layout = figure.get("layout", {})
    traces_on: dict[str, list[dict]] = {}
    for trace in figure.get("data", []):
        traces_on.setdefault(trace.get("xaxis", "x"), []).append(trace)
    panels = []
    for key in sorted(k for k in layout if AXIS_KEY.match(k) and k.startswith("x")):
        traces = traces_on.get(_axis_ref(key), [])
        if not traces:
            continue
        xaxis = layout[key]
        y_key = _axis_key(traces[0].get("yaxis", "y"))
        yaxis = layout.get(y_key, {})
        shows = [
            axis.get("showticklabels", True) and axis.get("visible", True)
            for axis in (xaxis, yaxis)
        ]
        pictures = [t for t in traces if t.get("type") in ("heatmap", "image")]
        # an image trace, or an axis scale-anchored to the other, keeps the aspect ratio
        locked = any(t.get("type") == "image" for t in traces) or bool(
            yaxis.get("scaleanchor") or xaxis.get("scaleanchor")
        )
        panels.append(
            Panel(
                xaxis=key,
                yaxis=y_key,
                x_domain=_domain(xaxis),
                y_domain=_domain(yaxis),
                image_like=bool(pictures) and (locked or len(pictures) == len(traces)),
                aspect=_aspect(pictures, yaxis) if locked else None,
                ticks=any(shows),
                x_title=bool((xaxis.get("title") or {}).get("text")),
            )
        )
    return panels


def _shape(trace: dict) -> tuple[int, int] | None:
    """(rows, columns) of a heatmap's or an image's pixels, if the figure says."""
    z = trace.get("z")
    if isinstance(z, dict) and "shape" in z:  # a typed array: {"dtype", "bdata", "shape"}
        rows, cols, *_ = (int(n) for n in str(z["shape"]).split(","))
        return rows, cols
    if isinstance(z, list) and z and isinstance(z[0], list):
        return len(z), len(z[0])
    source = str(trace.get("source", ""))
    if source.startswith("data:image/png;base64,"):
        header = base64.b64decode(source[22:54])  # the IHDR chunk: width, height at 16
        width, height = struct.unpack(">II", header[16:24])
        return height, width
    return None


def _aspect(pictures: list[dict], yaxis: dict) -> float | None:
    """Height over width, in pixels, of the tallest picture drawn in a panel whose
    pixels are locked (``scaleratio``: a y unit's pixels over an x unit's)."""
    aspects = []
    for trace in pictures:
        shape = _shape(trace)
        if shape is None:
            return None
        rows, cols = shape
        dx, dy = float(trace.get("dx", 1)), float(trace.get("dy", 1))
        ratio = 1.0 if trace.get("type") == "image" else float(yaxis.get("scaleratio", 1))
        aspects.append(rows * dy * ratio / (cols * dx))
    return max(aspects) if aspects else None


def _grid(panels: list[Panel]) -> list[list[Panel]]:
    """The panels in rows, top row first, each row left to right."""
    rows: dict[float, list[Panel]] = {}
    for panel in panels:
        rows.setdefault(round(panel.y_domain[1], 3), []).append(panel)
    return [sorted(rows[top], key=lambda p: p.x_domain[0]) for top in sorted(rows, reverse=True)]


def _owner(panels: list[Panel], x: float, y: float) -> Panel | None:
    """The panel a paper-coordinates point belongs to: inside its columns, and inside or
    just above or below its rows (a panel title sits on its top edge)."""
    best, best_distance = None, 0.12  # paper fractions
    for panel in panels:
        (x0, x1), (y0, y1) = panel.x_domain, panel.y_domain
        if not x0 - 0.01 <= x <= x1 + 0.01:
            continue
        distance = 0.0 if y0 <= y <= y1 else min(abs(y - y0), abs(y - y1))
        if distance < best_distance or (distance == best_distance == 0.0 and best is None):
            best, best_distance = panel, distance
    return best


class _Mapper:
    """Maps paper coordinates of the desktop layout to those of the narrow one."""

    def __init__(self, old_w: float, old_h: float, new_w: float, new_h: float) -> None:
        self.old_w, self.old_h, self.new_w, self.new_h = old_w, old_h, new_w, new_h

    def figure_y(self, y: float) -> float:
        """Outside the plot area: the same pixels from its nearer edge."""
        if y >= 1:
            return 1 + (y - 1) * self.old_h / self.new_h
        if y <= 0:
            return y * self.old_h / self.new_h
        return y

    def panel_x(self, panel: Panel, x: float) -> float:
        (a, b), (c, d) = panel.x_domain, panel.new_x
        return c + (x - a) / (b - a) * (d - c)

    def panel_y(self, panel: Panel, y: float) -> float:
        (a, b), (c, d) = panel.y_domain, panel.new_y
        if y > b:  # above the panel: the same pixels above its top
            return d + (y - b) * self.old_h / self.new_h
        if y < a:
            return c - (a - y) * self.old_h / self.new_h
        return c + (y - a) / (b - a) * (d - c)


def narrow_layout(figure: dict, canvas_px: int = PHONE_CANVAS_PX) -> dict | None:
    """Layout overrides for a canvas ``canvas_px`` wide: ``figure``'s panels re-flowed
    (:func:`reflow`), and a slider that starts right of its play and pause buttons given
    the whole width, the buttons under it (:func:`slider_under_buttons`); None when
    nothing needs to change.

    The overrides are top-level layout keys with their whole new value (axes' domains,
    the height, the annotations and other paper-placed lists): a shallow update.
    """
    overrides = reflow(figure, canvas_px) or {}
    overrides.update(slider_under_buttons({**figure.get("layout", {}), **overrides}))
    return overrides or None


SLIDER_UNDER_PX = 64  # how far the play and pause buttons move down: under the slider's labels


def slider_under_buttons(layout: dict) -> dict:
    """On a phone, a slider whose rail starts right of the play and pause buttons
    (``pad.l``, see ``course_utils.viz.style.frame_slider``) keeps too little rail, or
    none: the rail takes the whole width, and the buttons go under it."""
    menus, sliders = layout.get("updatemenus") or [], layout.get("sliders") or []
    playing = [
        i
        for i, menu in enumerate(menus)
        if menu.get("buttons") and all(b.get("method") == "animate" for b in menu["buttons"])
    ]
    beside = [i for i, s in enumerate(sliders) if (s.get("pad") or {}).get("l", 0) >= 100]
    if not (playing and beside):
        return {}
    menus = [dict(m) for m in menus]
    for i in playing:
        pad = dict(menus[i].get("pad") or {})
        pad["t"] = pad.get("t", 0) + SLIDER_UNDER_PX
        menus[i]["pad"] = pad
    sliders = [dict(s) for s in sliders]
    for i in beside:
        sliders[i]["pad"] = {**sliders[i]["pad"], "l": 0}
    margin = {"l": 80, "r": 80, "t": 100, "b": 80, **(layout.get("margin") or {})}
    margin["b"] += SLIDER_UNDER_PX
    return {
        "updatemenus": menus,
        "sliders": sliders,
        "margin": margin,
        "height": int(layout.get("height") or 450) + SLIDER_UNDER_PX,
    }


def reflow(figure: dict, canvas_px: int = PHONE_CANVAS_PX) -> dict | None:
    """Layout overrides that re-flow ``figure``'s panels for a canvas ``canvas_px`` wide,
    or None when its panels already fit (one column, or wide enough)."""
    layout = figure.get("layout", {})
    panels = find_panels(figure)
    rows = _grid(panels)
    columns = max((len(row) for row in rows), default=0)
    if columns < 2:
        return None
    font = float((layout.get("font") or {}).get("size", 12))
    annotations = [dict(a) for a in layout.get("annotations", [])]
    for index, note in enumerate(annotations):
        if note.get("xref", "x") == note.get("yref", "y") == "paper":
            owner = _owner(panels, float(note.get("x", 0.5)), float(note.get("y", 0.5)))
            if owner is not None:
                owner.annotations.append(index)
                size = float((note.get("font") or {}).get("size", font))
                width, lines = _text_px(note.get("text", ""), size)
                owner.title_px = max(owner.title_px, width)
                owner.title_lines = max(owner.title_lines, lines)

    margin = {"l": 80, "r": 80, "t": 100, "b": 80, **(layout.get("margin") or {})}
    old_w = float(layout.get("width") or DESKTOP_CANVAS_PX) - margin["l"] - margin["r"]
    old_h = float(layout.get("height") or 450) - margin["t"] - margin["b"]
    new_w = canvas_px - margin["l"] - margin["r"]
    if not all(p.image_like for p in panels):
        gap = PLOT_GAP_PX
    else:
        gap = TICKED_IMAGE_GAP_PX if any(p.ticks for p in panels) else IMAGE_GAP_PX
    needed = max(p.min_px for p in panels)
    fit = max(1, min(columns, int((new_w + gap) // (needed + gap))))
    widest_row_fits = all(
        (p.x_domain[1] - p.x_domain[0]) * new_w >= p.min_px for row in rows for p in row
    )
    if widest_row_fits:
        return None

    # Re-flow, row by row of the desktop layout, into rows of `fit` panels.
    flowed = [row[i : i + fit] for row in rows for i in range(0, len(row), fit)]
    panel_w = (new_w - (fit - 1) * gap) / fit
    heights, gaps = [], []
    for index, row in enumerate(flowed):
        scaled = []
        for p in row:
            old_px_w = (p.x_domain[1] - p.x_domain[0]) * old_w
            old_px_h = (p.y_domain[1] - p.y_domain[0]) * old_h
            if p.image_like:
                # as high as the picture at the new width (or the panel was), up to a cap
                aspect = p.aspect if p.aspect is not None else old_px_h / old_px_w
                shown = min(old_px_h, old_px_w * aspect)  # the picture's height before
                scaled.append(min(panel_w * aspect, max(shown, IMAGE_MAX_PX)))
            else:
                scaled.append(old_px_h)
        heights.append(max(scaled))
        if index:  # room for the row above's x axis and this row's panel titles
            above = flowed[index - 1]
            below_px = max((28 if p.ticks else 6) + (22 if p.x_title else 0) for p in above)
            title_px = max(p.title_lines for p in row) * font * LINE_PX
            gaps.append(below_px + title_px + 8)
    new_h = sum(heights) + sum(gaps)
    top = new_h
    for index, row in enumerate(flowed):
        if index:
            top -= gaps[index - 1]
        for column, p in enumerate(row):
            left = column * (panel_w + gap)
            p.new_x = (left / new_w, (left + panel_w) / new_w)
            p.new_y = ((top - heights[index]) / new_h, top / new_h)
        top -= heights[index]
    mapper = _Mapper(old_w, old_h, new_w, new_h)

    overrides: dict = {"height": math.ceil(new_h + margin["t"] + margin["b"])}
    for p in panels:
        overrides[p.xaxis] = {**layout.get(p.xaxis, {}), "domain": _rounded(p.new_x)}
        overrides[p.yaxis] = {**layout.get(p.yaxis, {}), "domain": _rounded(p.new_y)}
    owner_of = {i: p for p in panels for i in p.annotations}
    for index, note in enumerate(annotations):
        if note.get("xref", "x") != "paper" or note.get("yref", "y") != "paper":
            continue
        if index in owner_of:
            p = owner_of[index]
            note["x"] = round(mapper.panel_x(p, float(note.get("x", 0.5))), 4)
            note["y"] = round(mapper.panel_y(p, float(note.get("y", 0.5))), 4)
        else:
            note["y"] = round(mapper.figure_y(float(note.get("y", 0.5))), 4)
    if annotations:
        overrides["annotations"] = annotations
    for key in ("updatemenus", "sliders"):
        if layout.get(key):
            overrides[key] = [
                {**item, "y": round(mapper.figure_y(float(item.get("y", 1))), 4)}
                for item in layout[key]
            ]
    legend = layout.get("legend") or {}
    if "y" in legend:
        overrides["legend"] = {**legend, "y": round(mapper.figure_y(float(legend["y"])), 4)}
    return overrides


def _rounded(pair: tuple[float, float]) -> list[float]:
    return [round(min(max(v, 0.0), 1.0), 4) for v in pair]
