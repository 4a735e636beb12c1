"""Export gold spans as spaCy training data: gold policies (``gold``), the train/dev split
(``split``), alignment and Prodigy records (``align``), the first pass that resolves, aligns and
tallies (``first_pass``), building and writing the DocBins (``build``), the files of an export folder
(``files``), the cycle collector's settings during an export (``collector``), the training config
(``spacy_config``), training (``training``), the learning curve (``curve``), what a trained version
did not train on (``heldout``) and how unsure a pipeline is about each sentence (``uncertainty``).

Names load on first use, so that a light module (``annotator.export.gold``)
does not pull in spaCy with the package.
"""

from __future__ import annotations

from ..lazy import lazy_attributes

_WHERE = {
    "align_spans": "align",
    "annotate_doc": "align",
    "split_rows": "align",
    "linked_label_names": "align",
    "jsonl_line": "align",
    "linked_labels": "align",
    "overlapping_pairs": "align",
    "prodigy_line": "align",
    "prodigy_record": "align",
    "source_kind": "align",
    "fewer_collections": "collector",
    "CurveError": "curve",
    "CurveVerdict": "curve",
    "curve_verdict": "curve",
    "learning_curve": "curve",
    "nested_subsets": "curve",
    "ExportBatch": "build",
    "ExportResult": "build",
    "build_export": "build",
    "stream_export": "build",
    "write_export": "build",
    "ExportError": "files",
    "DocBinBuilder": "files",
    "DocRow": "files",
    "DocRows": "files",
    "ShardWriter": "files",
    "split_files": "files",
    "content_sha256": "files",
    "check_destination": "files",
    "staging": "files",
    "write_file": "files",
    "remove_stale_temporaries": "files",
    "GoldPolicy": "gold",
    "POLICIES": "gold",
    "Resolution": "gold",
    "check_policy": "gold",
    "resolve_gold": "gold",
    "TrainSplit": "heldout",
    "predicted_spans": "heldout",
    "read_train_split": "heldout",
    "Exported": "pending",
    "PendingSentences": "pending",
    "make_config": "spacy_config",
    "SPLITS": "split",
    "dev_reports": "split",
    "grouped_split": "split",
    "TrainingError": "training",
    "train": "training",
    "read_scores": "training",
    "load_pipeline": "training",
    "predict_spans": "training",
    "predict_scored_spans": "training",
    "sentence_uncertainties": "uncertainty",
    "span_disagreement": "uncertainty",
}

__all__ = sorted(_WHERE)

__getattr__ = lazy_attributes(__name__, _WHERE)
