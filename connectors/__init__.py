"""Agency connectors, one package each.

`discover()` finds them, so a new agency is one new package and nothing else changes.
Agency packages kept outside this tree are found too when their directory is listed in
`HUB_AGENCY_PATH` (directories separated like PATH, each holding agency packages).
"""

import os

__path__ = [
    *__path__,
    *(
        directory
        for directory in os.environ.get("HUB_AGENCY_PATH", "").split(os.pathsep)
        if directory
    ),
]

from connectors.base import Connector, discover

__all__ = ["Connector", "discover"]
