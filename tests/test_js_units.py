"""The browser code without a browser: the pure modules (static/spans.js, keymap.js, offsets.js),
the labelling page's state module and the import graph, tested by node's own test runner on
tests/js/*.test.mjs. static/package.json says its .js files are ES modules, so node imports them
as the browser does."""

import shutil
import subprocess
from pathlib import Path

JS_TESTS = Path(__file__).parent / "js"


def test_js_units_pass_under_node():
    node = shutil.which("node")
    # As with Chromium for the browser tests, a missing node is an error, not a skip.
    assert node, "node is missing: apt-get install nodejs (./run-tests does it as root)"
    result = subprocess.run(
        [node, "--test", *sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=JS_TESTS.parent.parent,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
