"""The HTML report: sections, escaping, self-containedness, numbers, errors."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from report_fixtures import build_results, standard_results

from fairsim.errors import FormatError, InputError
from fairsim.reports import build_report
from fairsim.reports.build import ReportPaths

SECTIONS = ("provenance", "claims", "metrics", "axioms", "plots", "ratios", "dynamics")
SECTIONS += ("sweeps", "failures")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = standard_results(tmp_path_factory.mktemp("rep") / "res")
    paths = build_report(root)
    return root, paths, paths.html.read_text(encoding="utf-8")


def test_paths(report):
    root, paths, _ = report
    assert isinstance(paths, ReportPaths)
    assert paths.html == root / "report.html"
    assert paths.summary_csv == root / "summary.csv" and paths.summary_csv.is_file()
    assert paths.claims_csv == root / "claims.csv" and paths.claims_csv.is_file()


def test_every_section_present(report):
    html = report[2]
    for sid in SECTIONS:
        assert f'id="{sid}"' in html, sid
    # claims come before the metrics table
    assert html.index('id="claims"') < html.index('id="metrics"')
    assert html.count("<svg") >= 5  # metrics, heatmap, ratios, dynamics, one sweep


def test_numbers_in_html(report):
    html = report[2]
    assert "(5/7)" in html  # median ufs
    assert "(8/8)" in html
    assert "abc123" in html and "2025-01-01T00:00:00Z" in html  # provenance
    assert "results 16, rounds" in html
    assert "witness (run 0-1)" in html
    assert 'class="status PASS"' in html and 'class="status FAIL"' in html
    assert "boom" in html  # failure message


def test_self_contained(report):
    html = report[2]
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "url(http" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "<?xml" not in html


def test_escaping(xss_report):
    root, paths = xss_report
    html = paths.html.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "&lt;i&gt;test&lt;/i&gt;" in html and "<i>test</i>" not in html  # scenario name
    assert "boom &lt;b&gt;" in html  # error message
    assert "&#34;run&#34;: &#34;0-1&#34;" in html  # witness JSON escaped
    assert "cost$x$" in html  # a $ in a label does not break the plots


def test_deterministic(tmp_path):
    root = standard_results(tmp_path / "r")
    a = build_report(root).html.read_bytes()
    b = build_report(root).html.read_bytes()
    assert a == b


def test_out_and_title(tmp_path, results_dir):
    out = tmp_path / "elsewhere" / "my.html"
    paths = build_report(results_dir, out, title="My <title>")
    assert paths.html == out and paths.summary_csv.parent == out.parent
    html = out.read_text()
    assert "<title>My &lt;title&gt;</title>" in html
    assert not (results_dir / "report.html").exists()
    with pytest.raises(InputError, match="title"):
        build_report(results_dir, out, title=3)  # type: ignore[arg-type]


def test_empty_rounds_and_analyses(tmp_path):
    root = build_results(tmp_path / "r", rounds=False, analyses=False, n_values=(4,))
    html = build_report(root).html.read_text()
    assert "No rounds recorded" in html and "No analyses" in html
    assert 'id="sweeps"' in html and "No swept parameters" in html  # one value only
    assert 'id="claims"' not in html  # no claims -> no claims section


def test_missing_results_parquet(tmp_path):
    root = build_results(tmp_path / "r")
    (root / "results.parquet").unlink()
    with pytest.raises(FormatError, match=r"results\.parquet"):
        build_report(root)
    with pytest.raises(InputError, match="not a directory"):
        build_report(tmp_path / "nowhere")


def test_wrong_schema_names_columns(tmp_path):
    root = build_results(tmp_path / "r")
    df = pd.read_parquet(root / "results.parquet").drop(columns=["mechanism", "n"])
    df.to_parquet(root / "results.parquet")
    with pytest.raises(FormatError, match=r"results\.parquet.*mechanism, n"):
        build_report(root)
    (root / "results.parquet").write_text("not parquet")
    with pytest.raises(FormatError, match="cannot read as Parquet"):
        build_report(root)


def test_bad_rounds_schema(tmp_path):
    root = build_results(tmp_path / "r")
    pd.DataFrame({"run_id": ["0-0"]}).to_parquet(root / "rounds.parquet")
    with pytest.raises(FormatError, match=r"rounds\.parquet.*mechanism, round, outcome"):
        build_report(root)


def test_bad_manifest(tmp_path):
    root = build_results(tmp_path / "r")
    (root / "manifest.json").write_text("{oops")
    with pytest.raises(FormatError, match=r"manifest\.json"):
        build_report(root)


def test_runner_store_format(tmp_path):
    """The runner's own writer (fairsim.sim.store) produces files the report reads."""
    store = pytest.importorskip("fairsim.sim.store")
    src = standard_results(tmp_path / "src")
    rows = pd.read_parquet(src / "results.parquet")
    rows = rows.astype(object).where(rows.notna(), None).to_dict("records")
    schema = store.results_schema(
        [("agents.n", "int")], ["social_welfare", "sw_ratio"], ["ufs", "strategyproofness"]
    )
    out = tmp_path / "out"
    out.mkdir()
    import pyarrow.parquet as pq

    pq.write_table(store.table_from_rows(rows, schema), out / "results.parquet")
    pq.write_table(store.table_from_rows([], store.rounds_schema(["ufs"])), out / "rounds.parquet")
    pq.write_table(store.table_from_rows([], store.analyses_schema()), out / "analyses.parquet")
    paths = build_report(out)
    html = paths.html.read_text()
    assert "(5/7)" in html and "No rounds recorded" in html


def test_sweep_groupings_not_repeated(report):
    html = report[2]
    assert "<h3>param.agents.n</h3>" in html and "table by param.agents.n" in html
    # n varies together with the swept agents.n: named, not tabulated twice
    assert "<h3>n</h3>" in html and "Varies together with param.agents.n" in html
    assert "table by n<" not in html
