"""The fund's batched loaders."""

from __future__ import annotations

from connectors.insurance.models import Policy
from connectors.loading import AgencyLoaders, many_by

policy_t = Policy.__table__  # type: ignore[attr-defined]


class InsuranceLoaders(AgencyLoaders):
    policies_by_enterprise = many_by(policy_t.c.enterprise_uscc, order_by=[policy_t.c.policy_no])
