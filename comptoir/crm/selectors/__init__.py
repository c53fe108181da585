"""CRM reads that depend on who asks, one module per area; import from here."""

from comptoir.crm.selectors.companies import *  # noqa: F403
from comptoir.crm.selectors.followup import *  # noqa: F403
from comptoir.crm.selectors.pipeline import *  # noqa: F403
