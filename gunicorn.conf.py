"""gunicorn settings for annotator, read by ``gunicorn`` started in this folder (or with ``-c``).

    gunicorn -w 4 -b 0.0.0.0:8000 "annotator:create_app()"

The app is loaded once, in gunicorn's master process, and shared by the
workers it forks: the projects' rule suggesters (which need no spaCy), their
trained models if any, and the page templates are loaded before the first
worker starts (``warm_up``), so that no worker's first labelling request pays for them, and
their memory pages are shared rather than copied into each worker. The start-up heap
is then moved out of the garbage collector's reach (``gc.freeze``): a
collection in a worker would otherwise write to every shared object's header
and copy its page. Command-line options override these.
"""

import gc

wsgi_app = "annotator:create_app()"
preload_app = True


def when_ready(server):
    """In the master, after the app is loaded and the socket bound, before any worker is forked."""
    from annotator.app import warm_up

    try:
        projects = warm_up(server.app.wsgi())
    except Exception:  # noqa: BLE001 - e.g. a database not initialised yet: serve cold rather than not at all
        server.log.warning("Warm-up failed; each worker loads what it needs on its first requests", exc_info=True)
    else:
        server.log.info("Warmed up %d project(s); the workers share what was loaded", projects)
    gc.collect()
    gc.freeze()
