"""`market bench`: a load benchmark of the public REST API, with its ceiling, process costs and an audit.

Not a test: it measures and reports. `cli.py` wires the command; `prepare.py` makes the run's own data
through the admin API; `load.py` drives closed-loop clients; `stats.py`, `report.py` and `chart.py`
turn what they saw into figures, a JSON file, a text summary and a PNG; `processes.py` measures CPU and
memory of every process involved; `deploy.py` starts (and stops) the platform for `--mode`.
"""
