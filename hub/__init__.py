"""The hub: Starlette app, settings, databases and the `hub` command line."""
