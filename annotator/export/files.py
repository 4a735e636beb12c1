"""The files of an export folder: atomic staging, DocBin shards, stale temporaries.

An export is written into a temporary folder beside its destination (same
file system), fsynced, then renamed into place, so a reader sees the old
export or the new one, never a mix. ``train.spacy`` and ``dev.spacy`` are
single DocBin files when a split holds at most ``shard_size`` Docs, and
otherwise folders of DocBin shards (``train.spacy/000.spacy``, ...), which
spaCy's corpus reader walks in name order: ``--paths.train DIR/train.spacy``
works for both.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..fsutil import fsync_path

if TYPE_CHECKING:  # spaCy loads when an export starts, not with the app
    from spacy.tokens import Doc, DocBin

FILES = (
    "train.spacy",
    "dev.spacy",
    "config.cfg",
    "manifest.json",
    "annotations.jsonl",
    "incidents.csv",
    "incidents.jsonl",
)
INCIDENT_FILES = ("incidents.csv", "incidents.jsonl")  # the incident table; exports made before it lack them
SPLIT_FILES = ("train.spacy", "dev.spacy")  # a DocBin file, or a folder of DocBin shards
PENDING = "pending.pickle"  # an export's first pass spills here; removed before the rename
SHARD_SIZE = 10_000


class ExportError(Exception):
    """An export that cannot be written; the message says what to do."""


# A Doc as DocBin.add keeps it, in the order of DocBin's lists: its token attributes (uint64, one row
# of DocBin().attrs per token, as bytes), spaces (bool per token, as bytes), the strings of its tokens
# and span labels, cats, has_unknown_spaces, span groups (bytes) and user data (msgpack bytes).
DocRow = tuple[bytes, bytes, tuple[str, ...], dict[str, float], bool, bytes, bytes]


_STRINGS_KEPT = 50_000  # hashes DocRows remembers the string of


class DocRows:
    """Docs made into their DocBin rows (``DocRow``), byte for byte what ``DocBin.add`` keeps, faster.

    ``DocBin.add`` packs each Doc's user data with ``srsly.msgpack_dumps``,
    which looks its encoders up in catalogue (scanning installed packages'
    entry points) on every call: about 0.6 ms per Doc. One Packer serves all
    Docs here; the strings of a Doc are read from its token array's hash
    columns (one lookup per distinct hash) rather than from a Token object
    per token. A row is a few plain values: it pickles and can be kept
    between an export's two passes instead of the Doc.
    """

    def __init__(self) -> None:
        import srsly
        from spacy.attrs import DEP, ENT_ID, ENT_KB_ID, ENT_TYPE, LEMMA, MORPH, NORM, ORTH, SPACY, TAG
        from spacy.tokens import DocBin

        self.attrs: list[int | str] = list(DocBin().attrs)  # spaCy's attribute ids, ORTH first
        self._read = [*self.attrs, SPACY]  # one to_array call: the row's attributes, then its spaces
        self._packer = srsly.msgpack.Packer(use_bin_type=True)  # what msgpack_dumps builds per call
        # The columns whose hashes DocBin.add keeps as strings (token.text, tag_, lemma_, norm_, dep_,
        # ent_type_, ent_kb_id_, ent_id_); str(token.morph) is read per token when a Doc has morphology.
        self._string_columns = [self.attrs.index(a) for a in (ORTH, TAG, LEMMA, NORM, DEP, ENT_TYPE, ENT_KB_ID, ENT_ID)]
        self._morph_column = self.attrs.index(MORPH)
        self._strings: dict[int, str] = {}  # hash -> string (a hash names one string in every vocab)

    def row(self, doc: Doc) -> DocRow:
        array = doc.to_array(self._read)
        columns: list[list[int]] = array.T.tolist()  # a list per attribute: faster to gather than numpy slices
        keys: set[int] = set()
        for column in self._string_columns:
            keys.update(columns[column])
        strings, vocab_strings = self._strings, doc.vocab.strings
        if len(strings) > _STRINGS_KEPT:  # a corpus's vocabulary grows with it: keep memory flat
            strings.clear()
        texts = set()
        for key in keys:
            text = strings.get(key)
            if text is None:
                text = strings[key] = vocab_strings[key]
            texts.add(text)
        if any(columns[self._morph_column]):
            texts.update(str(token.morph) for token in doc)
        elif len(array):
            texts.add("")  # str() of an empty morphology
        for group in doc.spans.values():
            for span in group:
                texts.add(span.label_)
                if span.kb_id in vocab_strings:
                    texts.add(span.kb_id_)
                if span.id in vocab_strings:
                    texts.add(span.id_)
        return (
            array[:, :-1].tobytes(),  # C order, as DocBin's numpy.vstack(...).tobytes("C") lays it out
            bytes(columns[-1]),  # SPACY is 0 or 1: numpy's bool bytes
            tuple(texts),
            doc.cats,
            doc.has_unknown_spaces,
            doc.spans.to_bytes(),
            self._packer.pack(doc.user_data),
        )


class UserDataReader:
    """A DocBin Doc's user data (msgpack bytes) read back as ``srsly.msgpack_loads`` reads it, faster.

    ``msgpack_loads`` looks its decoders up in catalogue on every call, as ``msgpack_dumps``
    does its encoders (``DocRows``): about 0.1 ms per Doc. One Unpacker, with the same
    decoders, serves every Doc here: a few microseconds each. Raises ``ValueError`` for
    bytes that are not exactly one msgpack value; the next call starts afresh.
    """

    def __init__(self) -> None:
        import srsly

        self._new = lambda: srsly.msgpack.Unpacker(raw=False, use_list=True)  # what msgpack_loads asks for
        self._unpacker = self._new()

    def __call__(self, packed: bytes) -> Any:
        unpacker = self._unpacker
        start = unpacker.tell()
        unpacker.feed(packed)
        try:
            data = unpacker.unpack()
        except Exception as error:  # truncated or malformed: nothing of it may stay in the buffer
            self._unpacker = self._new()
            raise ValueError(f"user data is not one msgpack value: {error}") from None
        if unpacker.tell() - start != len(packed):
            self._unpacker = self._new()
            raise ValueError("user data holds more than one msgpack value")
        return data


class DocBinBuilder:
    """``DocBin(store_user_data=True)`` filled row by row (``DocRows``), byte for byte what ``DocBin.add`` gives."""

    def __init__(self) -> None:
        from spacy.tokens import DocBin

        self._docbin = DocBin(store_user_data=True)
        self._width = len(self._docbin.attrs)

    def __len__(self) -> int:
        return len(self._docbin.tokens)

    def add(self, row: DocRow) -> None:
        import numpy

        tokens, spaces, strings, cats, unknown_spaces, span_groups, user_data = row
        docbin, n = self._docbin, len(spaces)
        docbin.tokens.append(numpy.frombuffer(tokens, dtype=numpy.uint64).reshape(n, self._width))
        docbin.spaces.append(numpy.frombuffer(spaces, dtype=bool).reshape(n, 1))
        docbin.strings.update(strings)
        docbin.cats.append(cats)
        docbin.flags.append({"has_unknown_spaces": unknown_spaces})
        docbin.span_groups.append(span_groups)
        docbin.user_data.append(user_data)

    def build(self) -> DocBin:
        """The DocBin of the rows added; the builder is spent."""
        return self._docbin


class ShardWriter:
    """The Docs (``DocRow``) of one split written to ``path``: one DocBin file, or a folder of shards.

    ``sharded`` is decided up front from the split's size (the export knows
    it before making any Doc): False writes ``path`` as a single DocBin file
    on ``close``; True writes ``path/000.spacy``, ``001.spacy``, ... of
    ``shard_size`` Docs each as they fill, so that at most one shard is held.
    """

    def __init__(self, path: Path, sharded: bool, shard_size: int, n_docs: int) -> None:
        self.path, self.sharded, self.shard_size = path, sharded, shard_size
        self.files: list[Path] = []
        self._width = max(3, len(str(max(0, -(-n_docs // shard_size) - 1))))
        self._builder = DocBinBuilder()
        if sharded:
            path.mkdir()

    def add(self, row: DocRow) -> None:
        self._builder.add(row)
        if self.sharded and len(self._builder) >= self.shard_size:
            self._flush()

    def close(self) -> list[Path]:
        """Write what is left; return the files written, in order."""
        if not self.sharded:
            self._write(self.path)
        elif len(self._builder) or not self.files:
            self._flush()
        if self.sharded:
            fsync_path(self.path)
        return self.files

    def _flush(self) -> None:
        self._write(self.path / f"{len(self.files):0{self._width}d}.spacy")

    def _write(self, path: Path) -> None:
        write_file(path, self._builder.build().to_bytes())
        self.files.append(path)
        self._builder = DocBinBuilder()


def split_files(path: Path) -> list[Path]:
    """The DocBin files of ``path`` (train.spacy or dev.spacy), in the order spaCy reads them."""
    return (
        sorted(p for p in path.iterdir() if p.suffix == ".spacy" and not p.name.startswith("."))
        if path.is_dir()
        else [path]
    )


def content_sha256(paths: list[Path]) -> str:
    """SHA-256 of the files' bytes, concatenated in order."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def check_destination(out_dir: str | os.PathLike[str], force: bool) -> Path:
    """``out_dir`` made absolute; ExportError if it is a file, a link, or not empty without ``force``.

    ``force`` replaces an earlier export only: a folder holding ``manifest.json`` and nothing
    but the files an export writes. Any other folder that is not empty is refused, so that
    ``--out . --force`` never deletes a working folder.
    """
    out_dir = Path(out_dir).absolute()
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise ExportError(f"{out_dir} exists and is not a directory; choose another output path")
    held = {entry.name for entry in out_dir.iterdir()} if out_dir.exists() else set()
    if not held:
        return out_dir
    if not force:
        raise ExportError(f"{out_dir} exists and is not empty; use --force to replace an earlier export there")
    if "manifest.json" not in held or not held <= set(FILES):
        others = sorted(held - set(FILES)) or ["no manifest.json"]
        shown = ", ".join(repr(name) for name in others[:3]) + (", ..." if len(others) > 3 else "")
        raise ExportError(
            f"{out_dir} is not an earlier export ({shown}); --force replaces only an export's folder. "
            "Choose an empty or new output folder"
        )
    return out_dir


@contextmanager
def staging(out_dir: Path, force: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``out_dir``, renamed to ``out_dir`` when the block ends without error.

    Its name, ``.<name>.<pid>.<random>.tmp``, tells a later export whether
    the writer is still running (``remove_stale_temporaries``). On any error,
    including KeyboardInterrupt, the folder is removed and nothing is
    written; an existing ``out_dir`` is replaced only by the final rename, and
    only as :func:`check_destination` allows it then (``force``): what appeared
    there while the export ran is not replaced without ``force``.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.{os.getpid()}.", suffix=".tmp", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)
        yield tmp
        fsync_path(tmp)
        _swap_in(tmp, check_destination(out_dir, force))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_path(out_dir.parent)


def write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?:[a-z0-9_]{8}\.tmp|[0-9a-f]{32}\.old)$")


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Clean up after exports into ``folder`` whose process died; returns what was touched.

    A killed export leaves ``.<name>.<pid>.<random>.tmp`` (never ``<name>``
    itself, which appears only by rename); a kill while replacing with
    ``force`` may leave the previous export as ``.<name>.<pid>.<hex>.old``.
    Such folders of a dead pid holding nothing but export files are removed,
    except an ``.old`` whose ``<name>`` is missing: that is the previous
    export, and it is renamed back. Those of a live process are left alone.
    """
    folder = Path(folder)
    touched: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return touched
    ours = set(FILES) | {PENDING}
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False) or _alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        try:
            if not {p.name for p in path.iterdir()} <= ours:
                continue  # not ours: leave it
        except FileNotFoundError:
            continue
        final = folder / match["name"]
        if entry.name.endswith(".old") and not final.exists():
            os.rename(path, final)
        else:
            shutil.rmtree(path, ignore_errors=True)
        touched.append(path)
    return touched


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Rename ``tmp`` to ``out_dir``, moving an existing ``out_dir`` aside first."""
    if not out_dir.exists():
        try:
            os.rename(tmp, out_dir)
        except OSError as error:
            raise ExportError(f"{out_dir} appeared while exporting; nothing was written") from error
        return
    old = out_dir.parent / f".{out_dir.name}.{os.getpid()}.{uuid.uuid4().hex}.old"
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old)
