"""gunicorn settings, all overridable by environment variables.

Measured on 2-core machines (see DESIGN.md): keep workers x threads <= cores, one torch thread per
worker, and load the model in each worker after the fork (no ``preload_app`` with torch).
"""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# gunicorn's sync or threaded worker (as it picks by ``threads``) whose own 400/414/431 answers
# are problem documents like the app's (matchmaker/serving.py).
worker_class = f"matchmaker.serving.Problem{'Thread' if threads > 1 else 'Sync'}Worker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 20
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 50


def when_ready(server):  # noqa: ANN001, ANN201
    # Memory-counted rate limits are per worker: say so where the operator reads the log.
    from matchmaker.config import Settings
    from matchmaker.security import per_process_limits_warning

    warning = per_process_limits_warning(Settings.from_env(), server.cfg.workers)
    if warning:
        server.log.warning(warning)


def post_fork(server, worker):  # noqa: ANN001, ANN201 - gunicorn hook signature
    os.environ.setdefault("OMP_NUM_THREADS", os.environ.get("MATCHMAKER_TORCH_THREADS", "1"))
