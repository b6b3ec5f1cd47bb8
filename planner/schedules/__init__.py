"""Reading schedules: STScI weekly reports (text and DJA JSON) into a slew timeline and an issue history.

- `report`: one weekly report as parsed, and the order reports were issued in;
- `text`, `dja`: the two report formats' readers;
- `timeline`: the canonical timeline (every prime visit once, its slew and slew duration),
  `load_timeline`, `write_timeline`;
- `history`: every row of every report in issue order, and the timeline known after each report;
- `fetch`: downloading the published reports into a cache;
- `synthetic`, `perturb`: made-up and perturbed timelines for benchmarks and what-if batches.
"""
