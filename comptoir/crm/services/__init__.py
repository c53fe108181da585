"""Every write of the CRM, one module per area; import from here: `from comptoir.crm import services`."""

from comptoir.crm.services.companies import *  # noqa: F403
from comptoir.crm.services.followup import *  # noqa: F403
from comptoir.crm.services.pipeline import *  # noqa: F403
