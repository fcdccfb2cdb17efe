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


# ------------------------------------------------------------------------------------------
# other domains: small hand-made results directories (values chosen so the report's numbers
# can be worked out by hand in the tests)
# ------------------------------------------------------------------------------------------


def _common(run_id: str, mech: str, order: int, kind: str, n: int = 3) -> dict[str, Any]:
    dp, rep = (int(x) for x in run_id.split("-"))
    return {
        "run_id": run_id,
        "design_point": dp,
        "replication": rep,
        "mechanism": mech,
        "mechanism_name": mech,
        "mechanism_order": order,
        "randomized": False,
        "domain": kind,
        "n": n,
        "seed": f"1/{dp}/{rep}",
        "error": None,
    }


def write_domain_dir(
    root: Path,
    kind: str,
    rows: list[dict[str, Any]],
    round_rows: list[dict[str, Any]] | None = None,
    *,
    manifest_kind: str = "top",
) -> Path:
    """Write results/rounds/manifest for ``rows``; ``manifest_kind`` says where the kind is
    recorded: ``"top"`` (``manifest["kind"]``, as the runner writes it), ``"scenario"``
    (``manifest["scenario"]["kind"]``), ``"yaml"`` (only scenario.yaml) or ``"column"`` (only
    the ``domain`` column)."""
    root.mkdir(parents=True, exist_ok=True)
    res = pd.DataFrame(rows)
    for c in res.columns:
        if c.startswith("axiom."):
            res[c] = res[c].astype("boolean")
        elif c.startswith("metric."):
            res[c] = res[c].astype("float64")
    res.to_parquet(root / S.RESULTS_FILE, index=False)
    if round_rows:
        pd.DataFrame(round_rows).to_parquet(root / S.ROUNDS_FILE, index=False)
    manifest: dict[str, Any] = {"name": f"{kind} fixture", "seed": 1}
    if manifest_kind == "top":
        manifest["kind"] = kind
    elif manifest_kind == "scenario":
        manifest["scenario"] = {"kind": kind, "name": f"{kind} fixture"}
    (root / S.MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    if manifest_kind == "yaml":
        (root / S.SCENARIO_FILE).write_text(f"kind: {kind}\nname: x\n", encoding="utf-8")
    return root


PB_XSS_FILE = "pabulib:<b>warsaw</b>"


def pb_results(root: Path, **kw: Any) -> Path:
    """Participatory budgeting: instance ``impartial_culture`` (2 replications) and one pabulib
    file (1 replication), rules ``greedy`` and ``mes``, budget 10 then 5.

    greedy on impartial_culture: cost 10, 8; selected [p1, p2], [p1]; welfare_cost 3, 5;
    welfare_cardinality 1, 2; EJR fails on the second run (voters [0, 1]).
    mes on impartial_culture: cost 6, 6; selected [p3] twice; welfare 2 / 1; all axioms hold.
    greedy on the pabulib file: cost 4 of 5, selected [a, b, c]; welfare 7 / 3.
    mes on the pabulib file: cost 5 of 5, selected [a]; welfare 6 / 2; EJR fails (voters [2]).
    """
    spec = [
        # run_id, distribution, mech, budget, cost, selected, w_cost, w_card, ejr
        ("0-0", "impartial_culture", "greedy", 10.0, 10.0, ["p1", "p2"], 3.0, 1.0, True),
        ("0-0", "impartial_culture", "mes", 10.0, 6.0, ["p3"], 2.0, 1.0, True),
        ("0-1", "impartial_culture", "greedy", 10.0, 8.0, ["p1"], 5.0, 2.0, False),
        ("0-1", "impartial_culture", "mes", 10.0, 6.0, ["p3"], 2.0, 1.0, True),
        ("1-0", PB_XSS_FILE, "greedy", 5.0, 4.0, ["a", "b", "c"], 7.0, 3.0, True),
        ("1-0", PB_XSS_FILE, "mes", 5.0, 5.0, ["a"], 6.0, 2.0, False),
    ]
    rows = []
    for run_id, dist, mech, budget, cost, sel, wc, wk, ejr in spec:
        row = _common(run_id, mech, 0 if mech == "greedy" else 1, "participatory_budgeting")
        witness = json.dumps({"voters": [0, 1] if dist != PB_XSS_FILE else [2]})
        row.update(
            {
                "distribution": dist,
                "behaviour": "truthful",
                "param.utility": '"cost"',
                "m": 4,
                "budget": budget,
                "selected": sel,
                "cost": cost,
                "years": 1,
                "metric.welfare_cost": wc,
                "metric.welfare_cardinality": wk,
                "metric.spend_share": cost / budget,
                "metric.num_projects": float(len(sel)),
                "axiom.jr": True,
                "axiom.ejr": ejr,
                "witness.jr": None,
                "witness.ejr": None if ejr else witness,
            }
        )
        rows.append(row)
    return write_domain_dir(root, "participatory_budgeting", rows, **kw)


def division_results(root: Path, **kw: Any) -> Path:
    """Fair division: algorithms ``round_robin`` and ``mnw``, 4 runs each.

    mms_ratio: round_robin 0.5, 0.75, 1, 1; mnw 1, 1, 1, 1 (mms fails where the ratio is < 1).
    nash_welfare: round_robin 1, 3, 1, 3; mnw 2, 2, 2, 4. utilitarian_welfare: 5 everywhere.
    """
    rows = []
    rr_mms, rr_nw = [0.5, 0.75, 1.0, 1.0], [1.0, 3.0, 1.0, 3.0]
    mnw_nw = [2.0, 2.0, 2.0, 4.0]
    for rep in range(4):
        for order, mech in enumerate(("round_robin", "mnw")):
            mms = rr_mms[rep] if mech == "round_robin" else 1.0
            nw = rr_nw[rep] if mech == "round_robin" else mnw_nw[rep]
            row = _common(f"0-{rep}", mech, order, "fair_division")
            row.update(
                {
                    "metric.mms_ratio": mms,
                    "metric.nash_welfare": nw,
                    "metric.utilitarian_welfare": 5.0,
                    "metric.envy_count": 0.0,
                    "axiom.ef1": True,
                    "axiom.mms": mms >= 1.0,
                    "witness.ef1": None,
                    "witness.mms": None if mms >= 1.0 else json.dumps({"agent": rep}),
                }
            )
            rows.append(row)
    return write_domain_dir(root, "fair_division", rows, **kw)


def data_sharing_results(root: Path, **kw: Any) -> Path:
    """Data sharing: reward rules ``shapley`` and ``loo``; 3 runs each plus a 4th ``loo`` run
    that raised. Round r of replication k has accuracy 0.5 + 0.1 r + 0.01 k for shapley and
    0.4 + 0.1 r for loo (the failed run's rounds have accuracy 99 and must be ignored).
    Final accuracy (results): shapley 0.7 + 0.01 k, loo 0.6."""
    rows, rounds = [], []
    for rep in range(4):
        for order, mech in enumerate(("shapley", "loo")):
            if rep == 3 and mech == "shapley":
                continue
            failed = rep == 3
            row = _common(f"0-{rep}", mech, order, "data_sharing")
            acc = 0.7 + 0.01 * rep if mech == "shapley" else 0.6
            row.update(
                {
                    "metric.accuracy": None if failed else acc,
                    "metric.reward_fairness": None if failed else 1.0 - 0.1 * order,
                    "metric.ir_violations": None if failed else float(order),
                    "error": "RuntimeError: diverged" if failed else None,
                }
            )
            rows.append(row)
            for r in range(3):
                a = (0.5 + 0.1 * r + 0.01 * rep) if mech == "shapley" else 0.4 + 0.1 * r
                rounds.append(
                    {
                        "run_id": f"0-{rep}",
                        "design_point": 0,
                        "replication": rep,
                        "mechanism": mech,
                        "round": r,
                        "outcome": a,
                        "metric.accuracy": 99.0 if failed else a,
                    }
                )
    return write_domain_dir(root, "data_sharing", rows, rounds, **kw)
