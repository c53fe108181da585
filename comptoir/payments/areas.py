"""The payments app's areas: back office views in `comptoir.payments.views.<area>`, API in
`comptoir.payments.api.<area>` (see comptoir.core.areas). An area whose module does not exist is skipped."""

AREAS = ["payments", "links", "mandates", "debits", "reminders", "reports", "settings", "webhooks", "imports"]
