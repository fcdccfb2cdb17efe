"""Layout of a results directory (the contract between the runner and the report builder).

``fairsim run`` writes into ``OUT``::

    OUT/
      results.parquet    one row per (design point, replication, mechanism)
      rounds.parquet     one row per (design point, replication, mechanism, round) of the dynamics
      analyses.parquet   one row per (analysis, mechanism, n) of scenario ``analyses:``
      manifest.json      scenario name/kind/hash/text, root seed, package versions, row counts,
                         start/end timestamps, worker count, claims (copied from the scenario)
      scenario.yaml      the scenario file exactly as given
      ledger.sqlite      the run ledger: one row per (design point, replication) task with status
                         done/failed, error and chunk (:mod:`fairsim.sim.ledger`)
      chunks/results/part-XXXXX.parquet   rows of the tasks of one chunk (same schema as
      chunks/rounds/part-XXXXX.parquet    results.parquet / rounds.parquet, unsorted)
      chunks/analyses/analyses.parquet    the analyses, once computed

The consolidated tables are rebuilt from the chunks the ledger names at the end of every
``fairsim run`` invocation; read those (or query them: ``fairsim query``, :mod:`fairsim.sim.query`).

Columns of ``results.parquet`` (rows sorted by design_point, replication, mechanism order):

==========================  ======================================================================
``run_id``                  ``"<design_point>-<replication>"`` (str)
``design_point``            int, index into the expanded sweep
``replication``             int
``mechanism``               str, the mechanism's display label (unique within a scenario)
``mechanism_name``          str, the registry short name (``uniform_phantom``)
``mechanism_order``         int, position in the scenario's ``mechanisms`` list
``randomized``              bool
``domain``                  str (``facility_location``)
``n``                       int, number of agents
``distribution``            str, location distribution name
``behaviour``               str, ``+``-joined behaviour names with shares: the name alone for one
                            behaviour (``truthful``), else ``name:share`` parts
                            (``best_response:0.5+truthful:0.5``)
``seed``                    str, ``"<root>/<design_point>/<replication>"`` (the SeedSequence key)
``param.<path>``            one column per swept parameter (dotted path); JSON text when the values
                            are not all numbers
``locations``               list<float64>, the agents' true locations
``reports``                 list<float64>, final reports
``outcome``                 float64, final outcome (facility location)
``truthful_outcome``        float64, outcome under truthful reports (same random draw)
``rounds``                  int, dynamics rounds run, counting round 0: 1 + the number of sweeps
                            (1 when no agent is strategic); equals the run's rows in rounds.parquet
                            when ``dynamics.record_rounds``
``converged``               bool
``metric.<name>``           float64 per metric (true locations, final outcome)
``axiom.<name>``            bool per axiom (true locations, final outcome); null when an exact check
                            was inconclusive (a solver limit; its witness says what was left open)
``slack.<name>``            float64 per axiom
``witness.<name>``          str (JSON) per axiom, null when it holds
``error``                   str, null unless the run raised: ``"<ExceptionType>: <message>"``
                            (then reports/outcome/metric/axiom columns are null; ``locations`` is
                            null too when drawing the instance failed)
==========================  ======================================================================

Participatory budgeting (``kind: participatory_budgeting``, :mod:`fairsim.sim.budgeting`) shares
``run_id`` ... ``n``, ``distribution``, ``behaviour``, ``seed``, ``param.*``, ``metric.*``,
``axiom.*``, ``slack.*``, ``witness.*`` and ``error``; instead of ``locations`` ... ``converged`` it
has ``m`` (int, projects), ``budget`` (float64), ``selected`` (list<string>, funded project ids;
a lottery's drawn outcome), ``cost`` (float64, their total cost) and ``years`` (int). Its
``rounds.parquet`` (only when ``elections.years > 1``) has ``run_id, design_point, replication,
mechanism, round`` (= year), ``outcome`` (cost), ``selected``, ``metric.*`` and ``axiom.*``.

Columns of facility location's ``rounds.parquet``: ``run_id, design_point, replication, mechanism, round`` (0 =
truthful reports), ``outcome``, ``reports`` (list<float64>), ``max_change`` (largest report move in
that round; null in round 0), ``metric.social_welfare``, and ``axiom.<name>`` for the scenario's
outcome axioms (strategyproofness is evaluated only on the final round). All scores use the TRUE
locations. No rows for runs whose scenario sets ``dynamics.record_rounds: false``.

Columns of ``analyses.parquet``: ``analysis`` (id), ``type``, ``mechanism``, ``n``, ``objective``,
``method``, ``ratio`` (float64), ``expected`` (float64 or null), ``worst_profile``
(list<float64>), ``profiles_checked`` (int: the number of profiles spec §8.1 says the search
examines), ``error`` (str, null unless the analysis raised; then ratio etc. are null).

Keys of ``manifest.json``: ``name``, ``kind``, ``scenario_hash`` (sha256 of the canonical
scenario JSON), ``seed`` (root seed), ``status`` (``"complete"`` or ``"interrupted"``),
``workers``, ``executor`` (``sequential``, ``local`` or ``dask``), ``started_utc``, ``finished_utc`` (ISO 8601), ``wall_time_s``, ``design_points``,
``runs`` (completed (design point, replication) pairs), ``resumed_tasks`` (tasks already in
the ledger when this invocation began), ``retried_tasks`` (failed tasks rerun by
``--retry-failed``), ``failed_tasks`` (tasks recorded as failed), ``rows`` (``{"results", "rounds",
"analyses"}`` row counts), ``failed`` (result rows with an error), ``versions`` (fairsim, python,
numpy, numba, mesa, pyarrow, pandas, scipy), ``claims`` (the scenario's claims as JSON objects)
and ``scenario_text``.

No column holds wall-clock times, so the same scenario and seed give identical rows whatever the
executor; timings live in the manifest.
"""

from __future__ import annotations

RESULTS_FILE = "results.parquet"
ROUNDS_FILE = "rounds.parquet"
ANALYSES_FILE = "analyses.parquet"
MANIFEST_FILE = "manifest.json"
SCENARIO_FILE = "scenario.yaml"
CHUNKS_DIR = "chunks"
LEDGER_FILE = "ledger.sqlite"

METRIC_PREFIX = "metric."
AXIOM_PREFIX = "axiom."
SLACK_PREFIX = "slack."
WITNESS_PREFIX = "witness."
PARAM_PREFIX = "param."

KEY_COLUMNS = ("run_id", "design_point", "replication", "mechanism")
