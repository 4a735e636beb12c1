"""The package as installed: assets inside the wheel, a core free of Flask and the ORM."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = ["agreement", "agreement_tally", "export_files", "fsutil", "span_agreement", "span_metrics", "corpus", "text", "gold", "export", "spacy_config", "training", "normalise", "suggest", "records", "labels"]


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
