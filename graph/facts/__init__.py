"""Warning facts: each project's three-colour level per month, kept as rows so that the
dashboard's lists and counts are one indexed statement at any scale.

    store.py      the `warning_fact` table (its own database, `HUB_FACTS_DB_URL`), the
                  dashboard's reads, and the write that replaces a refresh's rows
    refresh.py    `refresh`: recompute the facts of some projects and months with the
                  same rule as a live answer (`graph.derived.compliance`) and say which
                  levels changed; run after `hub seed`, after every import, and by
                  `hub facts refresh`

A month the facts do not cover (never refreshed) is answered from the raw records as
before, so the facts only ever make answers faster, never different.
"""
