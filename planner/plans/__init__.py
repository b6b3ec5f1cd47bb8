"""Plans and checking: plan files, the independent checker, and comparisons.

- `result`: what a solve returns and the plan file's one metadata writer; `planfile` reads plans back
  (untrusted);
- `checker`: re-derives every rule from the timeline and returns typed `Violation`s; imports no solver;
- `compare`: a plan beside the anneals flown; `diff`: two plans; `export`: CSV and iCalendar.
"""
