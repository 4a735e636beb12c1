"""The package as installed: assets inside the wheel, a core free of Flask and the ORM."""
import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = ["agreement", "agreement_tally", "export_files", "fsutil", "span_agreement", "span_metrics", "corpus", "text", "gold", "export", "spacy_config", "training", "normalise", "suggest", "records", "labels", "limits"]


def test_packaging_core_modules_import_without_flask_or_sqlalchemy():
    code = "import sys\n" + "".join(f"import annotator.{m}\n" for m in CORE) + "print(sorted(m for m in ('flask', 'sqlalchemy', 'flask_login') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_packaging_wheel_ships_templates_static_migrations_and_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("annotator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("annotator/templates/base.html", "annotator/static/app.css", "annotator/migrations/env.py", "annotator/migrations/versions/0001_initial_schema.py", "annotator/data/demo_reports.jsonl", "annotator/data/guidelines.md"):
        assert needed in names, needed
    assert not any(n.startswith(("templates/", "static/", "tests/")) for n in names)


def _imported_top_modules(folder: Path) -> dict[str, Path]:
    """Top-level module names that the Python files under ``folder`` import, each with one file that does."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        local = {p.stem for p in path.parent.glob("*.py")}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local and top not in ("annotator", "tests"):
                    found.setdefault(top, path)
    return found


def _declared(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


@pytest.mark.parametrize("folder, extras", [("annotator", ()), ("tests", ("test",))])
def test_packaging_every_imported_package_is_declared(folder, extras):
    """A module imported by the app must be in ``dependencies``; one imported by the tests in those or the
    ``test`` extra. Transitive presence is not enough: a fresh virtual environment is what CI and a newcomer get."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = _declared(project["dependencies"])
    for extra in extras:
        declared |= _declared(project["optional-dependencies"][extra])
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module, path in _imported_top_modules(REPO / folder).items():
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = str(path.relative_to(REPO))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
