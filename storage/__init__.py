"""Databases: one engine per agency or store, the read path that runs compiled statements
on the driver itself, and the column types every store shares."""
