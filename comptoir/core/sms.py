"""Text messages (DESIGN.md: an adapter behind a small interface).

`send_sms(to=..., body=..., organization=..., purpose=...)` writes the message to the outbox table
(`SmsMessage`) and hands it to the transport named by `settings.SMS_TRANSPORT`. The default transport,
`comptoir.core.sms.LogTransport`, only writes to the log: it works offline and lets a developer (and the
browser tests) read a code from the outbox. A real provider is a class with `send(message) -> str`
(the provider's message id) plugged in by settings; a failure is recorded on the message and raised.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from comptoir.core.models import Organization, SmsMessage

logger = logging.getLogger("comptoir.sms")


class Transport(Protocol):
    def send(self, message: SmsMessage) -> str: ...


class LogTransport:
    """Writes the message to the log (and it is already in the outbox)."""

    def send(self, message: SmsMessage) -> str:
        logger.info("SMS to %s: %s", message.to, message.body)
        return f"log-{message.pk}"


class SmsError(Exception):
    pass


def transport() -> Transport:
    return import_string(getattr(settings, "SMS_TRANSPORT", "comptoir.core.sms.LogTransport"))()


def send_sms(*, to: str, body: str, organization: Organization | None = None, purpose: str = "") -> SmsMessage:
    chosen = transport()
    message = SmsMessage.objects.create(
        organization=organization, to=to, body=body, purpose=purpose, transport=type(chosen).__name__
    )
    try:
        message.provider_id = chosen.send(message)
    except Exception as exc:
        message.status = SmsMessage.Status.FAILED
        message.error = str(exc)[:500]
        message.save(update_fields=["status", "error"])
        raise SmsError(str(exc)) from exc
    message.status = SmsMessage.Status.SENT
    message.save(update_fields=["status", "provider_id"])
    return message
