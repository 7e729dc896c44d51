"""Text for Section 4 (lessons 4, 6 and 7): from reviews to tokens, ids and batches.

* :mod:`~course_utils.text.corpus`: the texts of the registry's text datasets, from their
  folders (``{train,test}/{neg,pos}/<n>.txt``; ``corpus.txt``).
* :mod:`~course_utils.text.tokenizer`: spaCy's English rules (``spacy.blank("en")``) and the
  markers of 2018's fastai (``xbos``, ``t_up``, ``tk_rep``, ...).
* :mod:`~course_utils.text.vocab`: the vocabulary, numericalization and the share of a text
  it misses.
* :mod:`~course_utils.text.loaders`: a language model's windows over one long stream, and a
  classifier's padded batches of texts of similar length.
* :mod:`~course_utils.text.models`: AWD-LSTM (Merity et al., 2017) as lesson 4 used it: its
  dropouts, the encoder, the tied decoder, and the classifier with concat pooling.
* :mod:`~course_utils.text.learner`: the language model's and the classifier's learners.
* :mod:`~course_utils.text.generate`: text sampled from a language model, with a temperature.
* :mod:`~course_utils.text.transfer`: a pretrained language model moved to another vocabulary.

Chapters import from here, for example ``from course_utils.text import Tokenizer, Vocab``.
"""

from course_utils.text.corpus import (
    SENTIMENT_CLASSES,
    read_corpus,
    read_sentiment_folders,
    read_unlabelled,
)
from course_utils.text.generate import generate, next_token_probs
from course_utils.text.learner import (
    RNN_ADAM,
    ResetState,
    RNNRegularizer,
    TextLearner,
    language_model_learner,
    lm_accuracy,
    lm_loss,
    text_classifier_learner,
)
from course_utils.text.loaders import (
    LanguageModelLoader,
    SortishSampler,
    SortSampler,
    TextClassificationDataset,
    batchify,
    classifier_loaders,
    language_model_loaders,
    pad_collate,
)
from course_utils.text.models import (
    AWDLSTMEncoder,
    EmbeddingDropout,
    LanguageModel,
    LinearDecoder,
    LockedDropout,
    MultiBatchEncoder,
    PoolingLinearClassifier,
    TextClassifier,
    WeightDropout,
    concat_pool,
    encoder_state,
    language_model,
    load_encoder,
    text_classifier,
)
from course_utils.text.tokenizer import (
    BOS,
    FLD,
    PAD,
    SPECIAL_TOKENS,
    TK_REP,
    TK_UP,
    TK_WREP,
    UNK,
    Tokenizer,
    format_texts,
    read_text_file,
)
from course_utils.text.transfer import VocabTransfer, remap_vocab
from course_utils.text.vocab import Vocab

__all__ = [
    "BOS",
    "FLD",
    "PAD",
    "RNN_ADAM",
    "SENTIMENT_CLASSES",
    "SPECIAL_TOKENS",
    "TK_REP",
    "TK_UP",
    "TK_WREP",
    "UNK",
    "AWDLSTMEncoder",
    "EmbeddingDropout",
    "LanguageModel",
    "LanguageModelLoader",
    "LinearDecoder",
    "LockedDropout",
    "MultiBatchEncoder",
    "PoolingLinearClassifier",
    "RNNRegularizer",
    "ResetState",
    "SortSampler",
    "SortishSampler",
    "TextClassificationDataset",
    "TextClassifier",
    "TextLearner",
    "Tokenizer",
    "Vocab",
    "VocabTransfer",
    "WeightDropout",
    "batchify",
    "classifier_loaders",
    "concat_pool",
    "encoder_state",
    "format_texts",
    "generate",
    "language_model",
    "language_model_learner",
    "language_model_loaders",
    "lm_accuracy",
    "lm_loss",
    "load_encoder",
    "next_token_probs",
    "pad_collate",
    "read_corpus",
    "read_sentiment_folders",
    "read_text_file",
    "read_unlabelled",
    "remap_vocab",
    "text_classifier",
    "text_classifier_learner",
]
