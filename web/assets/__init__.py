"""The npm project whose built files the hub vendors (`package.json`, `package-lock.json`),
the script that copies them (`build.py`, run by `make assets`) and the manifest it writes.
"""
