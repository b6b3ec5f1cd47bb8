"""Many scenarios at once, locally or on Dask.

- `scenarios`: scenario files (TOML) and their validation; `run`: the runner (pool or Dask, resumable);
- `replay`: replay scenarios; `summary`: the one summary table's schema and writer.
"""
