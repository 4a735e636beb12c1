"""``annotator agreement``: a project's inter-annotator agreement."""

from __future__ import annotations

import json

import click

from ..limits import MAX_ROW_ID
from .common import fail, session


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ci(pair) -> str:
    return "" if not pair else f"[{pair[0]:.2f}, {pair[1]:.2f}]"


def format_report(report: dict) -> str:
    """The report as a plain-text table, one row per label plus "all"."""
    f1, alpha = report["span_f1"], report["krippendorff_alpha"]
    kappa, fleiss, values = report["cohen_kappa"], report["fleiss_kappa"], report["value_agreement"]
    head = (
        "label",
        "F1 strict",
        "95% CI",
        "F1 partial",
        "Cohen k",
        "Fleiss k",
        "alpha",
        "95% CI",
        "same value",
        "sentences",
    )
    rows = [
        (
            "all",
            _num(f1["overall"]),
            _ci(f1["ci"]["overall"]),
            _num(f1["partial"]["overall"]),
            _num(kappa["overall"]),
            _num(fleiss["overall"]),
            _num(alpha["overall"]),
            _ci(alpha["ci"]["overall"]),
            _num(values["overall"]),
            str(f1["support"]["overall"]["sentences"]),
        )
    ]
    for label in report["labels"]:
        rows.append(
            (
                label,
                _num(f1["by_label"][label]),
                _ci(f1["ci"]["by_label"][label]),
                _num(f1["partial"]["by_label"][label]),
                _num(kappa["by_label"][label]),
                _num(fleiss["by_label"][label]),
                _num(alpha["by_label"][label]),
                _ci(alpha["ci"]["by_label"][label]),
                _num(values["by_label"][label]),
                str(f1["support"]["by_label"][label]["sentences"]),
            )
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        f"Project {report['project']}: {report['sentences']} sentences, {report['multi_annotated']} with 2+ annotators, "
        f"annotators: {', '.join(report['annotators']) or 'none'}"
    ]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [head, *rows]]
    if f1["pairs"]:
        lines.append(
            "pairs (strict span F1, sentences shared): "
            + ", ".join(f"{pair} {_num(p['overall'])} ({p['sentences']})" for pair, p in f1["pairs"].items())
        )
    lines.append(format_incidents(report["incident_f1"]))
    if fleiss["annotators_per_sentence"]:
        lines.append(
            f"Fleiss' kappa over the {fleiss['sentences']} sentences with {fleiss['annotators_per_sentence']} annotators."
        )
    lines += ["", *format_gold(report["gold"])]
    if report.get("suggestions"):
        lines += ["", *format_suggestions(report["suggestions"])]
    lines += ["", *format_confusion(report["confusion"])]
    return "\n".join(lines)


def format_incidents(incidents: dict) -> str:
    """One line: incident F1 strict and partial ("n/a" with the reason), what it rests on, each pair's strict figure."""
    support = incidents["support"]
    figures = (
        f"n/a: {incidents['reason']}"
        if incidents["reason"]
        else f"F1 strict {_num(incidents['overall'])}, partial {_num(incidents['partial']['overall'])}"
    )
    line = (
        f"Incidents: {figures} "
        f"({support['incidents']} incidents in {support['sentences']} shared sentences, {support['pairs']} pairs)"
    )
    if incidents["pairs"]:
        line += "; pairs: " + ", ".join(f"{pair} {_num(p['overall'])}" for pair, p in incidents["pairs"].items())
    return line


def format_gold(gold: dict) -> list[str]:
    """Annotator vs gold, one line per annotator; "n/a" with the reason where there is no gold to score on."""
    sentences = gold["sentences"]
    lines = [
        f"Annotator vs gold ({sentences['adjudicated']} adjudicated sentences, "
        f"{sentences['leave_one_out']} scored by the majority of the others; {gold['match']} match):"
    ]
    width = max((len(name) for name in gold["annotators"]), default=0)
    for name, g in gold["annotators"].items():
        if g["reason"]:
            lines.append(f"  {name.ljust(width)}  n/a: {g['reason']}")
        else:
            lines.append(
                f"  {name.ljust(width)}  P {_num(g['precision'])}  R {_num(g['recall'])}  F1 {_num(g['f1'])}  "
                f"({g['sentences']} sentence{'' if g['sentences'] == 1 else 's'}: {g['adjudicated']} adjudicated, {g['leave_one_out']} leave-one-out)"
            )
    if not gold["annotators"]:
        lines.append("  no annotations yet")
    return lines + format_model(gold.get("model"))


def format_model(model: dict | None) -> list[str]:
    """The model row: overall and per-label P/R/F1 with 95% intervals, and the annotators on the same sentences."""
    if model is None:
        return []
    name = model["name"]
    if model["reason"]:
        return [f"  {name}  n/a: {model['reason']}"]

    def figures(g: dict, ci: dict | None) -> str:
        ci = ci or {}
        return "  ".join(
            f"{short} {_num(g[key])}{(' ' + _ci(ci.get(key))) if ci.get(key) else ''}"
            for short, key in (("P", "precision"), ("R", "recall"), ("F1", "f1"))
        )

    lines = [
        f"  {name}  {figures(model, model['ci']['overall'])}  ({model['sentences']} adjudicated sentence"
        f"{'' if model['sentences'] == 1 else 's'}; {model['excluded']} in its training reports left out)"
    ]
    for label, g in model["by_label"].items():
        lines.append(f"    {label}  {figures(g, model['ci']['by_label'][label])}")
    if model["annotators"]:
        lines.append(
            "    annotators on the same sentences: "
            + ", ".join(
                f"{who} F1 {_num(g['f1'])} ({g['sentences']})"
                for who, g in model["annotators"].items()
                if g["sentences"]
            )
        )
    return lines


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def format_suggestions(suggestions: dict) -> list[str]:
    """Spans from suggestions per annotator, by source, and their precision vs adjudicated gold (``--json``: "suggestions")."""
    lines = ["Suggestions: " + suggestions["summary"]]
    rows = [*suggestions["annotators"].items()]
    if rows:
        rows.append(("all", suggestions["overall"]))
    width = max((len(name) for name, _ in rows), default=0)
    for name, f in rows:
        sources = ", ".join(f"{source} {b['spans']}" for source, b in f["by_source"].items() if b["spans"])
        versions = ", ".join(
            "no version" if v["version"] is None else f"v{v['version']}"
            for v in f["by_source"]["model"]["model_versions"]
        )
        gold = f["vs_gold"]
        lines.append(
            f"  {name.ljust(width)}  {f['spans']} spans, {_pct(f['share'])} from suggestions"
            + (f" ({sources}{'; model ' + versions if versions else ''})" if sources else "")
            + f"; = gold: suggested {_pct(gold['suggested']['precision'])} ({gold['suggested']['correct']}/{gold['suggested']['spans']}),"
            f" hand-made {_pct(gold['hand_made']['precision'])} ({gold['hand_made']['correct']}/{gold['hand_made']['spans']})"
        )
    if not rows:
        lines.append("  no annotations yet")
    return lines


def format_confusion(confusion: dict) -> list[str]:
    """The token label confusion table, as in ``--json``: rows and columns are labels, "(none)" no span."""
    names, matrix = ["(none)" if n is None else n for n in confusion["labels"]], confusion["matrix"]
    if not names:
        return ["Token label confusion: no tokens yet."]
    cells = [["", *names]] + [[name, *(str(n) for n in row)] for name, row in zip(names, matrix)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [f"Token label confusion ({confusion['note']}):"] + [
        "  " + "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in cells
    ]


@click.command("agreement")
@click.option("--project", "project_name", required=True, help="The project to measure.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option(
    "--resamples",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Bootstrap resamples for the 95% intervals.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed of the bootstrap.")
@click.option(
    "--model-version",
    type=click.IntRange(1, MAX_ROW_ID),
    default=None,
    help="Score this model version against gold instead of the active one.",
)
def agreement(project_name: str, as_json: bool, resamples: int, seed: int, model_version: int | None) -> None:
    """Inter-annotator agreement of a project: span F1, kappa, alpha, with 95% intervals; incident F1.

    Counts done and flagged annotations; skipped ones are left out. Span F1
    is strict, pooled over the sentences each pair of annotators shares,
    then averaged over pairs. Each annotator is scored against gold their
    own vote did not make (adjudicated, else the majority of 2+ others),
    else "n/a" with the reason. Incident F1 (strict: the same spans linked;
    partial: overlapping spans of the same labels) is pooled and averaged the same way. The active model version (or --model-version)
    is one more row, scored on adjudicated gold outside its training reports.
    "Suggestions" gives each annotator's spans from accepted suggestions by
    source (with model versions) and how often they, and hand-made spans,
    match adjudicated gold exactly (--json key "suggestions", see
    annotator.metrics.suggestion_sources). The token confusion table closes
    the report.
    """
    from ..services.model_versions import VersionNotFound
    from ..services.projects import NotFound, get_project
    from ..services.review import project_report

    db = session()
    try:
        project = get_project(db, project_name)
    except NotFound:
        raise fail(
            f"No project named {project_name!r}. List projects on the web page, or import into a new one with 'annotator import'."
        ) from None
    try:
        report = project_report(db, project, n_resamples=resamples, seed=seed, model_version=model_version)
    except VersionNotFound as exc:
        raise fail(f"{exc} See the project's Models page for its versions.") from None
    db.rollback()  # read only
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


COMMANDS = [agreement]
