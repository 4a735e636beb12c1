"""Each agreement figure is computed by one function in one module: the README's library, the review
dashboard, the CLI and the export manifest share them."""

import ast
import inspect
import re
from pathlib import Path

import annotator.metrics as metrics

REPO = Path(__file__).resolve().parents[1]
# A function whose name says it computes one of these figures.
FIGURE = re.compile(r"(kappa|alpha|f1|bootstrap|mean|interval|quantile)", re.I)
# The vectorised resampling of the project report (weights per sentence, one matrix product per pair): its
# intervals come from percentile_interval, and tests/test_project_agreement.py checks its figures.
ALLOWED_HELPERS = {
    ("metrics.project", "_bootstrap"),
    ("metrics.project", "_intervals"),
    ("metrics.project", "_span_f1_section"),
    ("web.charts", "bars_with_intervals"),
}


def _definitions() -> dict[str, list[str]]:
    """Function name -> the modules (dotted, under annotator) that define a function of that name."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "annotator").rglob("*.py")):
        module = ".".join(path.relative_to(REPO / "annotator").with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.decorator_list and module.startswith(("web.", "cli.")):
                    continue  # a page or a command, named after what it shows
                found.setdefault(node.name, []).append(module)
    return found


def test_metrics_each_public_function_is_defined_in_exactly_one_module():
    definitions = _definitions()
    public = [name for name in metrics.__all__ if inspect.isfunction(getattr(metrics, name))]
    assert {
        "cohen_kappa",
        "fleiss_kappa",
        "krippendorff_alpha",
        "bootstrap_ci",
        "pairwise_span_f1",
        "mean_defined",
    } <= set(public)
    for name in public:
        home = getattr(metrics, name).__module__.removeprefix("annotator.")
        assert definitions.get(name) == [home], f"{name} is defined in {definitions.get(name)}"


def test_metrics_no_second_implementation_of_a_figure():
    """Every function named after a figure (kappa, alpha, F1, bootstrap, mean, interval) is a public metric,
    or one of the few helpers that call them."""
    public = set(metrics.__all__)
    strays = sorted(
        (module, name)
        for name, modules in _definitions().items()
        for module in modules
        if FIGURE.search(name)
        and not name.startswith("test_")
        and name not in public
        and (module, name) not in ALLOWED_HELPERS
        and not (module == "metrics.coefficients" and name == "_alpha")
    )
    assert strays == []
