"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Everything is overridable by environment variables (see ``matchmaker.env.example``). Measured on
2-core machines (DESIGN.md, *Serving*; docs/benchmarks.md, *Production*):

- keep workers x threads <= cores and one torch thread per worker;
- no ``preload_app``: each worker imports the app after the fork, loads the model there and
  (with ``MATCHMAKER_WARM_UP=1``) builds its index in a background thread; ``/readyz`` answers
  503 until both are done, so a load balancer sends it no traffic before;
- Prometheus metrics of all workers are summed through ``PROMETHEUS_MULTIPROC_DIR``, which must
  be an empty directory writable by the service (systemd's ``RuntimeDirectory`` gives one).
"""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# gunicorn's sync or threaded worker (as it picks by ``threads``) whose own 400/414/431 answers
# are problem documents like the app's (matchmaker/serving.py).
worker_class = f"matchmaker.serving.Problem{'Thread' if threads > 1 else 'Sync'}Worker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
preload_app = False
# The app logs every request itself (JSON with the request id); gunicorn's access log would
# only repeat it.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 50


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn hook signature
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:  # stale files of a previous run would add old counts
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def when_ready(server):  # noqa: ANN001, ANN201
    # Memory-counted rate limits are per worker: say so where the operator reads the log.
    from matchmaker.config import Settings
    from matchmaker.security import per_process_limits_warning

    warning = per_process_limits_warning(Settings.from_env(), server.cfg.workers)
    if warning:
        server.log.warning(warning)


def post_fork(server, worker):  # noqa: ANN001, ANN201
    os.environ.setdefault("OMP_NUM_THREADS", os.environ.get("MATCHMAKER_TORCH_THREADS", "1"))


def child_exit(server, worker):  # noqa: ANN001, ANN201
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
