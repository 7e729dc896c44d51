"""The training diagnostics of course_utils.viz (lr_find, losses, schedules, grids,
embeddings) refuse input they cannot draw, with a message that says what is wrong, and
take tensors as well as arrays."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from course_utils.viz import (
    pca_2d,
    plot_embeddings_pca,
    plot_image_grid,
    plot_losses,
    plot_lr_find,
    plot_one_cycle,
)


def sweep(lrs, losses, smoothed):
    return SimpleNamespace(
        lrs=lrs, losses=losses, smoothed_losses=smoothed, diverged=False, suggestion=1e-3
    )


def test_lr_find_plot_checks_the_result():
    with pytest.raises(ValueError, match="differ in length"):
        plot_lr_find(sweep([1e-3, 1e-2], [1.0, 0.9, 0.8], [1.0, 0.9]))
    with pytest.raises(ValueError, match="log axis"):
        plot_lr_find(sweep([0.0, 1e-2], [1.0, 0.9], [1.0, 0.9]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        plot_lr_find(sweep([1e-3, 1e-2], [1.0, 0.9], [np.nan, np.inf]))


def test_losses_and_schedule_plots_check_their_arguments():
    rec = SimpleNamespace(losses=[1.0, 0.5], valid_losses=[0.6], metrics={})
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\)"):
        plot_losses(rec, beta=1.0)
    with pytest.raises(ValueError, match="positive int"):
        plot_one_cycle(n_iter=0)


def test_image_grid_checks_and_takes_tensors():
    with pytest.raises(ValueError, match="no images"):
        plot_image_grid([])
    with pytest.raises(ValueError, match="cols must be at least 1"):
        plot_image_grid([np.zeros((4, 4), dtype=np.uint8)], cols=0)
    fig = plot_image_grid([torch.zeros(6, 6, 3)])  # a tensor, channels last
    assert fig.data[0].type == "image" and fig.data[0].name == "image 0"


def test_embeddings_take_tensors_and_check_their_labels():
    embeddings = torch.tensor(np.random.default_rng(0).normal(size=(10, 3)))
    coords, explained = pca_2d(embeddings)
    assert coords.shape == (10, 2) and 0 < explained[1] <= explained[0] < 1
    fig = plot_embeddings_pca(embeddings)  # no labels: one group, no legend
    assert [t.name for t in fig.data] == ["all"] and fig.layout.showlegend is False
    with pytest.raises(ValueError, match="hover texts"):
        plot_embeddings_pca(embeddings, None, ["one"])
    with pytest.raises(ValueError, match="NaN or infinite"):
        plot_embeddings_pca(np.full((3, 3), np.nan))
