"""`make bench`: the hub over HTTP against the hand-written-SQL floor (issue 7)."""
