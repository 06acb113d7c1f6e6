"""End to end: pretrain a tiny IMPACT through the CLI, embed, benchmark, and the demo entry point."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]
torch = pytest.importorskip("torch")

from dinos.cli import main  # noqa: E402
from tests.conftest import make_dinos_tree  # noqa: E402

TASKS = ["dinos/T3-T5", "dinos/T6-T17"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from dinos import splits as S

    base = tmp_path_factory.mktemp("bench")
    root = make_dinos_tree(base / "dinos", datasets=("VF2", "Yornew"), per_class=2, pretrain_seconds=2.0)
    cache = str(base / "cache")
    S.make_split_files("dinos", root, base / "splits", variant="synthetic", tasks=TASKS, cache_dir=cache)
    return {"root": root, "cache": cache, "splits": base / "splits", "base": base}


def test_cli_pretrain_embed_benchmark(world, capsys):
    root, cache, base = world["root"], world["cache"], world["base"]
    run = base / "run"
    assert main(["pretrain", "--corpus", "dinos", "--data-dir", str(root), "--out", str(run), "--preset", "tiny",
                 "--max-steps", "2", "--batch-size", "4", "--lr", "1e-3", "--cache-dir", cache, "--quiet"]) == 0
    assert (run / "model.safetensors").is_file() and (run / "checkpoint.pt").is_file()
    assert json.loads((run / "config.json").read_text())["train"]["max_steps"] == 2

    emb = base / "emb"
    assert main(["embed", str(run), "--corpus", "dinos", "--config", "vf2", "--data-dir", str(root),
                 "--out", str(emb), "--cache-dir", cache, "--quiet"]) == 0
    with np.load(emb / "dinos_vf2.npz") as z:
        assert z["X"].shape == (12, 64) and len(set(z["clip_id"])) == 12  # 3 classes x 2 x 2 splits
    with open(emb / "dinos_vf2.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["task_class"] for r in rows} == {"T3", "T4", "T5"}

    out = base / "results"
    code = main(["benchmark", str(run), "--data-dir", str(root), "--out", str(out), "--repeats", "2",
                 "--splits-dir", str(world["splits"]), "--cache-dir", cache, "--quiet",
                 *[a for t in TASKS for a in ("--task", t)]])
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["tasks"]) == set(TASKS)
    yornew = res["tasks"]["dinos/T6-T17"]
    assert yornew["dataset"] == "Yornew" and yornew["metric"] == "mAP" and yornew["repeats"] == 2
    assert set(yornew["models"]) == {"baseline", "impact_init", "impact"}  # the untrained control is always there
    assert set(res["init_comparison"]) == set(TASKS)
    assert yornew["paper"]["IMPACT-DINOS"] == {"mean": 0.8841, "std": 0.0231}  # paper's Table 3 beside ours
    assert yornew["paper_per_class"]["T7"]["CLAP"]["mean"] == 0.6842
    for m in ("baseline", "impact_init", "impact"):
        s = yornew["models"][m]
        assert len(s["repeats"]) == 2 and s["mean"] == pytest.approx(np.mean(s["repeats"]))
        assert s["std"] == pytest.approx(np.std(s["repeats"], ddof=1))
        assert set(s["per_class"]) == {f"T{i}" for i in range(6, 18)}
        assert 0.0 <= s["mean"] <= 1.0
    with open(out / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    # per model: (2 task-level + 2 x n_classes per-class) rows per task
    assert len(rows) == 3 * (2 + 2 * 3 + 2 + 2 * 12)
    t3 = (out / "table3.md").read_text()
    assert "| VF2 (mAP) |" in t3 and "| Yornew (mAP) |" in t3 and "IMPACT (init)" in t3
    assert "pretraining beat init?" in t3 and "| OPERA-GT | paper, real data |" in t3 and t3.count("|---|") == 1
    assert "| IMPACT | ours, synthetic DINOS |" in t3  # one table, each row marked: ours synthetic, the paper real
    assert "0.8516 ± 0.0275" in t3  # OPERA-GT, Yornew, paper Table 3
    out_err = capsys.readouterr().out
    assert "Did pretraining beat the untrained network" in out_err
    t4 = (out / "table4.md").read_text()
    ours = t4.split("## Paper")[0]
    assert [ln.split("|")[1].strip() for ln in ours.splitlines() if ln[:3] == "| T" and ln[3].isdigit()] == [
        f"T{i}" for i in range(3, 18)]
    assert (out / "plots" / "ap_Yornew.png").stat().st_size > 1000
    assert (out / "plots" / "spectra_VF2.png").stat().st_size > 1000
    # the embedding cache is reused: a second run gives identical numbers
    main(["benchmark", str(run), "--data-dir", str(root), "--out", str(base / "results2"), "--repeats", "2",
          "--splits-dir", str(world["splits"]), "--cache-dir", cache, "--quiet", "--no-plots", "--task", TASKS[1]])
    again = json.loads((base / "results2" / "results.json").read_text())
    assert again["tasks"]["dinos/T6-T17"]["models"] == yornew["models"]


def test_run_demo(world):
    from dinos.model.benchmark import run_demo

    # no splits_dir: the demo writes split files for exactly its corpus (as `dinos demo` does)
    s = run_demo(world["root"], world["base"] / "demo", steps=2, batch_size=4, tasks=("dinos/T6-T17",),
                 repeats=2, cache_dir=world["cache"], progress=False)
    assert (world["base"] / "demo" / "splits" / "synthetic" / "dinos" / "T6-T17.json").is_file()
    text = str(s)
    assert "Did pretraining beat the untrained network" in text and "| Yornew (mAP) |" in text
    assert "IMPACT (init)" in text and "collapse metrics" in text
    assert s.pretrain.steps == 2


def test_cli_errors(world, capsys):
    assert main(["pretrain", "--corpus", "hybrid", "--out", str(world["base"] / "x")]) == 1
    assert "at least two --source" in capsys.readouterr().err
    assert main(["benchmark", str(world["base"] / "nope"), "--data-dir", str(world["root"]),
                 "--out", str(world["base"] / "r"), "--task", "dinos/T3-T5"]) == 1
    assert "config.json" in capsys.readouterr().err


def test_dcase_official_scores(tmp_path):
    from dinos.model.benchmark import run_dcase_benchmark
    from dinos.synth import dcase as synth

    data = tmp_path / "dcase"
    synth.write(data, year=2023, seed=0, progress=False)
    rep = run_dcase_benchmark(data, tmp_path / "out", config="2023-all", models=("baseline",),
                              cache_dir=str(tmp_path / "cache"), progress=False, epochs=50)
    summary = rep["models"]["baseline"]["summary"]
    assert 0.0 < summary["official score"] <= 1.0
    assert list((tmp_path / "out" / "submissions" / "baseline").glob("anomaly_score_*_section_00_test.csv"))


def test_benchmark_any_embedder(world, capsys):
    """`--embedder module:function` and `--embedder hear:module` run the DINOS protocol on a user model."""
    import torch

    from dinos.errors import DinosError
    from dinos.model.external import load_embedder

    emb = load_embedder("tests.model.tiny_embedder:embed")
    assert emb.dim == 16 and emb.frontend_config.sample_rate == 16_000
    x = emb(torch.randn(3, 16_000))
    assert x.shape == (3, 16)
    hear = load_embedder("hear:tests.model.tiny_embedder")
    assert torch.allclose(hear(torch.ones(2, 16_000) * 0.1), emb(torch.ones(2, 16_000) * 0.1))
    with pytest.raises(DinosError, match="expected"):
        load_embedder("tests.model.tiny_embedder")
    with pytest.raises(DinosError, match="shape"):
        load_embedder("tests.model.tiny_embedder:broken")(torch.zeros(2, 16_000))
    with pytest.raises(DinosError, match="HEAR"):
        load_embedder("hear:json")
    out = world["base"] / "results-ext"
    assert main(["benchmark", "--data-dir", str(world["root"]), "--out", str(out), "--repeats", "2",
                 "--splits-dir", str(world["splits"]), "--cache-dir", world["cache"], "--quiet", "--no-plots",
                 "--task", "dinos/T3-T5", "--embedder", "tests.model.tiny_embedder:embed",
                 "--embedder", "hear:tests.model.tiny_embedder"]) == 0
    res = json.loads((out / "results.json").read_text())
    models = res["tasks"]["dinos/T3-T5"]["models"]
    assert set(models) == {"baseline", "embed", "hear_tests.model.tiny_embedder"}
    assert models["embed"]["repeats"] == models["hear_tests.model.tiny_embedder"]["repeats"]  # same function
    assert 0.0 <= models["embed"]["mean"] <= 1.0
