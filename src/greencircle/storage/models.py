"""Imports every domain's tables so ``Base.metadata`` is complete (for Alembic and tests)."""

from greencircle.audit import models as audit_models
from greencircle.auth import models as auth_models
from greencircle.energy import models as energy_models
from greencircle.exchange import models as exchange_models
from greencircle.exchange import models_agreements as exchange_agreement_models
from greencircle.exchange import models_auctions as exchange_auction_models
from greencircle.exchange import models_surveillance as exchange_surveillance_models
from greencircle.jobs import models as job_models
from greencircle.mrv import models as mrv_models
from greencircle.registry import models as registry_models
from greencircle.storage import idempotency
from greencircle.storage.base import Base

__all__ = [
    "Base",
    "audit_models",
    "auth_models",
    "energy_models",
    "exchange_agreement_models",
    "exchange_auction_models",
    "exchange_models",
    "exchange_surveillance_models",
    "idempotency",
    "job_models",
    "mrv_models",
    "registry_models",
]
