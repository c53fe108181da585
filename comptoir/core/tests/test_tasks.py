"""Background tasks: what each task does (immediate backend) and a real round trip through Redis and a worker."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

import pytest
import redis
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.tasks import TaskResultStatus

from comptoir.core import services, tasks
from comptoir.core.models import AuditEntry
from comptoir.core.tests.factories import StaffFactory, UserFactory, role

REDIS_HOST = "127.0.0.1:6379"
REDIS_START_HINT = (
    f"Redis is not running at {REDIS_HOST}: start it with `redis-server --daemonize yes` "
    "(Debian: `apt-get install redis-server`), or `docker run -d -p 6379:6379 redis:7`."
)


# --------------------------------------------------------------------------------------------------
# The tasks themselves (default immediate backend: they run when enqueued)
# --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_add_staff_member_enqueues_the_activation_email_after_commit(org, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.add_staff_member(organization=org, by=admin, email="new@example.test", role=role(org, "reception"))
    assert mail.outbox == []  # nothing leaves before the transaction commits

    for callback in callbacks:
        callback()

    assert len(callbacks) == 1
    assert [message.to for message in mail.outbox] == [["new@example.test"]]
    assert org.slug in mail.outbox[0].body


@pytest.mark.django_db
def test_resend_activation_enqueues_the_email_again(org, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        staff = services.add_staff_member(
            organization=org, by=admin, email="new@example.test", role=role(org, "technician")
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_activation(staff=staff, by=admin)

    assert [message.to for message in mail.outbox] == [["new@example.test"], ["new@example.test"]]


@pytest.mark.django_db
def test_activation_email_task_sends_nothing_once_the_account_is_active(org):
    user = UserFactory()  # has a usable password: already activated
    StaffFactory(organization=org, user=user, kind="reception")

    result = tasks.send_activation_email_task.enqueue(user_id=user.pk, organization_id=org.pk)

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_activation_email_task_sends_nothing_to_someone_outside_the_staff(org, other_org, admin):
    staff = services.add_staff_member(
        organization=org, by=admin, email="outsider@example.test", role=role(org, "reception"), send_activation=False
    )

    result = tasks.send_activation_email_task.enqueue(user_id=staff.user_id, organization_id=other_org.pk)
    missing = tasks.send_activation_email_task.enqueue(user_id=999_999, organization_id=org.pk)

    assert (result.return_value, missing.return_value) == (False, False)
    assert mail.outbox == []


@pytest.mark.django_db
def test_activation_email_task_is_safe_to_run_twice(org, admin):
    staff = services.add_staff_member(
        organization=org, by=admin, email="twice@example.test", role=role(org, "manager"), send_activation=False
    )

    first = tasks.send_activation_email_task.enqueue(user_id=staff.user_id, organization_id=org.pk)
    second = tasks.send_activation_email_task.enqueue(user_id=staff.user_id, organization_id=org.pk)

    assert (first.return_value, second.return_value) == (True, True)
    assert len(mail.outbox) == 2 and mail.outbox[0].body == mail.outbox[1].body  # the same valid link twice


@pytest.mark.django_db
def test_heartbeat_task_writes_a_journal_entry(org):
    result = tasks.record_task_heartbeat.enqueue(organization_id=org.pk, note="ping")

    entry = AuditEntry.objects.get(action="task.heartbeat")
    assert result.return_value == entry.pk
    assert (entry.organization, entry.actor, entry.actor_label, entry.message) == (org, None, "system", "ping")


# --------------------------------------------------------------------------------------------------
# Through Redis: the RQ backend queues the job, `comptoir worker --burst` runs it
# --------------------------------------------------------------------------------------------------
def _redis_db() -> int:
    """One Redis database per pytest-xdist worker (9..15), so parallel runs never take each other's jobs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 9 + int(worker.removeprefix("gw") or 0) % 7


@pytest.fixture
def rq_backend(settings):  # type: ignore[no-untyped-def]
    """Settings switched to the RQ backend on a dedicated Redis database, its queue emptied first.

    Fails (never skips) when Redis does not answer: the queue is a real component of Comptoir.
    """
    url = f"redis://{REDIS_HOST}/{_redis_db()}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        answered = client.ping()
    except redis.exceptions.ConnectionError:
        answered = False
    if not answered:
        pytest.fail(REDIS_START_HINT, pytrace=False)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": url, "DEFAULT_TIMEOUT": 60}}
    import django_rq

    django_rq.get_queue("default").empty()
    yield url
    django_rq.get_queue("default").empty()
    client.close()


def _database_url_of_this_test() -> str | None:
    """A DATABASE_URL another process can use to reach this test's database, or None (in-memory SQLite)."""
    params = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(params["USER"] or "", safe="")
        if params.get("PASSWORD"):
            credentials += ":" + quote(params["PASSWORD"], safe="")
        host = params.get("HOST") or "127.0.0.1"
        port = params.get("PORT") or 5432
        return f"postgres://{credentials}@{host}:{port}/{params['NAME']}"
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        return f"sqlite:///{params['NAME']}"
    return None


def _run_worker_burst(redis_url: str) -> str:
    """Run the queued jobs: a real `comptoir worker --burst` process when it can see this test's database
    (PostgreSQL, or SQLite with SQLITE_TEST_FILE=1), else the same command inside this process."""
    database_url = _database_url_of_this_test()
    if database_url is None:
        call_command("worker", "--burst", "--simple", verbosity=0)
        return "in-process"
    env = {**os.environ, "DATABASE_URL": database_url, "TASK_BACKEND": "rq", "REDIS_URL": redis_url}
    completed = subprocess.run(
        [sys.executable, "-m", "comptoir", "worker", "--burst", "--verbosity", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return "subprocess"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_queued_task_that_writes_to_the_database(rq_backend):
    organization = services.create_organization(name="Opérateur file", slug="operateur-file")

    result = tasks.record_task_heartbeat.enqueue(organization_id=organization.pk, note="from the queue")

    assert result.status == TaskResultStatus.READY
    assert not AuditEntry.objects.filter(action="task.heartbeat").exists()  # waiting in Redis

    _run_worker_burst(rq_backend)

    entry = AuditEntry.objects.get(action="task.heartbeat")
    assert (entry.organization_id, entry.message, entry.actor_id) == (organization.pk, "from the queue", None)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == entry.pk


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_activation_email_is_queued_on_commit_and_sent_by_the_worker(rq_backend):
    organization = services.create_organization(name="Opérateur file", slug="operateur-file")
    admin = StaffFactory(organization=organization, kind="administrator").user

    staff = services.add_staff_member(
        organization=organization, by=admin, email="queued@example.test", role=role(organization, "reception")
    )

    assert mail.outbox == []  # committed and queued, not sent by the web process
    import django_rq

    assert django_rq.get_queue("default").count == 1

    call_command("worker", "--burst", "--simple", verbosity=0)  # in-process: the e-mail lands in mail.outbox

    assert [message.to for message in mail.outbox] == [[staff.user.email]]
    assert django_rq.get_queue("default").count == 0
