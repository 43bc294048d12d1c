"""`sagashop bench` and `sagashop report-bench`: the measurements."""
