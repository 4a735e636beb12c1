"""gunicorn settings for annotator, read by ``gunicorn`` started in this folder (or with ``-c``).

    gunicorn -w 4 -b 0.0.0.0:8000 "annotator:create_app()"

The app is loaded once, in gunicorn's master process, and shared by the
workers it forks: the projects' rule suggesters (which need no spaCy), their
trained models if any, the labelling page's templates, the SQL of the
labelling round trip (one round rehearsed and rolled back), and numpy with the
dashboard's metrics are loaded before the first worker starts (``warm_up``), so
that no worker's first labelling request pays for them, all workers are forked
in quick succession, and their memory pages are shared rather than copied
into each worker. The other pages' templates are loaded after the first worker
is forked, for the others (``pre_fork``): the first one serves sooner.

Garbage collection follows the recipe of Python's ``gc.freeze`` documentation:
off while the master loads (a collection would walk the growing heap again and
again, and free holes into pages the workers will share), then the start-up
heap is frozen, out of the collector's reach, and collection turned back on
before the workers fork: a collection in a worker would otherwise write to
every shared object's header and copy its page.

Each worker, before it serves, touches what its first requests use
(``warm_worker``: the reads of a labelling request, then ``next`` and a save,
rolled back): they would otherwise copy the shared pages they touch, several
thousand of them. Command-line options override these settings.
"""

import gc

wsgi_app = "annotator:create_app()"
preload_app = True

gc.disable()  # until when_ready (or on_reload): this file is read before the app is loaded


def when_ready(server):
    """In the master, after the app is loaded and the socket bound, before any worker is forked."""
    from annotator.app import warm_up

    try:
        projects = warm_up(server.app.wsgi())
    except Exception:  # noqa: BLE001 - e.g. a database not initialised yet: serve cold rather than not at all
        server.log.warning("Warm-up failed; each worker loads what it needs on its first requests", exc_info=True)
    else:
        server.log.info("Warmed up %d project(s); the workers share what was loaded", projects)
    gc.freeze()
    gc.enable()


def pre_fork(server, worker):
    """In the master, before each worker is forked: from the second on, the other pages' templates are shared too.

    No labelling request needs them (``warm_up_other_pages``): the first worker
    is forked without them and serves sooner, while the master loads them (from
    the bytecode cache when an earlier start compiled them; and freezes them
    with the rest) for the workers after it.
    """
    if not server.WORKERS:
        return
    from annotator.app import warm_up_other_pages

    collecting = gc.isenabled()
    gc.disable()
    try:
        if warm_up_other_pages(server.app.wsgi()):
            gc.freeze()
    except Exception:  # noqa: BLE001 - the pages load what they need on first use
        server.log.warning("Loading the other pages failed; each worker loads them on first use", exc_info=True)
    finally:
        if collecting:
            gc.enable()


def on_reload(server):
    """In the master, on SIGHUP, after this file was read again (which turned collection off)."""
    gc.enable()


def post_worker_init(worker):
    """In each worker, after the fork, before it accepts a request."""
    from annotator.app import warm_worker

    try:
        warm_worker(worker.wsgi)
    except Exception:  # noqa: BLE001 - a worker that could not rehearse still serves
        worker.log.warning("Worker warm-up failed; its first requests are slower", exc_info=True)
