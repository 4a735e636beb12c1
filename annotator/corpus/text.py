"""The bridge to spaCy: sentence splitting and the tokens spans snap to.

A project's pipeline is ``spacy.blank(lang)`` plus a sentencizer. Sentences
are also broken at paragraph breaks (a blank line), and trimmed of surrounding white space. The
tokens stored for a sentence are those of ``nlp.make_doc(sentence_text)``
without white-space tokens: the same tokenizer the export aligns to.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # spaCy loads in make_nlp: commands that never tokenise start without it
    from spacy.language import Language


@dataclass(frozen=True)
class SentenceSplit:
    start_char: int  # offset of the sentence in the report, code points
    text: str
    tokens: tuple[tuple[int, int], ...]  # (start_char, end_char) relative to the sentence


@lru_cache(maxsize=8)
def make_nlp(lang: str = "en") -> Language:
    """A blank pipeline for ``lang`` with a sentencizer; cached per language."""
    import spacy

    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    return nlp


def token_offsets(nlp: Language, text: str) -> tuple[tuple[int, int], ...]:
    """Offsets of the non-space tokens of ``text`` under ``nlp``'s tokenizer."""
    return tuple((t.idx, t.idx + len(t)) for t in nlp.make_doc(text) if not t.is_space)  # len(t): code points


def split_report(nlp: Language, text: str) -> list[SentenceSplit]:
    """Split a report into sentences with exact offsets into ``text``."""
    return [_sentence(nlp, text, start, end) for start, end in sentence_bounds(nlp, nlp(text))]


def split_reports(nlp: Language, texts, batch_size: int = 64):
    """Like :func:`split_report` for many texts, through ``nlp.pipe``."""
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=batch_size), strict=True):
        yield [_sentence(nlp, text, start, end) for start, end in sentence_bounds(nlp, doc)]


def sentence_bounds(nlp: Language, doc) -> list[tuple[int, int]]:
    """(start, end) character bounds of the sentences of a parsed doc.

    White space holding a blank line ends a sentence (a single line break,
    as in hard-wrapped text, does not); sentences are trimmed and empty ones
    dropped.
    """
    bounds = []
    for sent in doc.sents:
        start: int | None = None
        end = 0
        for token in sent:
            if token.is_space:
                if _is_paragraph_break(token.text):
                    if start is not None:
                        bounds.append((start, end))
                    start = None
                continue
            if start is None:
                start = token.idx
            end = token.idx + len(token.text)
        if start is not None:
            bounds.append((start, end))
    return bounds


def _is_paragraph_break(space: str) -> bool:
    breaks = space.replace("\r\n", "\n").replace("\r", "\n")
    return breaks.count("\n") >= 2 or "\u2029" in space


def _sentence(nlp: Language, text: str, start: int, end: int) -> SentenceSplit:
    sentence_text = text[start:end]
    return SentenceSplit(start, sentence_text, token_offsets(nlp, sentence_text))
