"""The bare limit of the serving benchmarks: the smallest WSGI app, a 200 for every request."""


def app(environ, start_response):
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
