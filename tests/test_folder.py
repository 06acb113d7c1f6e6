"""The `folder` corpus: a user's own WAVs by folder names or a manifest, in the one clip schema."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import dinos
from dinos import schema
from dinos.errors import LayoutError, ParseError, UnsafePathError
from dinos.loaders import folder as F
from tests.conftest import write_tone


def _load(root, cache, **kw):
    return dinos.load_dataset("folder", data_dir=root, cache_dir=str(cache), split="train", **kw)


def _decoded(ds, col):
    return schema.decoded_column(ds, col)


# -- pure grammar -----------------------------------------------------------------------------------
def test_label_table_defaults_overrides_and_errors():
    t = F.label_table()
    assert F.parse_label("OK", t) == "normal" and F.parse_label("NG", t) == "anomaly"
    assert F.parse_label("Anomaly", t) == "anomaly" and F.parse_label("good", t) == "normal"
    with pytest.raises(ParseError, match="cavitation"):
        F.parse_label("cavitation", t)
    t2 = F.label_table({"Cavitation": "anomaly", "ok": "anomaly"})
    assert F.parse_label("cavitation", t2) == "anomaly" and F.parse_label("ok", t2) == "anomaly"
    with pytest.raises(ParseError, match="must be one of"):
        F.label_table({"x": "broken"})


@pytest.mark.parametrize(("name", "section"), [("id_00", 0), ("section_01", 1), ("sec2", 2), ("unit-3", 3),
                                               ("07", 7), ("ID_42", 42)])
def test_section_folders(name, section):
    assert F.parse_section(name) == section


@pytest.mark.parametrize("name", ["id_100", "left", "id__1", ""])
def test_bad_section_folders(name):
    with pytest.raises(ParseError):
        F.parse_section(name)


def test_path_fields_by_depth():
    t = F.label_table()
    assert F.path_fields(("normal",), "rig", t)["machine"] == "rig"
    f = F.path_fields(("fan", "abnormal"), "rig", t)
    assert (f["machine"], f["section"], f["label"]) == ("fan", -1, "anomaly")
    f = F.path_fields(("fan", "id_02", "Normal"), "rig", t)
    assert (f["machine"], f["section"], f["label"], f["class_name"]) == ("fan", 2, "normal", "Normal")
    with pytest.raises(ParseError, match="too deep"):
        F.path_fields(("a", "b", "c", "normal"), "rig", t)
    with pytest.raises(ParseError, match="label folder"):
        F.path_fields((), "rig", t)


# -- building -----------------------------------------------------------------------------------------
def test_any_rate_and_channel_count_with_channel_pick(tmp_path):
    root = tmp_path / "press"
    write_tone(root / "ok" / "a.wav", seconds=0.1, sr=22_050, channels=2)
    write_tone(root / "NG" / "b.wav", seconds=0.05, sr=96_000, channels=4, subtype="PCM_24")
    write_tone(root / "ok" / "c.wav", seconds=0.2, sr=8_000, channels=1, subtype="FLOAT")
    ds = _load(root, tmp_path / "c", channel=0)
    rows = {Path(r["path"]).name: r for r in ds}
    assert rows["a.wav"]["machine"] == "press"  # no machine folder: the folder's own name
    assert (rows["b.wav"]["sample_rate"], rows["b.wav"]["channels"]) == (96_000, 4)
    assert (rows["a.wav"]["label"], rows["b.wav"]["label"]) == (0, 1)  # normal, anomaly (ClassLabel codes)
    ref, _ = sf.read(str(root / "ok" / "a.wav"), dtype="float32")
    np.testing.assert_allclose(rows["a.wav"]["audio"]["array"], ref[:, 0], atol=1e-4)
    assert rows["c.wav"]["audio"]["array"].shape == (1600,)
    raw = _load(root, tmp_path / "c", decode=False)
    stereo = dinos.decode_audio(raw.select([raw["path"].index("press/ok/a.wav".split("/", 1)[1])]), channel=1)
    np.testing.assert_allclose(stereo[0]["audio"]["array"], ref[:, 1], atol=1e-4)
    assert set(_decoded(ds, "origin_split")) == {"unsplit"}


def test_short_clips_with_segment_and_pad(tmp_path):
    root = tmp_path / "drill"
    write_tone(root / "normal" / "a.wav", seconds=2000 / 96_000, sr=96_000, channels=4)
    ds = _load(root, tmp_path / "c", decode=False, segment="0.015s", tail="pad")
    assert len(ds) == 2 and all(n == 1440 for n in ds["num_frames"])


def test_unknown_label_is_an_error_naming_the_file_unless_mapped_or_lenient(tmp_path):
    root = tmp_path / "pumps"
    write_tone(root / "normal" / "a.wav", seconds=0.05)
    write_tone(root / "cavitation" / "b.wav", seconds=0.05)
    with pytest.raises(LayoutError, match=r"cavitation.*b\.wav|b\.wav.*cavitation"):
        _load(root, tmp_path / "c1")
    ds = _load(root, tmp_path / "c2", decode=False, labels={"cavitation": "anomaly"})
    assert sorted(zip(ds["class_name"], _decoded(ds, "label"), strict=True)) == [("cavitation", "anomaly"), ("normal", "normal")]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = _load(root, tmp_path / "c3", decode=False, strict=False)
    assert "unknown" in _decoded(ds, "label") and any("cavitation" in str(x.message) for x in w)


def test_file_at_top_level_and_too_deep_are_errors(tmp_path):
    write_tone(tmp_path / "d" / "x.wav", seconds=0.05)
    with pytest.raises(LayoutError, match="label folder"):
        _load(tmp_path / "d", tmp_path / "c")
    write_tone(tmp_path / "e" / "a" / "b" / "c" / "normal" / "x.wav", seconds=0.05)
    with pytest.raises(LayoutError, match="too deep"):
        _load(tmp_path / "e", tmp_path / "c")


def test_manifest_csv_and_parquet(tmp_path):
    import pandas as pd

    root = tmp_path / "data"
    write_tone(root / "x" / "a.wav", seconds=0.05)
    write_tone(root / "x" / "b.wav", seconds=0.05, seed=1)
    frame = pd.DataFrame({"file": ["x/a.wav", "x/b.wav"], "label": ["good", "cavitation"], "machine": ["p1", "p2"],
                          "section": ["3", ""], "group": ["run1", ""], "snr_db": ["", "-3"], "rpm": ["1450", "1500"]})
    frame.to_csv(root / "meta.csv", index=False)
    frame.to_parquet(tmp_path / "meta.parquet")
    for manifest in ("meta.csv", str(tmp_path / "meta.parquet")):
        ds = _load(root, tmp_path / f"c{len(manifest)}", decode=False, manifest=manifest,
                   labels={"cavitation": "anomaly"})
        rows = {r["path"]: r for r in ds}
        a, b = rows["x/a.wav"], rows["x/b.wav"]
        assert (a["machine"], a["section"], a["group_id"], a["snr_db"]) == ("p1", 3, "run1", None)
        assert (b["machine"], b["section"], b["group_id"], b["snr_db"]) == ("p2", -1, "x/b", -3.0)
        assert a["attributes"] == [{"name": "rpm", "value": "1450", "file_token": ""}]
        assert a["provenance"]["truth"] == "manifest"


@pytest.mark.parametrize(("rows", "error", "match"), [
    ("file,label\nx/nope.wav,ok\n", LayoutError, "does not exist"),
    ("file,label\n../outside.wav,ok\n", UnsafePathError, "outside"),
    ("file,label\nx/a.wav,ok\nx/a.wav,ok\n", ParseError, "twice"),
    ("file,kind\nx/a.wav,ok\n", ParseError, "lacks column"),
    ("file,label\nx/a.wav,weird\n", ParseError, "weird"),
    ("file,label,domain\nx/a.wav,ok,mars\n", ParseError, "meta.csv:2"),
])
def test_manifest_errors_name_the_line(tmp_path, rows, error, match):
    root = tmp_path / "data"
    write_tone(root / "x" / "a.wav", seconds=0.05)
    write_tone(tmp_path / "outside.wav", seconds=0.05)
    (root / "meta.csv").write_text(rows)
    with pytest.raises(error, match=match):
        _load(root, tmp_path / "c", manifest="meta.csv")


def test_changed_manifest_invalidates_the_cache(tmp_path):
    root = tmp_path / "data"
    write_tone(root / "x" / "a.wav", seconds=0.05)
    out = tmp_path / "m.csv"  # outside data_dir: the source fingerprint does not see it
    out.write_text("file,label\nx/a.wav,ok\n")
    assert _decoded(_load(root, tmp_path / "c", decode=False, manifest=str(out)), "label") == ["normal"]
    out.write_text("file,label\nx/a.wav,ng\n")
    assert _decoded(_load(root, tmp_path / "c", decode=False, manifest=str(out)), "label") == ["anomaly"]


@pytest.mark.slow
def test_rows_concatenate_with_mimii_and_dinos_rows(tmp_path, dinos_tree):
    import datasets

    from dinos.synth import mimii as synth

    own = tmp_path / "own"
    write_tone(own / "my machine" / "id_01" / "ok" / "a.wav", seconds=0.05)
    mimii = tmp_path / "mimii"
    synth.write(mimii, scale=0.1, seconds=0.1, machines=("fan",))
    parts = [
        _load(own, tmp_path / "c", decode=False),
        dinos.load_dataset("mimii", "fan_0dB", data_dir=mimii, cache_dir=str(tmp_path / "c"), split="train", decode=False),
        dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, cache_dir=str(tmp_path / "c"), split="train",
                           decode=False),
    ]
    joined = datasets.concatenate_datasets(parts)
    assert set(joined["corpus"]) == {"folder", "mimii", "dinos"}
    assert "my machine" in joined["machine"]
    assert {v for v in joined["snr_db"]} >= {None, 0.0}


# -- synthetic trees -----------------------------------------------------------------------------------
def test_synth_folder_layout_physics_and_determinism(tmp_path):
    from dinos.synth import folder as synth

    synth.write(tmp_path / "a", scale=0.25, pump_seconds=0.5)
    synth.write(tmp_path / "b", scale=0.25, pump_seconds=0.5)
    wavs = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*.wav"))
    assert wavs == sorted(p.relative_to(tmp_path / "b").as_posix() for p in (tmp_path / "b").rglob("*.wav"))
    for rel in wavs:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    drill = [sf.info(str(tmp_path / "a" / r)) for r in wavs if r.startswith("drill/")]
    assert {(i.samplerate, i.channels) for i in drill} == {(96_000, 4)}
    assert {i.frames for i in drill} <= {2_000, 4_000}
    pump = [sf.info(str(tmp_path / "a" / r)) for r in wavs if r.startswith("pump/")]
    assert {(i.samplerate, i.channels) for i in pump} == {(44_100, 2)}
    # physics: a broken bit rings near 14 kHz; cavitation adds broadband energy above 2 kHz
    def hf_share(path, lo):
        x, sr = sf.read(str(path), always_2d=True)
        spec = np.abs(np.fft.rfft(x[:, -1])) ** 2
        f = np.fft.rfftfreq(x.shape[0], 1 / sr)
        return spec[f > lo].sum() / spec.sum()
    a = tmp_path / "a"
    assert hf_share(a / "drill/Anomaly/clip_0000.wav", 10_000) > hf_share(a / "drill/Normal/clip_0000.wav", 10_000)
    assert hf_share(a / "pump/id_00/anomaly/rec_0000.wav", 2_000) > 2 * hf_share(a / "pump/id_00/normal/rec_0000.wav",
                                                                                2_000)
    manifest = (a / "manifest.csv").read_text().splitlines()
    assert manifest[0] == "file,label,machine,section,group,bits" and len(manifest) == len(wavs) + 1


def test_data_summary_for_the_card():
    table = F.data_summary(["drill", "drill", "pump"], [-1, -1, 1], ["normal", "normal", "anomaly"],
                           [96_000, 96_000, 44_100], [4, 4, 2])
    assert "| drill | - | normal | 2 | 96 kHz x 4 |" in table
    assert "| pump | 01 | anomaly | 1 | 44.1 kHz x 2 |" in table


@pytest.mark.slow
def test_cli_protocol_score_and_images_on_the_pump_manifest(tmp_path, capsys):
    """The pump-like set through the CLI: manifest + label map -> asd split -> scores -> decision -> PNGs."""
    import json

    from dinos import protocols
    from dinos.cli import main
    from dinos.synth import folder as synth

    data = tmp_path / "pumps"
    synth.write(data, kinds=("pump",), pump_seconds=0.5)
    cache = str(tmp_path / "cache")
    common = ["--data-dir", str(data), "--cache-dir", cache]
    assert main(["splits", "make", "--corpus", "folder", *common, "--manifest", "manifest.csv", "--label-map",
                 '{"cavitation": "anomaly"}', "--protocol", "asd", "--out", str(tmp_path / "asd.json")]) == 0
    rec = protocols.load(tmp_path / "asd.json")
    assert rec["options"]["builder"] == {"labels": {"cavitation": "anomaly"}, "manifest": "manifest.csv"}
    test = protocols.side_clips(rec, "test")
    assert sorted(test.values()).count("anomaly") == 4 == sorted(test.values()).count("normal")
    # scores: anomalies high except one; a given threshold (no validation side)
    scores = tmp_path / "scores.csv"
    lines = ["clip_id,score"] + [f"{cid},{0.9 if lab == 'anomaly' else 0.1}" for cid, lab in sorted(test.items())]
    lines[-1] = lines[-1].rsplit(",", 1)[0] + ",0.5"
    scores.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["score", "asd", "--scores", str(scores), "--splits", str(tmp_path / "asd.json"),
                 "--threshold", "0.3", "--out", str(tmp_path / "d.json")]) == 0
    assert "chosen on given" in capsys.readouterr().out
    d = json.loads((tmp_path / "d.json").read_text())["test"]
    assert (d["tp"], d["fp"], d["fn"], d["tn"]) in {(4, 1, 0, 3), (3, 0, 1, 4)}  # the 0.5 clip is one of them
    assert main(["score", "asd", "--scores", str(scores), "--splits", str(tmp_path / "asd.json")]) == 1
    assert "validation" in capsys.readouterr().err
    assert main(["export", "images", "folder", *common, "--splits", str(tmp_path / "asd.json"), "--side", "test",
                 "--channel", "1", "--out", str(tmp_path / "img")]) == 0
    assert len(list((tmp_path / "img").rglob("*.png"))) == 8


def test_export_keeps_each_files_own_rate(tmp_path):
    """A user's 96 kHz drill set exports (Audio(sampling_rate=None): no resampling) and loads back."""
    from dinos.export import export, validate_export
    from dinos.synth import folder as synth_folder

    data = tmp_path / "data"
    synth_folder.write(data, progress=False)
    out = tmp_path / "out"
    export("folder", ["default"], data_dir=data / "drill", out=out, cache_dir=str(tmp_path / "c"))
    assert validate_export(out) == []
    ds = dinos.load_dataset(str(out), "default", split="train", cache_dir=str(tmp_path / "c2"), channel=0)
    assert set(ds["sample_rate"]) == {96_000}
    assert ds[0]["audio"]["sampling_rate"] == 96_000 and ds[0]["audio"]["array"].ndim == 1
