"""`dinos validate mimii_due`: counts of a tree against Table 1; the paper's known misprint is not the
user's fault (issue: gearbox section 00 prints 165/105 and 108/108, the published files hold 195/105, 96/108)."""

from __future__ import annotations

from dinos import cli
from dinos.conformance import check_mimii_due
from dinos.loaders import dcase_task2 as dc
from dinos.loaders import mimii_due as M


def _tree(root, counts: dict[tuple[str, str], int], section: int = 0):
    """Empty files named as the real gearbox test clips (the count check reads no audio)."""
    folder = root / "dev_data" / "raw" / "gearbox"
    n = 0
    for (domain, label), k in counts.items():
        (folder / f"{domain}_test").mkdir(parents=True, exist_ok=True)
        for _ in range(k):
            name = dc.format_dcase_name(2021, section=section, number=n, domain=domain, split="test", label=label)
            (folder / f"{domain}_test" / name).write_bytes(b"")
            n += 1
    return root


def test_real_gearbox_00_counts_are_a_known_discrepancy_not_an_error(tmp_path, capsys):
    real = {("source", "normal"): 195, ("source", "anomaly"): 105, ("target", "normal"): 96, ("target", "anomaly"): 108}
    checks = {(c.section, c.field): c for c in check_mimii_due(_tree(tmp_path / "real", real))}
    assert checks[(0, "test_source")].status == M.KNOWN_STATUS and checks[(0, "test_source")].found == "195/105"
    assert checks[(0, "test_target")].status == M.KNOWN_STATUS
    assert cli.main(["validate", "mimii_due", "--data-dir", str(tmp_path / "real"), "--strict"]) == 0
    assert "2 match a known discrepancy of the source" in capsys.readouterr().out


def test_paper_counts_pass_and_other_counts_differ(tmp_path, capsys):
    paper = {("source", "normal"): 165, ("source", "anomaly"): 105, ("target", "normal"): 108, ("target", "anomaly"): 108}
    assert {c.status for c in check_mimii_due(_tree(tmp_path / "paper", paper))} == {"ok"}
    odd = {("source", "normal"): 10, ("source", "anomaly"): 105, ("target", "normal"): 108, ("target", "anomaly"): 108}
    checks = check_mimii_due(_tree(tmp_path / "odd", odd))
    assert [c.status for c in checks if c.field == "test_source"] == ["differs"]
    assert cli.main(["validate", "mimii_due", "--data-dir", str(tmp_path / "odd"), "--strict"]) == 1
    assert cli.main(["validate", "mimii_due", "--data-dir", str(tmp_path / "odd")]) == 0


def test_card_lists_the_known_issues():
    from dinos import cards

    text = cards.render_card("mimii_due")
    for line in M.known_issues():
        assert line in text
