"""The catalog app's areas: back office views in `comptoir.catalog.views.<area>`, API in
`comptoir.catalog.api.<area>` (see comptoir.core.areas)."""

AREAS = ["spaces", "products", "pricing", "floorplans"]
