"""What is planned: the calibration program, the rules, which slews are eligible, and the instance.

- `program`: programs as data (program files; the shipped seed and anneal series; picking by cycle);
- `calendar`: windows and the target interval;
- `rules`: rule sets (`seed`, `operations`, rules files) as data; `eligibility` applies them;
- `pins`: observations fixed to a slew;
- `instance`: one planning problem (`Instance`); `settings`: how to solve it (`SolverSettings`);
- `coverage`, `destinations`, `slewtime`: what a timeline holds, as evidence for the rules.
"""
