"""Reading schedules: STScI weekly reports (text and DJA JSON) into a slew timeline and an issue history.

- `report`: one weekly report as parsed, and the order reports were issued in;
- `text`, `dja`: the two report formats' readers;
- `timeline`: the canonical timeline (every prime visit once, its slew and slew duration),
  `load_timeline`, `write_timeline`;
- `history`: every row of every report in issue order, and the timeline known after each report;
- `fetch`: downloading the published reports into a cache;
- `synthetic`, `perturb`: made-up and perturbed timelines for benchmarks and what-if batches.
"""

# Where `fetch` downloads from, and the environment variables that name a mirror instead: here, not
# in planner.schedules.fetch, so the CLI's --help shows them without importing what fetching needs.
STSCI_URL = "https://www.stsci.edu/jwst/science-execution/observing-schedules"
DJA_INDEX_URL = "https://api.github.com/repos/dawn-cph/dja/contents/assets/schedule/Cycle{cycle}"
DJA_FILES_URL = "https://raw.githubusercontent.com/dawn-cph/dja/master/assets/schedule/Cycle{cycle}/"
ENV_STSCI_URL = "ANNEAL_PLANNER_STSCI_URL"
ENV_DJA_INDEX_URL = "ANNEAL_PLANNER_DJA_INDEX_URL"
ENV_DJA_FILES_URL = "ANNEAL_PLANNER_DJA_URL"
ENV_CACHE = "ANNEAL_PLANNER_CACHE"
