"""`comptoir worker`: run the background tasks queued in Redis (TASK_BACKEND=rq).

A wrapper around django-rq's `rqworker` that always passes the job class able to run Django's
`django.tasks` tasks (`django_tasks_rq.Job`), so nobody has to remember it:

    TASK_BACKEND=rq REDIS_URL=redis://127.0.0.1:6379/0 comptoir worker            # runs until stopped
    TASK_BACKEND=rq REDIS_URL=redis://127.0.0.1:6379/0 comptoir worker --burst    # empties the queue, exits
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

JOB_CLASS = "django_tasks_rq.Job"
SIMPLE_WORKER_CLASS = "rq.SimpleWorker"


class Command(BaseCommand):
    help = "Run the background-task worker (RQ on Redis) for Django's task interface."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("queues", nargs="*", help="Queues to work on (default: every queue of TASKS).")
        parser.add_argument("--burst", action="store_true", help="Run the queued jobs, then exit.")
        parser.add_argument(
            "--with-scheduler", action="store_true", help="Also move deferred tasks (run_after) to their queue."
        )
        parser.add_argument(
            "--simple",
            action="store_true",
            help="Run jobs inside this process instead of a forked child (debugging, platforms without fork).",
        )
        parser.add_argument("--max-jobs", type=int, default=None, help="Exit after this many jobs.")
        parser.add_argument("--name", default=None, help="Worker name (default: RQ's host.pid).")

    def handle(self, *args: Any, **options: Any) -> None:
        queues = options["queues"] or self.configured_queues()
        unknown = [name for name in queues if name not in settings.RQ_QUEUES]
        if unknown:
            raise CommandError(f"Unknown queue(s) {', '.join(unknown)}: configure them in RQ_QUEUES.")
        if getattr(settings, "TASK_BACKEND", "immediate") != "rq" and options["verbosity"] >= 1:
            self.stderr.write(
                "Note: TASK_BACKEND is not 'rq' here; tasks enqueued by processes with the immediate backend run "
                "in those processes. This worker only runs jobs queued by processes started with TASK_BACKEND=rq."
            )
        call_command(
            "rqworker",
            *queues,
            job_class=JOB_CLASS,
            worker_class=SIMPLE_WORKER_CLASS if options["simple"] else None,
            burst=options["burst"],
            with_scheduler=options["with_scheduler"],
            max_jobs=options["max_jobs"],
            name=options["name"],
            verbosity=options["verbosity"],
        )

    @staticmethod
    def configured_queues() -> list[str]:
        queues: set[str] = set()
        for backend in settings.TASKS.values():
            if backend.get("BACKEND", "").startswith("django_tasks_rq."):
                queues.update(backend.get("QUEUES", ["default"]))
        return sorted(queues) or ["default"]
