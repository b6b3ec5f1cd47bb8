"""Planning week by week as the schedule is published: policies, replays, the weekly job."""

# The online policy of `replay`, `next` and batch replays (planner.online.policies; chosen in
# docs/weekly.md). Here, not in policies.py, so the CLI's --help reads it without numpy.
DEFAULT_POLICY = "rollout"
