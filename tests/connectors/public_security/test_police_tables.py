"""The police's residence registrations must name an identity the police sent."""

from __future__ import annotations

from connectors.public_security.tables import RESIDENCES


def test_a_residence_refers_to_an_identity_of_the_police() -> None:
    [reference] = RESIDENCES.references
    assert (reference.table, reference.agency) == ("ps_identity", None)
