"""`make bench`: the hub over HTTP against the hand-written-SQL floor (docs/benchmarks.md)."""
