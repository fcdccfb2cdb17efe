"""Location distributions (fairsim.agents.locations): moments, ranges, determinism, CSV files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from fairsim import registry
from fairsim.agents.locations import draw_locations
from fairsim.errors import FormatError, InputError
from fairsim.scenarios import schema

DATA = Path(__file__).parents[1] / "data"
N = 20_000


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_uniform_moments_and_range():
    spec = schema.UniformLocations(low=0.2, high=0.6)
    x = draw_locations(spec, N, rng(1))
    assert x.shape == (N,) and x.dtype == np.float64
    assert x.min() >= 0.2 and x.max() <= 0.6
    assert abs(x.mean() - 0.4) < 0.005  # sd of the mean ~ 0.0008
    assert abs(x.var() - 0.4**2 / 12) < 0.001
    # the documented stream: rng.uniform(low, high, n)
    assert np.array_equal(draw_locations(spec, 7, rng(3)), rng(3).uniform(0.2, 0.6, 7))


def test_beta_moments():
    a, b = 2.0, 5.0
    x = draw_locations(schema.BetaLocations(distribution="beta", a=a, b=b), N, rng(2))
    mean = Fraction(2, 7)
    var = Fraction(2 * 5, 7**2 * 8)  # ab / ((a+b)^2 (a+b+1))
    assert abs(x.mean() - float(mean)) < 0.005
    assert abs(x.var() - float(var)) < 0.002
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_clustered_weights_and_clipping():
    spec = schema.ClusteredLocations(
        distribution="clustered", centers=[0.2, 0.8], spread=0.01, weights=[3, 1]
    )
    x = draw_locations(spec, N, rng(4))
    near_left = np.abs(x - 0.2) < 0.06
    near_right = np.abs(x - 0.8) < 0.06
    assert np.all(near_left | near_right)
    assert abs(near_left.mean() - 0.75) < 0.02
    wide = schema.ClusteredLocations(distribution="clustered", centers=[0.0], spread=0.5)
    y = draw_locations(wide, N, rng(5))
    assert y.min() == 0.0 and y.max() <= 1.0
    assert abs((y == 0.0).mean() - 0.5) < 0.02  # half the mass of N(0, 0.5) is clipped to 0
    exact = schema.ClusteredLocations(distribution="clustered", centers=[0.1, 0.7], spread=0.0)
    assert set(draw_locations(exact, 200, rng(6)).tolist()) == {0.1, 0.7}


def test_bimodal_share_and_mean():
    spec = schema.BimodalLocations(
        distribution="bimodal", left=0.2, right=0.8, spread=0.02, p_left=0.3
    )
    x = draw_locations(spec, N, rng(7))
    assert abs((x < 0.5).mean() - 0.3) < 0.02
    assert abs(x.mean() - (0.3 * 0.2 + 0.7 * 0.8)) < 0.01
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_endpoints():
    spec = schema.EndpointLocations(distribution="endpoints", p=0.25)
    x = draw_locations(spec, N, rng(8))
    assert set(np.unique(x).tolist()) <= {0.0, 1.0}
    assert abs(x.mean() - 0.25) < 0.02
    assert np.array_equal(draw_locations(spec, 9, rng(9)), (rng(9).random(9) < 0.25) * 1.0)
    all_one = schema.EndpointLocations(distribution="endpoints", p=1.0)
    assert draw_locations(all_one, 5, rng(0)).tolist() == [1.0] * 5


@pytest.mark.parametrize("k", [1, 3, 10])
def test_round_to_grid(k):
    spec = schema.BetaLocations(distribution="beta", a=0.7, b=0.7, round_to=k)
    x = draw_locations(spec, 2_000, rng(10))
    allowed = {j / k for j in range(k + 1)}
    assert set(np.unique(x).tolist()) <= allowed
    raw = draw_locations(spec.model_copy(update={"round_to": None}), 2_000, rng(10))
    assert np.all(np.abs(x - raw) <= 0.5 / k + 1e-12)


def test_deterministic_for_generator_state():
    specs = [
        schema.UniformLocations(),
        schema.BetaLocations(distribution="beta", a=2, b=3),
        schema.ClusteredLocations(distribution="clustered", centers=[0.3, 0.6]),
        schema.BimodalLocations(distribution="bimodal"),
        schema.EndpointLocations(distribution="endpoints"),
    ]
    for spec in specs:
        a = draw_locations(spec, 50, rng(11))
        assert np.array_equal(a, draw_locations(spec, 50, rng(11)))
        g = rng(11)
        g.random()
        assert not np.array_equal(a, draw_locations(spec, 50, g))


def test_dict_spec_and_registry():
    x = draw_locations({"distribution": "beta", "a": 2, "b": 2}, 10, rng(0))
    y = draw_locations(schema.BetaLocations(distribution="beta", a=2, b=2), 10, rng(0))
    assert np.array_equal(x, y)
    assert draw_locations({"low": 0.5, "high": 0.5}, 3, rng(0)).tolist() == [0.5] * 3
    for name in ("uniform", "beta", "clustered", "bimodal", "endpoints", "csv"):
        assert registry.get(name, "distribution", domain="facility").name == f"facility.{name}"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (({"distribution": "beta", "a": -1, "b": 1}, 3, rng(0)), "spec is not a valid"),
        (({"distribution": "nope"}, 3, rng(0)), "spec is not a valid"),
        ((schema.UniformLocations(), 0, rng(0)), "n=0 outside"),
        ((schema.UniformLocations(), 2.5, rng(0)), "n must be an integer"),
        ((schema.UniformLocations(), 3, 42), "numpy.random.Generator"),
    ],
)
def test_bad_arguments(args, match):
    with pytest.raises(InputError, match=match):
        draw_locations(*args)


# ------------------------------------------------------------------ CSV


def csv_spec(path: str, **kw) -> schema.CsvLocations:
    return schema.CsvLocations(distribution="csv", path=path, **kw)


def test_csv_rows_cycle_with_replication():
    spec = csv_spec("locations_profiles.csv")
    rows = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5], [0.0, 1.0, 0.25, 0.75]]
    for r in range(5):
        x = draw_locations(spec, 4, rng(0), base_dir=DATA, replication=r)
        assert x.tolist() == rows[r % 3]
    absolute = csv_spec(str(DATA / "locations_profiles.csv"))
    assert draw_locations(absolute, 4, rng(0), replication=1).tolist() == rows[1]


def test_csv_rounding_applies():
    spec = csv_spec("locations_profiles.csv", round_to=2)
    assert draw_locations(spec, 4, rng(0), base_dir=DATA).tolist() == [0.0, 0.0, 0.5, 0.5]


def test_csv_column_and_sample():
    home = csv_spec("locations_header.csv", column="work")
    assert draw_locations(home, 3, rng(0), base_dir=DATA).tolist() == [0.9, 0.8, 0.7]
    pool = csv_spec("locations_header.csv", column="home", sample=True)
    x = draw_locations(pool, 500, rng(1), base_dir=DATA)
    assert set(x.tolist()) == {0.1, 0.2, 0.3}
    everything = csv_spec("locations_header.csv", sample=True)
    y = draw_locations(everything, 500, rng(1), base_dir=DATA)
    assert set(y.tolist()) == {0.1, 0.2, 0.3, 0.7, 0.8, 0.9}
    assert np.array_equal(y, draw_locations(everything, 500, rng(1), base_dir=DATA))


@pytest.mark.parametrize(
    ("name", "n", "line", "fragment"),
    [
        ("locations_bad_cell.csv", 3, 2, "column 2: 'abc' is not a finite number"),
        ("locations_bad_range.csv", 3, 4, "column 2: location 1.5 outside [0, 1]"),
        ("locations_bad_width.csv", 3, 2, "row has 2 columns, expected 3"),
        ("locations_profiles.csv", 3, 1, "rows hold 4 locations but the scenario has n=3 agents"),
    ],
)
def test_csv_malformed(name, n, line, fragment):
    with pytest.raises(FormatError) as info:
        draw_locations(csv_spec(name), n, rng(0), base_dir=DATA)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path == str(DATA / name) and err.line == line
    assert str(err) == f"{DATA / name}:{line}: {fragment}"


def test_csv_missing_file_and_column(tmp_path):
    with pytest.raises(FormatError, match="location file not found") as info:
        draw_locations(csv_spec("nope.csv"), 3, rng(0), base_dir=tmp_path)
    assert info.value.path == str(tmp_path / "nope.csv")
    with pytest.raises(FormatError, match="no column 'shop'; columns: home, work"):
        draw_locations(csv_spec("locations_header.csv", column="shop"), 3, rng(0), base_dir=DATA)
    with pytest.raises(FormatError, match="has no header row"):
        draw_locations(csv_spec("locations_profiles.csv", column="a"), 4, rng(0), base_dir=DATA)
    (tmp_path / "empty.csv").write_text("a,b\n\n")
    with pytest.raises(FormatError, match="no data rows"):
        draw_locations(csv_spec("empty.csv"), 2, rng(0), base_dir=tmp_path)
    (tmp_path / "nan.csv").write_text("0.1,nan\n")
    with pytest.raises(FormatError, match="'nan' is not a finite number"):
        draw_locations(csv_spec("nan.csv"), 2, rng(0), base_dir=tmp_path)


def test_csv_reread_after_change(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("0.1,0.2\n")
    assert draw_locations(csv_spec("p.csv"), 2, rng(0), base_dir=tmp_path).tolist() == [0.1, 0.2]
    f.write_text("0.3,0.4\n0.5,0.6\n")
    import os

    os.utime(f, ns=(1, 10**18))  # force a new modification time
    assert draw_locations(csv_spec("p.csv"), 2, rng(0), base_dir=tmp_path).tolist() == [0.3, 0.4]
