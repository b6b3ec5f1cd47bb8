"""The solver: the chain of windows, the exact DP oracle, the CP-SAT flow model and its staged solve.

- `chain`: the problem as layers of eligible slews, read by both the DP and the model;
- `oracle`: the exact dynamic programme (optimum, bounds, pruning); `proof` re-proves a plan's claim;
- `model`: the CP-SAT constraints and objectives; `solve`: `solve(instance, settings) -> Result`;
- `explain`: why no plan exists, and why a window is not served.
"""
