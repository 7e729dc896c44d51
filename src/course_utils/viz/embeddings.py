"""Embeddings in two dimensions: the rows of an (N, D) embedding matrix projected on their
first two principal components, one colour per label, a hover text on each point. Lesson 6
plots the movie embeddings of lessons 4-5 this way; the book's figure gallery plots a
CNN's image features.

:func:`pca_2d` computes the projection (NumPy's SVD), :func:`plot_embeddings_pca`
draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.style import NEUTRAL, PALETTE, compact, finish_figure, style_figure

__all__ = ["pca_2d", "plot_embeddings_pca"]


def pca_2d(embeddings) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of ``embeddings`` (N, D): the coordinates
    (N, 2) and the fraction of the variance each explains (2,).

    Centre the rows, take the SVD ``X_c = U S V^T``; the coordinates are
    ``X_c V[:, :2] = U[:, :2] S[:2]`` and component k explains ``S_k^2 / sum S^2`` of the
    variance. Signs are arbitrary; each axis is flipped so that its largest loading is
    positive.
    """
    if hasattr(embeddings, "detach"):
        embeddings = embeddings.detach().cpu().numpy()
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(
            f"embeddings must be 2-D (N, D) with N >= 2 rows and D >= 2 columns, got {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("the embeddings have NaN or infinite values")
    centred = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)  # (N, K), (K,), (K, D)
    signs = np.sign(vt[np.arange(2), np.abs(vt[:2]).argmax(axis=1)])  # (2,)
    signs[signs == 0] = 1
    coords = u[:, :2] * s[:2] * signs  # (N, 2)
    total = float((s**2).sum())
    explained = (s[:2] ** 2) / total if total > 0 else np.zeros(2)
    return coords, explained


def plot_embeddings_pca(
    embeddings,
    labels: Sequence | None = None,
    hover: Sequence[str] | None = None,
    *,
    title: str | None = None,
    show_text: bool = False,
    path: bool = False,
) -> go.Figure:
    """Embeddings (N, D) projected on their first two principal components (:func:`pca_2d`),
    one colour per label, ``hover`` texts (e.g. movie titles) on each point; the axis
    titles give the share of the variance each component explains.

    ``show_text`` writes each point's hover text beside it (for a few dozen points, such as
    the hours of a day); ``path`` joins the points with a thin line in row order, for
    levels that have an order (hours, months), so a reader can follow it round."""
    coords, explained = pca_2d(embeddings)
    n = len(coords)
    if labels is None:
        labels = ["all"] * n
    labels = [str(label) for label in labels]
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} embeddings")
    if hover is not None and len(hover) != n:
        raise ValueError(f"got {len(hover)} hover texts for {n} embeddings")
    groups = list(dict.fromkeys(labels))  # the labels in order of first appearance
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "cross"]
    fig = go.Figure()
    if path:  # under the points: row order, across the groups
        fig.add_trace(
            go.Scatter(
                x=compact(coords[:, 0], 4),
                y=compact(coords[:, 1], 4),
                mode="lines",
                line=dict(color=NEUTRAL, width=1),
                name="in order",
                hoverinfo="skip",
                showlegend=False,
            )
        )
    for g, group in enumerate(groups):
        rows = [i for i, label in enumerate(labels) if label == group]
        names = [str(hover[i]) for i in rows] if hover is not None else [group] * len(rows)
        fig.add_trace(
            go.Scatter(
                x=compact(coords[rows, 0], 4),
                y=compact(coords[rows, 1], 4),
                mode="markers+text" if show_text else "markers",
                textposition=[_label_side(coords[i, 0], coords[:, 0]) for i in rows],
                cliponaxis=not show_text,  # a label near the edge is drawn whole
                marker=dict(
                    color=PALETTE[g % len(PALETTE)],
                    symbol=symbols[(g // len(PALETTE)) % len(symbols)],
                    size=8,
                    opacity=0.85,
                ),
                name=group,
                text=names,
                customdata=rows,  # the row of each point in `embeddings`
                hovertemplate="%{text}<br>PC1 %{x:.3f}, PC2 %{y:.3f}<extra>" + group + "</extra>",
            )
        )
    style_figure(fig, title or "Embeddings: the first two principal components", height=550)
    fig.update_xaxes(title_text=f"PC1 ({100 * explained[0]:.1f}% of the variance)")
    fig.update_yaxes(title_text=f"PC2 ({100 * explained[1]:.1f}% of the variance)")
    fig.update_layout(showlegend=len(groups) > 1)
    return finish_figure(fig)


def _label_side(x: float, xs: np.ndarray) -> str:
    """Where a point's label goes: above it, leaning away from the nearer edge of the
    plot when the point is in the outer fifth of the x range (so the label stays clear
    of the axis's tick labels and of the figure's edge)."""
    low, high = float(xs.min()), float(xs.max())
    span = high - low or 1.0
    if x < low + 0.2 * span:
        return "top right"
    if x > high - 0.2 * span:
        return "top left"
    return "top center"
