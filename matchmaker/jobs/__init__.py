"""Background jobs: the job table, the queue and a registry of what each kind of job does.

The job runner knows no domain: a feature registers the handler of its kind of job
(:func:`register_handler`, in its ``init_app``) and :func:`run_job` dispatches through the
registry. With ``MATCHMAKER_REDIS_URL`` set, jobs go to an RQ queue on Redis and ``matchmaker
worker`` processes (:mod:`matchmaker.worker`) run them; without it, a job runs in a thread of the
submitting process (the embedded default). Either way a job's state and progress (done / total)
are rows in the database, where the API, the pages and the CLI read them, and every job writes
its results in one transaction: a worker killed mid-job leaves nothing half-written, and running
the job again gives the same result.

- :mod:`~matchmaker.jobs.models`: the ``Job`` table, ``JobKind``, ``JobStatus``;
- :mod:`~matchmaker.jobs.queue`: recording and submitting a job, Redis and RQ, the queue depth;
- :mod:`~matchmaker.jobs.tracking`: heartbeat, staleness and progress of a tracked run;
- :mod:`~matchmaker.jobs.runner`: the handler registry and the run of one job.
"""

from matchmaker.jobs.models import Job, JobKind, JobStatus, Tracked, TrackedStatus
from matchmaker.jobs.queue import (
    QUEUE_NAME,
    create_job,
    dispatch,
    get_queue,
    init_app,
    queue_depth,
    redis_connection,
    submit,
)
from matchmaker.jobs.runner import (
    Handler,
    JobRejected,
    JobWork,
    NoHandler,
    handler_for,
    register_handler,
    run_job,
)
from matchmaker.jobs.tracking import (
    HEARTBEAT_SECONDS,
    PROGRESS_SECONDS,
    STALE_AFTER_SECONDS,
    Heartbeat,
    Progress,
    Tracker,
    heartbeat_lost,
    is_stale,
    job_out,
    lost_worker,
)

__all__ = [
    "HEARTBEAT_SECONDS",
    "PROGRESS_SECONDS",
    "QUEUE_NAME",
    "STALE_AFTER_SECONDS",
    "Handler",
    "Heartbeat",
    "Job",
    "JobKind",
    "JobRejected",
    "JobStatus",
    "JobWork",
    "NoHandler",
    "Progress",
    "Tracked",
    "TrackedStatus",
    "Tracker",
    "create_job",
    "dispatch",
    "get_queue",
    "handler_for",
    "heartbeat_lost",
    "init_app",
    "is_stale",
    "job_out",
    "lost_worker",
    "queue_depth",
    "redis_connection",
    "register_handler",
    "run_job",
    "submit",
]
