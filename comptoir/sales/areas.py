"""The sales app's areas: back office views in `comptoir.sales.views.<area>`, API in
`comptoir.sales.api.<area>` (see comptoir.core.areas)."""

AREAS = ["quotes", "contracts", "terms", "signatures"]
