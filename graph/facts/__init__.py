"""Warning facts: each project's three-colour level per month, kept as rows so that the
dashboard's lists and counts are one indexed statement at any scale.

    store.py      the `warning_fact` table (its own database, `HUB_FACTS_DB_URL`), the
                  dashboard's reads, and the write that replaces a refresh's rows
    refresh.py    `refresh`: recompute the facts of some projects and months with the
                  same rule as a live answer (`graph.derived.compliance`) and say which
                  levels changed; `refresh_changed`: only those whose rows changed since
                  the last refresh (run after every import and by `hub facts refresh`),
                  or all of them (`full`, after `hub seed`)
    changes.py    which projects and months changed: the rows of the batches written
                  since the last refresh, and the assessed tables' as-of days
    marks.py      what a refresh saw (per agency, its batches; the as-of days), kept
                  with the facts for the next

A month the facts do not cover (never refreshed) is answered from the raw records as
before, so the facts only ever make answers faster, never different.
"""
