"""The web desk: pages the hub renders for people, and the static files they load.

Everything a page needs is served by the hub itself (`web/static/`, front-end packages
vendored under `web/static/vendor/` by `make assets`), so the desk works on a network with
no internet. Pages carry a strict Content-Security-Policy (`web/headers.py`): scripts and
styles come from files, never inline.
"""
