"""The CI performance check's comparison rule (the measurements themselves run in `.ci/run`, not here), and
the order in which `median_rates` times its methods."""

from benchmarks.common import Figure, goal_of, median_rates, summary_table
from benchmarks.regression import comparable, compare


def _fig(name, value, target, unit="x", **kw):
    return Figure("1. s", name, value, unit, target, None, **kw)


def test_goal_parsing():
    assert goal_of(">= 0.9") == (">=", 0.9)
    assert goal_of("<= 1.5 (flat)") == ("<=", 1.5)
    assert goal_of("every row") is None


def test_higher_is_better_ratio_fails_only_below_half_its_reference():
    ref = {"r": 0.9}
    assert compare([_fig("r", 0.46, ">= 0.9")], ref) == []
    assert "r: 0.44" in compare([_fig("r", 0.44, ">= 0.9")], ref)[0]


def test_lower_is_better_ratio_fails_only_above_twice_its_reference():
    ref = {"b": 2.0}
    assert compare([_fig("b", 3.9, "<= 3", basis="s", baseline=1.0)], ref) == []
    assert compare([_fig("b", 4.1, "<= 3", basis="s", baseline=1.0)], ref)


def test_times_and_untimeable_ratios_are_not_compared():
    assert not comparable(_fig("t", 10.0, "< 2", unit="s"))
    assert not comparable(_fig("c", 50.0, "<= 3", basis="s", baseline=0.05))
    assert compare([_fig("c", 50.0, "<= 3", basis="s", baseline=0.05)], {"c": 4.0}) == []
    assert compare([_fig("new", 0.01, ">= 0.9")], {}) == []  # not in the reference: reported, not failed


def test_summary_table_lists_goals_with_both_measurements():
    figs = [Figure("1. clip loading", "ratio a / b", 0.5, "x", ">= 0.9", False, dinos=5.0, baseline=10.0,
                   basis="clips/s"), Figure("1. clip loading", "no goal", 3.0, "x")]
    table = summary_table(figs)
    assert "clip loading: ratio a / b" in table and "5.00 clips/s" in table and "10.0 clips/s" in table
    assert "NO" in table and "no goal" not in table


def test_median_rates_varies_the_order_of_methods_between_rounds_the_same_way_every_run():
    """A method's speed depends on the method run just before it (CPU caches), so each round after the
    first runs the methods in its own order; the orders are seeded, so two runs time the same sequence."""

    def sequence() -> list[str]:
        ran: list[str] = []
        methods = {name: (lambda name=name: ran.append(name) or 1) for name in "abcdefgh"}
        rates = median_rates(methods, 7)
        assert set(rates) == set(methods) and all(v > 0 for v in rates.values())
        return ran

    ran = sequence()
    rounds = [ran[i : i + 8] for i in range(0, len(ran), 8)]
    assert len(rounds) == 7 and all(sorted(r) == list("abcdefgh") for r in rounds)  # every method once a round
    assert rounds[0] == list("abcdefgh")
    before = {(r[i - 1], r[i]) for r in rounds for i in range(1, 8) if r[i] == "e"}
    assert len({p for p, _ in before}) >= 3  # "e" follows different methods across the rounds
    assert sequence() == ran
