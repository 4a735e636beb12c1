"""Labelling page in Chromium: bytes transferred and time until the first sentence's tokens show.

The app runs under gunicorn (2 preloaded workers) on a fresh SQLite file with a
project of --size sentences. An annotator logs in through the form (not
measured); then, with the browser cache disabled, each of --repeat loads of
``/projects/<p>/label`` is timed from navigation start until ``#sentence .tok``
is visible (static/sentence-view.js renders tokens as ``span.tok``), and the
encoded bytes of every response of that load are summed (Chrome DevTools
Protocol ``Network.loadingFinished``). Median over the loads.

Limit: the same measurement for the trivial ``/healthz`` page on the same
server (until its body is there).

    python tests/benchmarks/bench_page.py [--size N] [--repeat 5]
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _common as c
import bench_roundtrip as rt

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"


def measure(page, cdp, url: str, selector: str) -> tuple[float, int]:
    received: dict[str, float] = {}

    def finished(event):
        received[event["requestId"]] = event["encodedDataLength"]

    cdp.on("Network.loadingFinished", finished)
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(selector, state="visible", timeout=30_000)
    elapsed = time.perf_counter() - started
    page.wait_for_load_state("networkidle")  # count late requests of the same load too
    cdp.remove_listener("Network.loadingFinished", finished)
    return elapsed, int(sum(received.values()))


def main(argv=None) -> list[dict]:
    from playwright.sync_api import sync_playwright
    from sqlalchemy import select

    from annotator import db as database
    from annotator.models import User
    from annotator.services.unit_of_work import session_factory
    from annotator.services.users import set_password

    p = c.parser(__doc__.splitlines()[0], size=1000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    out = []
    with tempfile.TemporaryDirectory() as tmp, c.fresh_database("sqlite", None, Path(tmp)) as url:
        rt.setup(url, args.size)
        engine = database.make_engine(url)
        session = session_factory(engine)()
        user = session.scalar(select(User).where(User.username == "annotator0"))
        set_password(user, PASSWORD)
        session.commit()
        session.close()
        engine.dispose()
        process, port = rt.start_server(url, 2, Path(tmp) / "instance")
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(f"{base}/login")
                page.fill("input[name=username]", "annotator0")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                measure(page, cdp, f"{base}/projects/bench/label", "#sentence .tok")  # warm the workers
                label = [
                    measure(page, cdp, f"{base}/projects/bench/label", "#sentence .tok") for _ in range(args.repeat)
                ]
                trivial = [measure(page, cdp, f"{base}/healthz", "body") for _ in range(args.repeat)]
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=15)
    common = dict(n=args.size, backend="sqlite", loads=args.repeat, cache="disabled")
    out.append(
        c.emit(
            "page.label.time_to_tokens_ms.lower_better",
            statistics.median(t for t, _ in label) * 1000,
            "ms",
            statistics.median(t for t, _ in trivial) * 1000,
            **common,
        )
    )
    out.append(
        c.emit(
            "page.label.bytes_transferred.lower_better",
            statistics.median(b for _, b in label),
            "bytes",
            statistics.median(b for _, b in trivial),
            **common,
        )
    )
    return out


if __name__ == "__main__":
    main()
