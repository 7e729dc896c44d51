"""Interactive figures for the course book, built with Plotly and drawn offline by plotly.js.

Every builder returns a :class:`plotly.graph_objects.Figure` whose interactions
(animation frames, sliders, buttons) are precomputed, since the static site has no
kernel; every figure uses only 2-D cartesian trace types (so its page loads plotly.js's
smaller cartesian bundle) and stays under 1,000,000 bytes of JSON
(:func:`~course_utils.viz.style.check_figure_size`).

* :mod:`~course_utils.viz.conv` (lesson 3): the convolution explorer, ReLU and max-pooling.
* :mod:`~course_utils.viz.sgd` (lessons 2 and 5): SGD fitting a line, on the loss surface.
* :mod:`~course_utils.viz.optimizers` (lesson 5): SGD, momentum and Adam racing.
* :mod:`~course_utils.viz.nonlinear` (lessons 1-2): activations; a tiny network vs a line.
* :mod:`~course_utils.viz.training` (lessons 1-2 on): LR finder, schedules, losses,
  confusion matrix, image grids, PCA of embeddings.
* :mod:`~course_utils.viz.style`: the shared layout, palette and size check.
"""

from course_utils.viz.conv import (
    KERNELS,
    conv_explorer,
    conv_stages,
    first_layer_kernels,
    prepare_image,
)
from course_utils.viz.nonlinear import (
    activations,
    activations_figure,
    fit_nonlinear,
    nonlinear_data,
)
from course_utils.viz.optimizers import OPTIMIZERS_FROM, SURFACES, optimizer_paths, optimizer_race
from course_utils.viz.sgd import mse, sgd_data, sgd_explorer, sgd_path
from course_utils.viz.style import (
    NEUTRAL,
    OKABE_ITO,
    PALETTE,
    FigureTooLargeError,
    check_figure_size,
    style_figure,
)
from course_utils.viz.training import (
    example_titles,
    pca_2d,
    plot_confusion_matrix,
    plot_embeddings_pca,
    plot_image_grid,
    plot_losses,
    plot_lr_find,
    plot_one_cycle,
    plot_schedule,
    plot_sgdr,
)

__all__ = [
    "KERNELS",
    "NEUTRAL",
    "OKABE_ITO",
    "OPTIMIZERS_FROM",
    "PALETTE",
    "SURFACES",
    "FigureTooLargeError",
    "activations",
    "activations_figure",
    "check_figure_size",
    "conv_explorer",
    "conv_stages",
    "example_titles",
    "first_layer_kernels",
    "fit_nonlinear",
    "mse",
    "nonlinear_data",
    "optimizer_paths",
    "optimizer_race",
    "pca_2d",
    "plot_confusion_matrix",
    "plot_embeddings_pca",
    "plot_image_grid",
    "plot_losses",
    "plot_lr_find",
    "plot_one_cycle",
    "plot_schedule",
    "plot_sgdr",
    "prepare_image",
    "sgd_data",
    "sgd_explorer",
    "sgd_path",
    "style_figure",
]
