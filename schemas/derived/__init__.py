"""Cross-agency fields the hub computes from several connectors' data (never stored)."""

from connectors.base import GraphContribution

CONTRIBUTIONS: tuple[GraphContribution, ...] = ()
