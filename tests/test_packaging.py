"""The package as installed: assets inside the wheel, a core free of Flask and the ORM."""

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The modules and packages that are the framework's: every other module in annotator/, and every module of
# every other package, is core, so a new core module or package is checked without anyone adding it to a list.
FRAMEWORK = {"__init__", "app", "db", "extensions", "models", "cli", "data", "migrations", "services", "web"}
CORE = sorted(
    ".".join(p.relative_to(REPO / "annotator").with_suffix("").parts).removesuffix(".__init__")
    for p in (REPO / "annotator").rglob("*.py")
    if p.relative_to(REPO / "annotator").parts[0].removesuffix(".py") not in FRAMEWORK
)


def test_packaging_core_modules_import_without_flask_or_sqlalchemy():
    assert {"metrics.coefficients", "corpus.parse", "labels", "export.build", "limits"} <= set(CORE)
    code = (
        "import sys\n"
        + "".join(f"import annotator.{m}\n" for m in CORE)
        + "print(sorted(m for m in ('flask', 'sqlalchemy', 'flask_login') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_packaging_wheel_ships_templates_static_migrations_and_data(tmp_path):
    # From a clean copy: a checkout's stale build/ folder would otherwise end up in the wheel.
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.egg-info", "__pycache__", "instance", "exports", ".pytest_cache", ".hypothesis"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("annotator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "annotator/templates/base.html",
        "annotator/static/app.css",
        "annotator/migrations/env.py",
        "annotator/migrations/versions/0001_initial_schema.py",
        "annotator/data/demo_gold.jsonl",
        "annotator/data/demo_reports.jsonl",
        "annotator/data/guidelines.md",
    ):
        assert needed in names, needed
    assert not any(n.startswith(("templates/", "static/", "tests/")) for n in names)
    modules = {str(p.relative_to(REPO)) for p in (REPO / "annotator").rglob("*.py") if "__pycache__" not in p.parts}
    assert modules - names == set(), "modules in the tree but not in the wheel (pyproject.toml's packages)"


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


HEAVY = ("spacy", "alembic", "numpy", "sqlalchemy.orm", "annotator.models", "annotator.services")


def test_packaging_cli_help_loads_no_database_model_or_web_code():
    """'annotator --help' answers from the command table alone (tests/benchmarks/bench_cli.py times it)."""
    code = (
        "import sys\nfrom annotator.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert "Commands:" in result.stdout and "status" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_packaging_cli_version_is_the_installed_distributions():
    code = "from annotator.cli import main\nmain(['--version'])"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["annotator", importlib.metadata.version("annotator")]


def test_packaging_app_without_pages_loads_no_spacy_alembic_or_web_code(tmp_path):
    """The app a command builds (``create_app(web=False)``) on an up-to-date database: spaCy, Alembic and
    the blueprints stay unloaded until a command needs them."""
    db = tmp_path / "a.db"
    code = (
        "import sys\nfrom annotator import create_app, db\n"
        f"app = create_app({{'DATABASE_URL': 'sqlite:///{db}', 'SECRET_KEY': 'x'}}, web=False)\n"
        "db.upgrade(app.extensions['annotator.engine'])\n"
        "for m in [m for m in sys.modules if m.startswith(('alembic', 'annotator.migrations'))]:\n    del sys.modules[m]\n"
        "assert db.ensure_current(app.extensions['annotator.engine']) == db.SCHEMA_HEAD\n"
        "print(sorted(m for m in ('spacy', 'alembic', 'annotator.web') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "ANNOTATOR_INSTANCE_PATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["db", "models", "extensions", "records", "limits"])
def test_packaging_lowest_layer_imports_nothing_above_it(module):
    """``db`` and ``models`` (and the records and limits they share with the core) import no service, page,
    command or domain package: the layers above import them, never the other way round."""
    tree = ast.parse((REPO / "annotator" / f"{module}.py").read_text(encoding="utf-8"))
    above = ("services", "web", "cli", "app", "corpus", "labels", "metrics", "export")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = (node.module or "") if node.level else (node.module or "").removeprefix("annotator.")
            names = [target] if target else [alias.name for alias in node.names]
            assert not any(n.split(".")[0] in above for n in names), (module, ast.unparse(node))
