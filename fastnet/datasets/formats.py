"""What the datasets are: their files, their shapes, their known contents, and
the errors that say a file is not what it should be.

Every reader in ``fastnet.datasets`` checks files against these tables and
reports problems with these errors, so a message always names the file.
"""

DATASETS = ("mnist", "fashion")
NAMES = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}

# The four files of the IDX layout, keyed by role.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
PICKLE_NAMES = ("mnist.pkl.gz", "mnist.pkl")

# SHA-256 of the uncompressed IDX files.  MNIST's match the canonical MD5s
# published with the dataset; Fashion-MNIST's are those of Debian's package.
CONTENT_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

N_TRAIN, N_VAL, N_TEST = 50000, 10000, 10000
IMAGE_SHAPE = (28, 28)
N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]   # an image as one input row: 784
N_CLASSES = 10                               # digits, or Fashion-MNIST's ten kinds
# What each of the four files must hold.
EXPECTED_SHAPES = {
    "train_images": (N_TRAIN + N_VAL,) + IMAGE_SHAPE, "train_labels": (N_TRAIN + N_VAL,),
    "test_images": (N_TEST,) + IMAGE_SHAPE, "test_labels": (N_TEST,),
}

GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 1 << 16


class DataFormatError(ValueError):
    """A data file exists but is not what it should be (truncated, corrupt,
    wrong shape).  ``path`` names the file."""

    # Shown in tracebacks and pickled under the name users import it by.
    __module__ = "fastnet.datasets"

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__("{}: {}".format(path, problem))


class ChecksumError(DataFormatError):
    """A downloaded file's SHA-256 differs from the known one."""

    __module__ = "fastnet.datasets"


class DataNotFoundError(FileNotFoundError):
    """The dataset is nowhere to be found and could not be downloaded."""

    __module__ = "fastnet.datasets"

    def __str__(self):
        return self.args[0] if self.args else "data not found"


class WrongDataset(Exception):
    """The files are a different known dataset than the one asked for: the
    search goes on to the next place, an explicit path is refused."""


class ChangedFile(DataFormatError):
    """A file whose SHA-256 is not the known one: in the cache, where only
    verified downloads belong, it is deleted and fetched again."""


def check_dataset(dataset):
    """Refuse a dataset name other than those of ``DATASETS``."""
    if dataset not in DATASETS:
        raise ValueError("dataset must be one of {}, not {!r}".format(
            ", ".join(repr(d) for d in DATASETS), dataset))


def open_data_file(path):
    """Open ``path`` for reading bytes; a failure is a DataFormatError naming it."""
    try:
        return open(path, "rb")
    except IsADirectoryError:
        raise DataFormatError(path, "is a folder, not a file") from None
    except OSError as e:
        raise DataFormatError(path, "cannot read: {}".format(e.strerror or e)) from e

