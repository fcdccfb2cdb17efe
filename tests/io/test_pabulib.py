"""Tests of the Pabulib reader/writer (spec budgeting.md §1, §3)."""

from __future__ import annotations

import glob
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from fairsim.errors import FormatError
from fairsim.io.pabulib import Election, PabulibWarning, read, write

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"
SHARED = "/work/shared/data/pabulib"

META = """META
key;value
description;test
country;X
unit;U
instance;2024
num_projects;{np}
num_votes;{nv}
budget;{budget}
vote_type;{vt}
rule;greedy
date_begin;2024
date_end;2024
"""


def pb(
    tmp_path: Path,
    body: str,
    *,
    np_: int = 3,
    nv: int = 2,
    budget: str = "10",
    vt: str = "approval",
) -> Path:
    p = tmp_path / "x.pb"
    p.write_text(META.format(np=np_, nv=nv, budget=budget, vt=vt) + body, encoding="utf-8")
    return p


PROJ = "PROJECTS\nproject_id;cost;name\n1;4;a\n2;5,5;b\n10;3;c\n"


def same(a: Election, b: Election) -> None:
    assert a.project_ids == b.project_ids
    assert np.array_equal(a.costs, b.costs) and a.budget == b.budget
    for x, y in ((a.approvals, b.approvals), (a.scores, b.scores), (a.ranks, b.ranks)):
        assert (x is None) == (y is None)
        if x is not None:
            assert x.shape == y.shape and (x != y).nnz == 0
    assert np.array_equal(a.multiplicities, b.multiplicities)
    assert a.vote_type == b.vote_type


def test_approval_basic_and_decimal_comma(tmp_path: Path) -> None:
    p = pb(tmp_path, PROJ + "VOTES\nvoter_id;vote;age\nv1;1,10;30\nv2;;None\n", budget="12,5")
    e = read(p)
    assert e.project_ids == ["1", "2", "10"]
    assert e.costs.tolist() == [4.0, 5.5, 3.0]
    assert e.budget == 12.5
    assert e.approvals.toarray().tolist() == [[True, False, True], [False, False, False]]
    assert e.voter_ids == ["v1", "v2"] and e.n_voters == 2
    assert e.voter_meta["age"] == ["30", "None"]
    assert e.project_meta["name"] == ["a", "b", "c"]
    assert list(e.meta)[:3] == ["description", "country", "unit"]


def test_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    text = (
        META.format(np=3, nv=1, budget="10", vt="approval")
        + "\n"
        + PROJ
        + "VOTES\nvoter_id;vote\n1;2\n"
    )
    p = tmp_path / "y.pb"
    p.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    e = read(p)
    assert e.approvals.toarray().tolist() == [[False, True, False]]
    assert e.meta["description"] == "test"


@pytest.mark.parametrize(
    ("body", "line", "kw"),
    [
        (PROJ + "VOTES\nvoter_id;vote\nv1;1,99\n", 21, {}),  # unknown project
        (PROJ.replace("5,5", "1,000,0") + "VOTES\nvoter_id;vote\nv1;1\n", 17, {}),
        (PROJ.replace("10;3;c", "10;-3;c") + "VOTES\nvoter_id;vote\nv1;1\n", 18, {}),
        (PROJ.replace("10;3;c", "1;3;c") + "VOTES\nvoter_id;vote\nv1;1\n", 18, {}),  # dup id
        (PROJ + "VOTES\nvoter_id;vote\nv1;1;extra\n", 21, {}),  # row longer than header
        (PROJ + "VOTES\nvoter_id;vote;points\nv1;1,2;3\n", 21, {"vt": "cumulative"}),
        (PROJ + "VOTES\nvoter;vote\nv1;1\n", 20, {}),  # bad header
        ("PROJECTS\nproject_id;name\n1;a\n", 15, {}),  # no cost column
        (PROJ + "VOTES\nvoter_id;vote\nv1;1\n", 10, {"vt": "plurality"}),
        (PROJ + "VOTES\nvoter_id;vote\nv1;1\n", 9, {"budget": "abc"}),
    ],
)
def test_format_errors_carry_line(tmp_path: Path, body: str, line: int, kw: dict) -> None:
    p = pb(tmp_path, body, **kw)
    with pytest.raises(FormatError) as info:
        read(p)
    assert info.value.line == line
    assert f":{line}:" in str(info.value)


def test_missing_section(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="VOTES"):
        read(pb(tmp_path, PROJ))
    p = tmp_path / "z.pb"
    p.write_text(PROJ + "META\nkey;value\n", encoding="utf-8")
    with pytest.raises(FormatError) as info:
        read(p)
    assert info.value.line == 1


def test_warnings_and_strict(tmp_path: Path) -> None:
    body = PROJ + "VOTES\nvoter_id;vote\nv1;1\nv1;2\nv3;10\n"
    p = pb(tmp_path, body, nv=2)  # num_votes mismatch + duplicate voter id
    with pytest.warns(PabulibWarning):
        e = read(p)
    assert e.n_voters == 3
    with pytest.raises(FormatError) as info:
        read(p, strict=True)
    assert info.value.line is None or info.value.line == 22
    p2 = pb(tmp_path, PROJ + "VOTES\nvoter_id;vote\nv1;1\nv2;2,10\n")
    text = p2.read_text().replace("date_end;2024\n", "date_end;2024\nmax_length;1\n")
    p2.write_text(text)
    with pytest.raises(FormatError) as info:
        read(p2, strict=True)
    assert info.value.line == 23


def test_cumulative_scoring_ordinal_positive(tmp_path: Path) -> None:
    body = PROJ + "VOTES\nvoter_id;vote;points\nv1;10,1;3,0\nv2;2;5\n"
    e = read(pb(tmp_path, body, vt="cumulative"))
    assert e.approvals.toarray().tolist() == [[True, False, True], [False, True, False]]
    assert e.scores.toarray().tolist() == [[0.0, 0.0, 3.0], [0.0, 5.0, 0.0]]
    pos = read(pb(tmp_path, body, vt="cumulative"), approval="positive")
    assert pos.approvals.toarray().tolist() == [[False, False, True], [False, True, False]]
    o = read(pb(tmp_path, PROJ + "VOTES\nvoter_id;vote\nv1;10,2,1\nv2;1\n", vt="ordinal"))
    assert o.ranks.toarray().tolist() == [[3, 2, 1], [1, 0, 0]]
    assert o.approvals.toarray().all(axis=1).tolist() == [True, False]


def test_round_trip_with_multiplicities(tmp_path: Path) -> None:
    e = Election.from_sets(
        [{"1", "10"}, {"2"}, {"10", "1"}],
        {"1": 4, "2": 5.5, "10": 3},
        12.5,
        multiplicities=[2, 1, 3],
    )
    p = tmp_path / "rt.pb"
    write(e, p)
    text = p.read_text()
    assert "num_votes;6" in text and "budget;12.5" in text
    back = read(p)
    assert back.n_voters == 6
    same(back.compress(), e.compress())
    assert back.compress().multiplicities.tolist() == [5, 1]


@pytest.mark.parametrize("name", sorted(os.listdir(DATA)))
def test_vendored_files_round_trip(tmp_path: Path, name: str) -> None:
    e = read(DATA / name)
    p = tmp_path / "out.pb"
    write(e, p)
    back = read(p)
    same(back.compress(), e.compress())
    assert list(back.meta) == list(e.meta)
    assert list(back.project_meta) == list(e.project_meta)
    assert back.voter_meta == e.voter_meta


def test_compress_merges_identical_rows() -> None:
    e = Election.from_sets([{"a"}, {"a", "b"}, {"a"}, set()], [1, 2], 3, project_ids=["a", "b"])
    c = e.compress()
    assert c.multiplicities.tolist() == [2, 1, 1]
    assert c.approvals.toarray().tolist() == [[True, False], [True, True], [False, False]]
    assert c.n_voters == e.n_voters == 4


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(SHARED), reason="shared Pabulib folder absent")
def test_every_shared_file_loads() -> None:
    files = sorted(glob.glob(os.path.join(SHARED, "*.pb")))
    assert len(files) > 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PabulibWarning)
        for f in files:
            e = read(f)
            assert e.m > 0 and e.n_voters > 0 and e.budget > 0
            assert e.approvals.shape == (e.n_voters, e.m)
