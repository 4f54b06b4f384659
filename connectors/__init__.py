"""Agency connectors, one package each.

`discover()` finds them, so a new agency is one new package and nothing else changes.
"""

from connectors.base import Connector, discover

__all__ = ["Connector", "discover"]
