"""Synthetic results directories (builder shared by the report tests) following fairsim.sim.schema exactly (no runner needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fairsim.sim import schema as S

MECHS = ("uniform_phantom", "median")
AXIOMS = ("ufs", "strategyproofness")
METRICS = ("social_welfare", "sw_ratio")


def build_results(
    root: Path,
    *,
    mechanisms: tuple[str, ...] = MECHS,
    n_values: tuple[int, ...] = (3, 5),
    reps: int = 4,
    seed: int = 7,
    claims: list[dict[str, Any]] | None = None,
    error_runs: dict[str, list[str]] | None = None,
    ufs_fail: dict[str, set[str]] | None = None,
    rounds: bool = True,
    analyses: bool = True,
    inf_runs: dict[str, list[str]] | None = None,
) -> Path:
    """Write results.parquet, rounds.parquet, analyses.parquet, manifest.json, scenario.yaml.

    Values are drawn from a seeded generator; ``ufs_fail[mech]`` lists the run ids whose ufs
    axiom fails (with a witness), ``error_runs[mech]`` the runs that raised, ``inf_runs[mech]``
    the runs whose sw_ratio is +inf.
    """
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    error_runs = error_runs or {}
    ufs_fail = ufs_fail if ufs_fail is not None else {"median": {"0-1", "1-2"}}
    inf_runs = inf_runs or {}
    rows, round_rows = [], []
    for dp, n in enumerate(n_values):
        for rep in range(reps):
            locs = rng.random(n).round(3).tolist()
            for order, mech in enumerate(mechanisms):
                run_id = f"{dp}-{rep}"
                err = "ValueError: boom <b>" if run_id in error_runs.get(mech, []) else None
                sw = float(rng.uniform(0.5, 2.0))
                ratio = (
                    float("inf")
                    if run_id in inf_runs.get(mech, [])
                    else float(1.0 + rng.uniform(0.0, 0.3))
                )
                ufs_ok = run_id not in ufs_fail.get(mech, set())
                n_rounds = 1 + (dp + rep) % 3
                outcome = float(np.median(locs))
                row = {
                    "run_id": run_id,
                    "design_point": dp,
                    "replication": rep,
                    "mechanism": mech,
                    "mechanism_name": mech.split("(")[0],
                    "mechanism_order": order,
                    "randomized": False,
                    "domain": "facility_location",
                    "n": n,
                    "distribution": "uniform",
                    "behaviour": "truthful",
                    "seed": f"{seed}/{dp}/{rep}",
                    "param.agents.n": n,
                    "locations": locs,
                    "reports": locs,
                    "outcome": outcome,
                    "truthful_outcome": outcome,
                    "rounds": n_rounds,
                    "converged": not (mech == mechanisms[-1] and rep == reps - 1),
                    "metric.social_welfare": sw,
                    "metric.sw_ratio": ratio,
                    "axiom.ufs": ufs_ok,
                    "slack.ufs": 0.1 if ufs_ok else -0.05,
                    "witness.ufs": None
                    if ufs_ok
                    else json.dumps({"group": [0, 1], "bound": [0.0, 0.5], "run": run_id}),
                    "axiom.strategyproofness": True,
                    "slack.strategyproofness": 0.0,
                    "witness.strategyproofness": None,
                    "error": err,
                }
                if err:
                    for k in list(row):
                        if k.startswith(("metric.", "axiom.", "slack.", "witness.")):
                            row[k] = None
                rows.append(row)
                for r in range(n_rounds):
                    # distance to the final outcome halves each round and is 0 on the last one
                    d = 0.0 if r == n_rounds - 1 else 0.4 / 2**r
                    round_rows.append(
                        {
                            "run_id": run_id,
                            "design_point": dp,
                            "replication": rep,
                            "mechanism": mech,
                            "round": r,
                            "outcome": outcome + d,
                            "reports": locs,
                            "max_change": d,
                            "metric.social_welfare": sw,
                            "axiom.ufs": ufs_ok,
                        }
                    )
    res = pd.DataFrame(rows)
    for c in ("metric.social_welfare", "metric.sw_ratio"):
        res[c] = res[c].astype("float64")
    for c in ("axiom.ufs", "axiom.strategyproofness"):
        res[c] = res[c].astype("boolean")
    res.to_parquet(root / S.RESULTS_FILE, index=False)
    rd = pd.DataFrame(round_rows) if rounds else pd.DataFrame(round_rows[:0])
    if rounds:
        rd.to_parquet(root / S.ROUNDS_FILE, index=False)
    else:  # an empty file with the schema's columns
        schema = pa.schema(
            [
                ("run_id", pa.string()),
                ("design_point", pa.int64()),
                ("replication", pa.int64()),
                ("mechanism", pa.string()),
                ("round", pa.int64()),
                ("outcome", pa.float64()),
                ("reports", pa.list_(pa.float64())),
                ("max_change", pa.float64()),
            ]
        )
        pq.write_table(schema.empty_table(), root / S.ROUNDS_FILE)
    if analyses:
        an = pd.DataFrame(
            [
                {
                    "analysis": "sw_up",
                    "type": "approximation_ratio",
                    "mechanism": mechanisms[0],
                    "n": n,
                    "objective": "sw",
                    "method": "exhaustive",
                    "ratio": (n * n - n) / (n * n - 2 * n + 2),
                    "expected": (n * n - n) / (n * n - 2 * n + 2),
                    "worst_profile": [0.0] * (n - 1) + [1.0],
                    "profiles_checked": 100 * n,
                }
                for n in n_values
            ]
            + [
                {
                    "analysis": "sw_bad",
                    "type": "approximation_ratio",
                    "mechanism": mechanisms[-1],
                    "n": 3,
                    "objective": "sw",
                    "method": "exhaustive",
                    "ratio": 1.5,
                    "expected": 1.25,
                    "worst_profile": [0.0, 0.0, 1.0],
                    "profiles_checked": 10,
                }
            ]
        )
        an.to_parquet(root / S.ANALYSES_FILE, index=False)
    else:
        pq.write_table(pa.schema([("analysis", pa.string())]).empty_table(), root / S.ANALYSES_FILE)
    manifest = {
        "scenario": {
            "name": "synthetic <i>test</i>",
            "kind": "facility_location",
            "hash": "abc123",
            "description": "a synthetic scenario & its results",
        },
        "seed": seed,
        "versions": {"fairsim": "0.1.0", "numpy": np.__version__},
        "row_counts": {"results": len(res), "rounds": len(rd)},
        "started": "2025-01-01T00:00:00Z",
        "finished": "2025-01-01T00:01:00Z",
        "workers": 1,
        "claims": claims or [],
    }
    (root / S.MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    (root / S.SCENARIO_FILE).write_text(
        "kind: facility_location\nname: synthetic\nagents: {n: 3}\nmechanisms: [median]\n",
        encoding="utf-8",
    )
    return root


XSS = "<script>alert(1)</script>"


def standard_results(root: Path) -> Path:
    return build_results(
        root,
        error_runs={"median": ["1-3"]},
        inf_runs={"uniform_phantom": ["0-0"]},
        claims=[
            {
                "id": "axioms_ok",
                "text": "UP is UFS and SP; the median violates UFS",
                "type": "axiom_matrix",
                "expect": {
                    "uniform_phantom": {"ufs": "always", "strategyproofness": "always"},
                    "median": {"ufs": "violated"},
                },
            },
            {
                "id": "axioms_wrong",
                "text": "the median is UFS",
                "type": "axiom_matrix",
                "expect": {"median": {"ufs": "always"}},
            },
            {"id": "ratio_ok", "text": "IFS price", "type": "ratio_formula", "analysis": "sw_up"},
            {"id": "ratio_bad", "text": "wrong", "type": "ratio_formula", "analysis": "sw_bad"},
            {
                "id": "sw_bound",
                "text": "welfare within [0.5, 2]",
                "type": "metric_bound",
                "mechanism": "uniform_phantom",
                "metric": "social_welfare",
                "min": 0.5,
                "max": 2.0,
            },
            {
                "id": "conv",
                "text": "median dynamics converge",
                "type": "metric_bound",
                "mechanism": "median",
                "metric": "social_welfare",
                "require_converged": True,
            },
            {
                "id": "ghost",
                "text": "unknown mechanism",
                "type": "metric_bound",
                "mechanism": "nosuch",
                "metric": "social_welfare",
            },
        ],
    )
