"""Every domain's tables, gathered for Alembic and tests (import order does not matter)."""

from opsplane.server.alerts import models as alerts_models
from opsplane.server.audit import models as audit_models
from opsplane.server.auth import models as auth_models
from opsplane.server.db import Base
from opsplane.server.dumps import models as dumps_models
from opsplane.server.fleet import models as fleet_models
from opsplane.server.metrics import models as metrics_models

metadata = Base.metadata

__all__ = [
    "alerts_models",
    "audit_models",
    "auth_models",
    "dumps_models",
    "fleet_models",
    "metadata",
    "metrics_models",
]
