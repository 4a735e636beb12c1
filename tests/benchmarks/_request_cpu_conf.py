"""gunicorn settings for bench_server: a config file's settings, plus each request's CPU time in its worker.

The file named by ``BENCH_GUNICORN_CONF`` (the repository's ``gunicorn.conf.py``,
or ``/dev/null``) is run here as gunicorn would run it, so every setting and
hook it defines applies unchanged; ``pre_request`` and ``post_request`` (which
it does not define) add one line per request to ``BENCH_REQUEST_LOG``: the
worker's pid, the CPU time the worker spent on the request (``time.process_time``,
so other processes on a busy machine do not count) and the minor page faults
it took (a first request copies the pages it shares with the master), method
and path. ``post_request`` runs after the response is closed: what the worker
does then (e.g. the first response's garbage collection) counts too.
"""

import os
import resource
import time
from pathlib import Path

_conf = Path(os.environ["BENCH_GUNICORN_CONF"])
exec(compile(_conf.read_text(), str(_conf), "exec"))  # noqa: S102 - the settings file, as gunicorn reads it


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def pre_request(worker, req):
    worker.bench_request_start = (time.process_time(), _faults())


def post_request(worker, req, environ, resp):
    cpu, faults = worker.bench_request_start
    line = f"{os.getpid()} {(time.process_time() - cpu) * 1e6:.0f} {_faults() - faults} {req.method} {req.path}\n"
    with open(os.environ["BENCH_REQUEST_LOG"], "a") as log:
        log.write(line)
