"""gunicorn's settings for the platform: `gunicorn -c config/gunicorn.conf.py config.wsgi:application`.

Command-line options (--bind, --workers, ...) still apply on top. What this file adds is about
Python's garbage collector in a worker that lives for many requests. A loaded Django process holds
over 100,000 long-lived container objects (models, URL patterns, DRF serializers, the compiled
promotions); every full collection walks them all, about 70 ms on the benchmark machine, once per
few hundred bookings: a pause in one request's latency and about 2% of the CPU. Freezing what the
worker loaded moves it out of the collector's sight for good, and a larger first-generation
threshold collects the short-lived garbage of a request about ten times less often.
(bench/tx.py runs gunicorn with this file.)
"""

import gc

# Request limits, gunicorn's defaults written down: gunicorn refuses a longer request line (URL) or header with
# its own plain-text 400 before Django sees the request, so no JSON body is possible there (docs/api.md,
# "Errors Django and gunicorn answer"). A proxy in front may set lower limits and its own JSON pages.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Young container objects allocated before a collection runs (Python's default is 700). Measured with
# POST /tx bookings: 700 meant about one collection per request, 10,000 about one per 20.
GC_THRESHOLD = (10_000, 10, 10)


def post_worker_init(worker) -> None:
    """Called in each worker once it has loaded the application."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
