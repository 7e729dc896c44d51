"""The course's models: written from scratch to be read, and pretrained to be used.

- :mod:`.layers`: BatchNorm and a convolution as unfold + matmul (lessons 3 and 7),
  each equal to its ``torch.nn`` reference.
- :mod:`.simple`: an MLP (section 1, lesson 1) and a small CNN (lesson 7).
- :mod:`.recurrent`: RNN, GRU and LSTM cells written out (lessons 6 and 7), each equal to
  its ``torch.nn`` reference, and layers that run them along a sequence.
- :mod:`.resnet`: ResNet-18/34 from scratch (lesson 7), whose parameter names
  match torchvision's, so torchvision's weights load into it.
- :mod:`.pretrained`: torchvision backbones with a new head and layer groups for
  fine-tuning (lessons 1-3).

Import from the module that defines a name or from here, for example
``from course_utils.models import resnet34``.
"""

from course_utils.models.layers import BatchNorm2d, Conv2dUnfold, conv2d_unfold
from course_utils.models.pretrained import (
    AdaptiveConcatPool2d,
    ConvNet,
    create_cnn,
    create_head,
    default_weights,
)
from course_utils.models.recurrent import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    Recurrent,
    RNNCell,
    cell_state_dict,
    gru_cell,
    lstm_cell,
    rnn_cell,
)
from course_utils.models.resnet import BasicBlock, ResNet, resnet18, resnet34
from course_utils.models.simple import MLP, SimpleCNN

__all__ = [
    "GRU",
    "LSTM",
    "MLP",
    "RNN",
    "AdaptiveConcatPool2d",
    "BasicBlock",
    "BatchNorm2d",
    "Conv2dUnfold",
    "ConvNet",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "Recurrent",
    "ResNet",
    "SimpleCNN",
    "cell_state_dict",
    "conv2d_unfold",
    "create_cnn",
    "create_head",
    "default_weights",
    "gru_cell",
    "lstm_cell",
    "resnet18",
    "resnet34",
    "rnn_cell",
]
