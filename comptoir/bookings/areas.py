"""The bookings app's areas: back office views in `comptoir.bookings.views.<area>`, API in
`comptoir.bookings.api.<area>` (see comptoir.core.areas). An area whose module does not exist is skipped."""

AREAS = ["bookings", "blocks", "planning", "plans", "feeds", "availability", "spaces"]
