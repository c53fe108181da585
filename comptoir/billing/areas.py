"""The billing app's areas: back office views in `comptoir.billing.views.<area>`, API in
`comptoir.billing.api.<area>` (see comptoir.core.areas). An area whose module does not exist is skipped."""

AREAS = ["invoices", "consumptions", "runs", "exports", "settings", "customers"]
