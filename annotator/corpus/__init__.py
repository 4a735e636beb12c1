"""The corpus: report files parsed into records (``parse``; Label Studio exports in ``label_studio``,
CoNLL-2003 / IOB files in ``conll``; the table of formats in ``formats``), and the sentences and tokens
spaCy makes of them (``text``).

Names load on first use, so that a light module (``annotator.corpus.parse``)
does not pull in spaCy with the package.
"""

from __future__ import annotations

from ..lazy import lazy_attributes

_WHERE = {
    "FORMATS": "formats",
    "ImportFormat": "formats",
    "accept": "formats",
    "extensions_or": "formats",
    "extensions_text": "formats",
    "CorpusError": "parse",
    "content_hash": "parse",
    "parse_file": "parse",
    "check_report": "parse",
    "decode": "parse",
    "parse_txt": "parse",
    "parse_jsonl": "parse",
    "parse_csv": "parse",
    "parse_files": "parse",
    "parse_label_studio": "label_studio",
    "parse_conll": "conll",
    "SentenceSplit": "text",
    "make_nlp": "text",
    "token_offsets": "text",
    "split_report": "text",
    "split_reports": "text",
    "sentence_bounds": "text",
}

__all__ = sorted(_WHERE)

__getattr__ = lazy_attributes(__name__, _WHERE)
