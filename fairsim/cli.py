"""The ``fairsim`` command: run, report, query, validate, list, demo.

Errors that fairsim raises on purpose (:class:`~fairsim.errors.FairsimError`: a bad scenario, a
malformed file, invalid input) are printed as one or more plain lines on stderr and exit with
status 2 — never a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fairsim import __version__
from fairsim.errors import FairsimError, ScenarioError

DEMO_SCENARIO = Path("facility") / "compare_mechanisms.yaml"


def _scenarios_root() -> Path:
    """Folder of the shipped scenarios (the repository's ``scenarios/``)."""
    return Path(__file__).resolve().parent.parent / "scenarios"


def _console(width: int | None = None):
    from rich.console import Console

    return Console(stderr=False, highlight=False, width=width)


def cmd_run(args: argparse.Namespace) -> int:
    from fairsim.scenarios.loader import load_scenario
    from fairsim.sim.runner import run_scenario

    path = Path(args.scenario)
    scenario = load_scenario(path, seed=args.seed)
    out = Path(args.out) if args.out else Path("fairsim-results") / _slug(scenario.name)
    con = _console()
    con.print(f"fairsim {__version__}: running [bold]{scenario.name}[/] ({path}) -> {out}")
    t0 = time.perf_counter()
    summary = run_scenario(
        scenario,
        out,
        workers=args.workers,
        seed=args.seed,
        progress=not args.no_progress,
        scenario_path=path,
        scenario_text=path.read_text(encoding="utf-8"),
        executor=args.executor,
        address=args.address,
        retry_failed=args.retry_failed,
    )
    dt = time.perf_counter() - t0
    con.print(f"{_describe(summary)} in {dt:.1f} s; results in {out}")
    if args.report:
        _report(out, None, con)
    return 0


def _describe(summary: object) -> str:
    rows = getattr(summary, "rows", None)
    failed = getattr(summary, "failed", None)
    parts = []
    if rows is not None:
        parts.append(f"{rows} result rows")
    if failed:
        parts.append(f"{failed} failed runs (see the report's failures section)")
    return ", ".join(parts) if parts else "done"


def _report(results: Path, out: Path | None, con, baseline: str | None = None) -> None:
    from fairsim.reports.build import build_report

    paths = build_report(results, out, baseline=baseline)
    con.print(f"report: {paths.html}")
    con.print(f"summary: {paths.summary_csv}")


def cmd_report(args: argparse.Namespace) -> int:
    con = _console()
    for d in args.results:
        if not Path(d).is_dir():
            raise FairsimError(f"{d}: not a results directory (run `fairsim run` first)")
    if len(args.results) > 2:
        raise FairsimError(
            "give one results directory (its report) or two (their comparison); "
            f"got {len(args.results)}"
        )
    out = Path(args.out) if args.out else None
    if len(args.results) == 2:
        if args.baseline is not None:
            raise FairsimError("--baseline applies to the report of one results directory")
        from fairsim.reports.compare import build_comparison

        path = build_comparison(Path(args.results[0]), Path(args.results[1]), out)
        con.print(f"comparison: {path}")
        return 0
    _report(Path(args.results[0]), out, con, args.baseline)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from fairsim.sim.query import query

    df = query(Path(args.results), args.sql)
    if args.csv:
        sys.stdout.write(df.to_csv(index=False))
        return 0
    from rich.table import Table

    table = Table(show_lines=False)
    for col in df.columns:
        table.add_column(str(col), overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*("" if v is None else str(v) for v in row))
    _console(width=None if sys.stdout.isatty() else 200).print(table)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from fairsim.scenarios.loader import load_scenario
    from fairsim.scenarios.sweeps import expand

    con = _console()
    status = 0
    for p in args.scenarios:
        try:
            scenario = load_scenario(Path(p))
            points = expand(scenario)
        except FairsimError as exc:
            print(str(exc), file=sys.stderr)
            status = 2
            continue
        runs = sum(dp.scenario.replications for dp in points)
        n_mech = len(scenario.mechanisms)
        con.print(
            f"{p}: ok — {scenario.kind} '{scenario.name}', {len(points)} design point(s), "
            f"{runs} run(s) x {n_mech} mechanism(s), {len(scenario.analyses)} analysis(es), "
            f"{len(scenario.claims)} claim(s)"
        )
    return status


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from fairsim import registry

    table = Table(title="fairsim registry", show_lines=False)
    for col in ("kind", "name", "randomized", "claims", "description"):
        table.add_column(col, overflow="fold", no_wrap=col in ("kind", "name"))
    for e in registry.entries(args.kind, domain=args.domain):
        table.add_row(
            e.kind,
            e.name,
            "yes" if e.randomized else "",
            ", ".join(e.claims),
            e.description,
        )
    # Full names must survive a pipe (rich falls back to 80 columns when not on a terminal).
    _console(width=None if sys.stdout.isatty() else 200).print(table)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fairsim.scenarios.loader import load_scenario
    from fairsim.sim.runner import run_scenario

    path = _scenarios_root() / (Path("facility") / "quick.yaml" if args.quick else DEMO_SCENARIO)
    if not path.is_file():
        raise FairsimError(
            f"shipped scenario {path} not found; run the demo from a source checkout "
            "installed with `pip install -e .`"
        )
    out = Path(args.out)
    con = _console()
    con.print(f"fairsim demo: {path.name} -> {out}/")
    scenario = load_scenario(path)
    t0 = time.perf_counter()
    summary = run_scenario(
        scenario,
        out,
        workers=args.workers,
        progress=not args.no_progress,
        scenario_path=path,
        scenario_text=path.read_text(encoding="utf-8"),
    )
    con.print(f"{_describe(summary)} in {time.perf_counter() - t0:.1f} s")
    _report(out, None, con)
    return 0


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.strip())
    return keep.strip("-") or "results"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fairsim",
        description="Mechanism-design and fairness simulation engine.",
    )
    p.add_argument("--version", action="version", version=f"fairsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a scenario batch and store the results")
    r.add_argument("scenario", help="scenario YAML file")
    r.add_argument("--out", help="results directory (default ./fairsim-results/<name>)")
    r.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="worker processes (default: all cores; 1 = sequential)",
    )
    r.add_argument(
        "--seed", type=_nonneg_int, default=None, help="root seed (overrides the scenario's seed)"
    )
    r.add_argument(
        "--executor",
        choices=["local", "dask", "sequential"],
        default="local",
        help="local process pool (default), dask (LocalCluster or --address), or sequential",
    )
    r.add_argument("--address", help="Dask scheduler to join, tcp://host:port (--executor dask)")
    r.add_argument(
        "--retry-failed",
        action="store_true",
        help="when continuing a results directory, rerun the tasks recorded as failed",
    )
    r.add_argument("--report", action="store_true", help="also write the HTML report")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    r.set_defaults(func=cmd_run)

    rep = sub.add_parser(
        "report",
        help="write the HTML report and summary CSV of results, or compare two result sets",
    )
    rep.add_argument(
        "results",
        nargs="+",
        metavar="DIR",
        help="one results directory written by `fairsim run` (its report), or two A B "
        "(a comparison page)",
    )
    rep.add_argument(
        "--out",
        help="HTML file to write (default DIR/report.html, or A/comparison.html for two)",
    )
    rep.add_argument(
        "--baseline",
        metavar="NAME",
        help="mechanism the paired differences are taken against "
        "(default: the scenario's first mechanism)",
    )
    rep.set_defaults(func=cmd_report)

    q = sub.add_parser("query", help="run SQL (DuckDB) over a results directory")
    q.add_argument("results", help="results directory written by `fairsim run`")
    q.add_argument("sql", help='SQL over the views results, rounds, analyses (quote "a.b" columns)')
    q.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    q.set_defaults(func=cmd_query)

    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("scenarios", nargs="+")
    v.set_defaults(func=cmd_validate)

    li = sub.add_parser("list", help="list registered mechanisms, axioms, metrics, ...")
    li.add_argument(
        "--kind", choices=["mechanism", "axiom", "metric", "behaviour", "distribution", "formula"]
    )
    li.add_argument("--domain", help="e.g. facility, budget_aggregation")
    li.set_defaults(func=cmd_list)

    d = sub.add_parser("demo", help="run the shipped mechanism comparison and its report")
    d.add_argument(
        "--out", default="fairsim-demo", help="output directory (default ./fairsim-demo)"
    )
    d.add_argument("--workers", type=_positive_int, default=None)
    d.add_argument("--quick", action="store_true", help="run the small quick.yaml instead")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=cmd_demo)
    return p


def _int_at_least(minimum: int, what: str):
    def parse(s: str) -> int:
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}; got {s!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}; got {v}")
        return v

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonneg_int = _int_at_least(0, "an integer >= 0")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)  # already "file:line: field.path: message" lines
        return 2
    except FairsimError as exc:
        print(f"fairsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fairsim: interrupted; completed runs were saved", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
