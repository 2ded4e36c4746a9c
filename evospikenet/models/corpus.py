"""Training text that ships with Python itself: pydoc's topic help and stdlib docstrings.

Docstrings are read with :mod:`ast` from the standard library's source files, never imported
(importing some modules has side effects), in a fixed order, so the corpus is the same on every
machine with the same Python version.
"""

from __future__ import annotations

import ast
import sysconfig
import zlib
from dataclasses import dataclass
from pathlib import Path

SKIPPED_DIRS = {
    "test",
    "tests",
    "idlelib",
    "site-packages",
    "dist-packages",
    "lib2to3",
    "turtledemo",
}


@dataclass(frozen=True)
class Corpus:
    """Documents split deterministically into training and held-out text."""

    train: list[str]
    heldout: list[str]

    @property
    def train_bytes(self) -> int:
        return sum(len(doc.encode("utf-8")) for doc in self.train)

    @property
    def heldout_bytes(self) -> int:
        return sum(len(doc.encode("utf-8")) for doc in self.heldout)


def pydoc_topics() -> list[str]:
    """The help texts of ``pydoc_data.topics`` (the language reference's topics)."""
    from pydoc_data.topics import topics

    return [topics[name].strip() for name in sorted(topics)]


def stdlib_docstrings(min_chars: int = 80) -> list[str]:
    """Module, class and function docstrings of the standard library's own source files."""
    root = Path(sysconfig.get_paths()["stdlib"])
    docs: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if SKIPPED_DIRS & set(path.relative_to(root).parts[:-1]):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        nodes = [tree, *ast.walk(tree)]
        for node in nodes:
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= min_chars:
                    docs.append(doc.strip())
    return list(dict.fromkeys(docs))


def paragraphs_of_folder(folder: Path, pattern: str = "*.txt") -> list[str]:
    """The paragraphs (blocks separated by blank lines) of every UTF-8 text file in ``folder``,
    files in name order: each paragraph is one document."""
    docs: list[str] = []
    for path in sorted(folder.glob(pattern)):
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        docs.extend(block.strip() for block in text.split("\n\n") if block.strip())
    return docs


def split_documents(documents: list[str], heldout_every: int = 20) -> Corpus:
    """Hold out a document when its CRC32 is 0 modulo ``heldout_every``: a stable split that
    does not depend on document order."""
    train: list[str] = []
    heldout: list[str] = []
    for doc in documents:
        is_heldout = zlib.crc32(doc.encode("utf-8")) % heldout_every == 0
        (heldout if is_heldout else train).append(doc)
    return Corpus(train=train, heldout=heldout)


def python_corpus(heldout_every: int = 20, max_train_bytes: int | None = None) -> Corpus:
    """pydoc topics plus stdlib docstrings; a document is held out if its CRC32 hashes to 0
    modulo ``heldout_every`` (a stable split that does not depend on document order)."""
    split = split_documents(pydoc_topics() + stdlib_docstrings(), heldout_every)
    if max_train_bytes is None:
        return split
    train: list[str] = []
    size = 0
    for doc in split.train:
        if size >= max_train_bytes:
            break
        train.append(doc)
        size += len(doc.encode("utf-8"))
    return Corpus(train=train, heldout=split.heldout)
