"""Planning week by week as the schedule is published.

- `policies`: greedy, lookahead, rollout and guarded; `prior`: the weeks a policy learns from first;
- `replay`: a cycle's reports replayed in issue order; `outcome`: its summary beside hindsight;
- `weekly`: the weekly job (`next`).
"""

# The online policy of `replay`, `next` and batch replays (planner.online.policies; chosen in
# docs/weekly.md): `guarded`, no worse than greedy on every shipped cycle left out, level with
# rollout in total and better than it with another cycle's prior (benchmarks/policy_loo.py). Here,
# not in policies.py, so the CLI's --help reads it without numpy.
DEFAULT_POLICY = "guarded"
