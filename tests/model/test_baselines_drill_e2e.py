"""End to end: the drill study (seed 002, VAE augmentation + log-Mel image CNN) on a synthetic drill tree,
through `dinos splits make`, `python -m dinos.model.baselines.study` and `dinos score asd`."""

from __future__ import annotations

import csv
import json

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]
torch = pytest.importorskip("torch")

from dinos import protocols  # noqa: E402
from dinos.cli import main  # noqa: E402
from dinos.errors import DinosError  # noqa: E402
from dinos.model.baselines import study  # noqa: E402


def test_drill_study_end_to_end(tmp_path, capsys):
    from dinos.synth import folder as synth_folder

    synth_folder.write(tmp_path / "data", kinds=("drill",))
    drill, cache = tmp_path / "data" / "drill", str(tmp_path / "cache")
    split = tmp_path / "holdout.json"
    assert main(["splits", "make", "--corpus", "folder", "--data-dir", str(drill), "--protocol", "holdout",
                 "--test-fraction", "0.3", "--out", str(split), "--cache-dir", cache]) == 0
    record = protocols.load(split)
    train, test = protocols.side_clips(record, "train"), protocols.side_clips(record, "test")
    assert set(train.values()) == set(test.values()) == {"normal", "anomaly"}
    out = tmp_path / "results"
    capsys.readouterr()
    assert study.main(["--splits", str(split), "--data-dir", str(drill), "--out", str(out), "--vae-preset", "tiny",
                       "--vae-epochs", "1", "--cnn-epochs", "2", "--cache-dir", cache]) == 0
    printed = capsys.readouterr().out
    assert "| AlexNet, original + VAE clips | paper, real data (Valmet drill, augmented) | 230 (all, 70/30) |" in printed
    rows = json.loads((out / "drill_study.json").read_text())["rows"]
    assert [r["model"] for r in rows] == ["mel_cnn", "mel_cnn_vae"]
    # as many VAE clips per class as the class has training clips: the augmented set is twice as large
    assert rows[0]["train_clips"] == len(train) and rows[1]["train_clips"] == 2 * len(train)
    assert all(r["test_clips"] == len(test) and r["tp"] + r["fp"] + r["fn"] + r["tn"] == len(test) for r in rows)
    md = (out / "drill_study.md").read_text()
    assert md.count("|---|") == 1 and "| log-Mel CNN, original clips | ours, data in drill |" in md
    for r in rows:
        with open(out / "scores" / f"{r['model']}.csv", encoding="utf-8") as fh:
            scores = {x["clip_id"]: float(x["score"]) for x in csv.DictReader(fh)}
        assert set(scores) == set(test) and all(0.0 <= v <= 1.0 for v in scores.values())
        # the scores CSV through `dinos score asd` at the study's 0.5 gives the same decision
        assert main(["score", "asd", "--scores", str(out / "scores" / f"{r['model']}.csv"), "--splits", str(split),
                     "--threshold", "0.5", "--out", str(tmp_path / f"{r['model']}.json")]) == 0
        d = json.loads((tmp_path / f"{r['model']}.json").read_text())["test"]
        assert (d["tp"], d["fp"], d["fn"], d["tn"]) == (r["tp"], r["fp"], r["fn"], r["tn"])
        assert d["accuracy"] == pytest.approx(r["accuracy"])
    # an asd split file (normal-only training) is refused: the study is supervised
    import dinos

    ds = dinos.load_dataset("folder", data_dir=drill, decode=False, cache_dir=cache)
    refs = protocols.clip_refs(ds[next(iter(ds))])
    refs = [r for r in refs if r.label == "normal"] + [r for r in refs if r.label == "anomaly"][:2]
    asd = protocols.write(tmp_path / "asd.json", protocols.build_record(refs, "asd", corpus="folder", config=None))
    with pytest.raises(DinosError, match="supervised"):
        study.run_drill_study(asd, drill, cache_dir=cache)
