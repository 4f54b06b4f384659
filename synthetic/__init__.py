"""The synthetic world: deterministic, realistic records every connector seeds its tables from."""
