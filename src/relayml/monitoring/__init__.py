"""`relay monitors run`: the user-level side of monitoring. It reaches the services only
through a Backend: the runner (`runner.py`) asks every monitor the caller may manage to
process what is new in its log each tick (the work, the claim and the decisions are the
service's, `services/monitor_processing.py`); model-shift checks that run against a live
endpoint record their results with `backend.monitors.record_check`."""
