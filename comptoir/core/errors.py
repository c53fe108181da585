"""Domain errors: every service raises one of these; views show the message, the API answers 4xx JSON."""

from django.utils.functional import Promise


class DomainError(Exception):
    """A refused business operation. `code` is stable (API clients rely on it); `field` names the input."""

    status = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str | Promise,
        code: str | None = None,
        *,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.details = dict(details or {})  # more for API clients (a booking conflict's slot), beside the message
        self.message = str(message)
        self.code = code or self.default_code
        self.fields = dict(fields or {})
        if field:
            self.fields.setdefault(field, []).append(self.message)


class ValidationFailed(DomainError):
    default_code = "invalid"


class RightsError(DomainError):
    """The actor may not do this (403)."""

    status = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"
