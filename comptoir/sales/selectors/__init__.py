"""One module per area; import the area module you need (e.g. `from comptoir.sales.services import quotes`)."""
