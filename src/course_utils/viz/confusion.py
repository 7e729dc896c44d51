"""The confusion matrix (lesson 2: the augmentation chapter, and the CIFAR-10
exercise): a heatmap of how often each actual class was predicted as each
class, with the count in every cell.

It draws the array :func:`course_utils.metrics.confusion_matrix` and
:meth:`~course_utils.interpret.Interpretation.confusion_matrix` return.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.style import finish_figure, style_figure

__all__ = ["plot_confusion_matrix"]


def plot_confusion_matrix(
    cm, classes: Sequence[str] | None = None, *, title: str | None = None
) -> go.Figure:
    """The confusion matrix ``cm[actual, predicted]`` (as
    :func:`course_utils.metrics.confusion_matrix` and
    :meth:`~course_utils.interpret.Interpretation.confusion_matrix` return it) as a
    heatmap with the count in each cell, read like a table: actual classes down the
    rows, predicted classes across the columns."""
    if hasattr(cm, "detach"):
        cm = cm.detach().cpu().numpy()
    counts = np.asarray(cm)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"a confusion matrix is square (C, C), got shape {counts.shape}")
    if not (np.isfinite(counts).all() and (counts >= 0).all() and (counts == counts.round()).all()):
        raise ValueError("a confusion matrix holds counts: non-negative whole numbers")
    counts = counts.astype(np.int64)
    n = len(counts)
    classes = [str(c) for c in classes] if classes is not None else [str(i) for i in range(n)]
    if len(classes) != n:
        raise ValueError(f"got {len(classes)} class names for a {n}x{n} confusion matrix")
    hover = [
        [f"actual {a}, predicted {p}: {counts[i, j]}" for j, p in enumerate(classes)]
        for i, a in enumerate(classes)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=counts.tolist(),
            x=classes,
            y=classes,
            text=[[str(v) for v in row] for row in counts.tolist()],
            texttemplate="%{text}",
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            colorscale="Viridis",  # sequential and colour-blind safe
            zmin=0,
            colorbar=dict(title=dict(text="count")),
        )
    )
    side = min(900, 260 + 36 * n)
    style_figure(fig, title or "Confusion matrix", height=side)
    # categories: class names such as "3" must not become numbers on a linear axis
    fig.update_xaxes(title_text="predicted", type="category", tickangle=-45 if n > 8 else 0)
    fig.update_yaxes(title_text="actual", type="category", autorange="reversed", scaleanchor="x")
    return finish_figure(fig)
