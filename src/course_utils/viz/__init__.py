"""Interactive figures for the course book, built with Plotly and drawn offline by plotly.js.

Every builder returns a :class:`plotly.graph_objects.Figure` whose interactions
(animation frames, sliders, buttons) are precomputed, since the static site has no
kernel; every figure uses only 2-D cartesian trace types (so its page loads plotly.js's
smaller cartesian bundle) and stays under 1,000,000 bytes of JSON
(:func:`~course_utils.viz.style.check_figure_size`).

* :mod:`~course_utils.viz.conv_figure` (lesson 3): the convolution explorer, ReLU and
  max-pooling; :mod:`~course_utils.viz.conv` computes its numbers.
* :mod:`~course_utils.viz.sgd` (lessons 5 and 6): SGD fitting a line, on the loss surface.
* :mod:`~course_utils.viz.race_figure` (lesson 5): SGD, momentum and Adam racing;
  :mod:`~course_utils.viz.optimizers` computes their paths.
* :mod:`~course_utils.viz.nonlinear` (lessons 1-2): activations; a tiny network vs a line.
* :mod:`~course_utils.viz.network` (Section 1, the MLP chapter): an MLP drawn as a network,
  the shapes of its arrays, its forward and backward passes.
* Training diagnostics (lessons 1-2 on): :mod:`~course_utils.viz.lr_find` (the LR
  finder's sweep), :mod:`~course_utils.viz.schedules` (SGDR, one-cycle),
  :mod:`~course_utils.viz.losses` (a fit's losses and metrics),
  :mod:`~course_utils.viz.confusion` (the confusion matrix),
  :mod:`~course_utils.viz.grids` (image grids, e.g. the most confident mistakes),
  :mod:`~course_utils.viz.embeddings` (PCA of embeddings).
* Section 4 (lessons 4 and 6): :mod:`~course_utils.viz.text` (what a vocabulary keeps; a
  language model's batches over its stream), :mod:`~course_utils.viz.rnn` (an RNN unrolled
  along a sentence, its hidden state under a slider), :mod:`~course_utils.viz.gates` (lesson 7:
  gradients shrinking over time steps; an LSTM's gates over a text), :mod:`~course_utils.viz.collab`
  (lesson 5: a block of ratings, the dot product's predictions and its errors).
* :mod:`~course_utils.viz.detection` (bonus): images with detection boxes drawn over them.
* :mod:`~course_utils.viz.cam` (lesson 7, bonus): class activation maps over their images.
* :mod:`~course_utils.viz.images`: arrays as PNG/JPEG ``data:`` URIs for the figures.
* :mod:`~course_utils.viz.style`: the shared layout, palette and size check.
"""

from course_utils.viz.cam import CAMFrames, cam_frames, plot_cam
from course_utils.viz.collab import plot_rating_block
from course_utils.viz.confusion import plot_confusion_matrix
from course_utils.viz.conv import (
    KERNELS,
    ConvFrames,
    conv_frames,
    conv_stages,
    default_digit,
    first_layer_kernels,
    prepare_image,
)
from course_utils.viz.conv_figure import conv_explorer
from course_utils.viz.detection import BoxLayer, plot_boxes
from course_utils.viz.embeddings import pca_2d, plot_embeddings_pca
from course_utils.viz.gates import (
    GateFrames,
    GradientDecay,
    gate_frames,
    gradient_decay,
    plot_gates,
    plot_gradient_decay,
)
from course_utils.viz.grids import example_titles, picture_grid, plot_image_grid
from course_utils.viz.losses import plot_losses, plot_runs
from course_utils.viz.lr_find import plot_lr_find
from course_utils.viz.network import mlp_sizes, plot_mlp
from course_utils.viz.nonlinear import (
    NonlinearFit,
    activations,
    activations_figure,
    fit_nonlinear,
    nonlinear_data,
    nonlinear_fit,
)
from course_utils.viz.optimizers import (
    OPTIMIZERS_FROM,
    SURFACES,
    RaceFrames,
    optimizer_paths,
    race_frames,
)
from course_utils.viz.race_figure import optimizer_race
from course_utils.viz.rnn import UnrolledFrames, plot_unrolled_rnn, shown_char, unrolled_frames
from course_utils.viz.schedules import plot_one_cycle, plot_schedule, plot_sgdr
from course_utils.viz.sgd import SGDFrames, mse, sgd_data, sgd_explorer, sgd_frames, sgd_path
from course_utils.viz.style import (
    NEUTRAL,
    OKABE_ITO,
    PALETTE,
    PICTURE,
    FigureTooLargeError,
    check_figure_size,
    compact,
    log_ticks,
    square_pixels,
    style_figure,
)
from course_utils.viz.text import plot_lm_batches, plot_vocab_sizes

__all__ = [
    "KERNELS",
    "NEUTRAL",
    "OKABE_ITO",
    "OPTIMIZERS_FROM",
    "PALETTE",
    "PICTURE",
    "SURFACES",
    "BoxLayer",
    "CAMFrames",
    "ConvFrames",
    "FigureTooLargeError",
    "GateFrames",
    "GradientDecay",
    "NonlinearFit",
    "RaceFrames",
    "SGDFrames",
    "UnrolledFrames",
    "activations",
    "activations_figure",
    "cam_frames",
    "check_figure_size",
    "compact",
    "conv_explorer",
    "conv_frames",
    "conv_stages",
    "default_digit",
    "example_titles",
    "first_layer_kernels",
    "fit_nonlinear",
    "gate_frames",
    "gradient_decay",
    "log_ticks",
    "mlp_sizes",
    "mse",
    "nonlinear_data",
    "nonlinear_fit",
    "optimizer_paths",
    "optimizer_race",
    "pca_2d",
    "picture_grid",
    "plot_boxes",
    "plot_cam",
    "plot_confusion_matrix",
    "plot_embeddings_pca",
    "plot_gates",
    "plot_gradient_decay",
    "plot_image_grid",
    "plot_lm_batches",
    "plot_losses",
    "plot_rating_block",
    "plot_runs",
    "plot_lr_find",
    "plot_mlp",
    "plot_one_cycle",
    "plot_schedule",
    "plot_sgdr",
    "plot_unrolled_rnn",
    "plot_vocab_sizes",
    "prepare_image",
    "race_frames",
    "sgd_data",
    "sgd_explorer",
    "sgd_frames",
    "sgd_path",
    "shown_char",
    "square_pixels",
    "style_figure",
    "unrolled_frames",
]
