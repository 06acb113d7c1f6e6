"""Parquet export: round trip (metadata and samples), stock `datasets` load, streaming, bad input."""

from __future__ import annotations

import json
import os
import shutil

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

import dinos
from dinos import schema
from dinos.audio import AudioDecoder, read_window
from dinos.errors import LayoutError
from dinos.export import (
    EXPORT_MARKER,
    PARTIAL_PREFIX,
    export,
    is_export_dir,
    read_manifest,
    validate_export,
    write_export,
)
from dinos.io import OutputError

from .conftest import REAL_SAMPLES, make_dinos_tree


def _meta(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "audio"}


def _source_rows(corpus, config, data_dir, cache, **kw):
    return dinos.load_dataset(corpus, config, data_dir=data_dir, cache_dir=cache, decode=False, **kw)


def _assert_round_trip(corpus, config, data_dir, out, cache, sampling_rate, **kw):
    """Exported rows equal source rows: metadata, samples, features (stock datasets load)."""
    src = _source_rows(corpus, config, data_dir, cache, **kw)
    manifest = read_manifest(out)
    assert set(manifest.configs[config]) == set(src)
    for split, src_ds in src.items():
        exp = datasets.load_dataset(str(out), config, split=split, cache_dir=cache)
        assert exp.features == schema.features(sampling_rate=sampling_rate)
        assert isinstance(exp.features["audio"], datasets.Audio) and not exp.features["audio"].decode
        assert isinstance(exp.features["task_class"], datasets.ClassLabel)
        assert len(exp) == len(src_ds) == manifest.configs[config][split].num_rows
        dec_src, dec_exp = AudioDecoder(root=data_dir), AudioDecoder()
        for a, b in zip(src_ds, exp, strict=True):
            assert _meta(a) == _meta(b)
            assert not b["audio"]["path"].startswith("/")  # no local absolute path in the data
            want = dec_src.decode_one(a["audio"], a["start_frame"], a["num_frames"])["array"]
            got = dec_exp.decode_one(b["audio"])["array"]
            np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def dinos_export(tmp_path_factory):
    base = tmp_path_factory.mktemp("dx")
    tree = make_dinos_tree(base / "tree", datasets=("Yornew", "VF2"), per_class=1, pretrain_seconds=2.5)
    out = base / "hub"
    cache = str(base / "cache")
    manifest = export("dinos", ["yornew", "vf2"], data_dir=tree, out=out, max_shard_mb=0.25, cache_dir=cache)
    return tree, out, cache, manifest


def test_dinos_round_trip_and_stock_load(dinos_export):
    tree, out, cache, manifest = dinos_export
    assert is_export_dir(out) and validate_export(out) == []
    assert manifest.sampling_rate == 48_000
    shards = manifest.configs["yornew"]["train"].shards
    assert len(shards) >= 2  # 12 one-second clips (~96 kB each) with 0.25 MB shards
    for s in shards:
        assert s.num_bytes <= 0.25 * 2**20 + 64 * 1024  # bound + Parquet overhead
        assert pq.ParquetFile(out / s.path).metadata.num_rows == s.num_rows
    for config in ("yornew", "vf2"):
        _assert_round_trip("dinos", config, tree, out, cache, 48_000)


def test_whole_file_rows_embed_the_file_bytes(dinos_export):
    tree, out, cache, _ = dinos_export
    row = datasets.load_dataset(str(out), "vf2", split="test", cache_dir=cache)[0]
    assert row["audio"]["bytes"] == (tree / row["path"]).read_bytes()
    assert row["audio"]["path"] == row["path"]


def test_card_in_export_carries_actual_configs_and_sizes(dinos_export):
    from dinos.cards import read_card_header

    _, out, _, manifest = dinos_export
    header = read_card_header((out / "README.md").read_text())
    assert [c["config_name"] for c in header["configs"]] == ["yornew", "vf2"]
    info = {i["config_name"]: {s["name"]: s["num_examples"] for s in i["splits"]} for i in header["dataset_info"]}
    assert info == {c: {s: v.num_rows for s, v in sp.items()} for c, sp in manifest.configs.items()}
    assert str(out) not in (out / "README.md").read_text() + (out / EXPORT_MARKER).read_text()


def test_dinos_load_dataset_on_export_decodes_and_streams(dinos_export):
    tree, out, cache, _ = dinos_export
    ds = dinos.load_dataset(str(out), "yornew", split="test", cache_dir=cache)
    first = ds[0]
    want, sr = read_window(tree / first["path"])
    assert first["audio"]["sampling_rate"] == sr == 48_000
    np.testing.assert_array_equal(first["audio"]["array"], want)
    stream = dinos.load_dataset(str(out), "yornew", split="test", streaming=True)
    rows = list(stream)
    assert [r["clip_id"] for r in rows] == ds["clip_id"]
    np.testing.assert_array_equal(rows[0]["audio"]["array"], want)


def test_windowed_rows_embed_exactly_the_window(tmp_path):
    tree = make_dinos_tree(tmp_path / "t", datasets=(), per_class=0, pretrain_seconds=2.5)
    out, cache = tmp_path / "hub", str(tmp_path / "cache")
    export("dinos", ["pretraining"], data_dir=tree, out=out, cache_dir=cache, segment=1, tail="pad")
    _assert_round_trip("dinos", "pretraining", tree, out, cache, 48_000, segment=1, tail="pad")
    ds = datasets.load_dataset(str(out), "pretraining", split="train", cache_dir=cache)
    assert len(ds) == 4 * 3  # four categories, windows at 0, 1, 2 s (last one padded)
    row = ds[2]
    info = sf.info(__import__("io").BytesIO(row["audio"]["bytes"]))
    assert (info.frames, info.samplerate, info.subtype) == (48_000, 48_000, "PCM_16")
    assert row["audio"]["path"].endswith(f"_{row['start_frame']}-{row['start_frame'] + 48_000}.wav")
    assert read_manifest(out).options == {"segment": 1, "tail": "pad"}


def test_mimii_due_and_dcase_round_trip(tmp_path):
    from dinos.synth import dcase, mimii_due

    for corpus, config, writer in (
        ("mimii_due", "fan", lambda d: mimii_due.write(d, scale=0.05)),
        ("dcase_task2", "2023-all", lambda d: dcase.write(d, year=2023, scale=0.05)),
    ):
        tree, out, cache = tmp_path / corpus, tmp_path / f"{corpus}-hub", str(tmp_path / "cache")
        writer(tree)
        export(corpus, [config], data_dir=tree, out=out, cache_dir=cache)
        assert validate_export(out) == []
        _assert_round_trip(corpus, config, tree, out, cache, 16_000)


def test_real_dcase_clip_windows_round_trip(tmp_path):
    """A real DCASE 2023 file (16 kHz PCM_16, 10 s) exported as 2-s windows decodes to the same samples."""
    real = REAL_SAMPLES / "dcase2023t2_via_soundata/7882613"
    rel = "fan/train/section_00_source_train_normal_0705_m-n_X.wav"
    info = sf.info(str(real / rel))

    def rows(config):
        def gen():
            for start in range(0, info.frames, 32_000):
                clip = schema.Clip(
                    clip_id=schema.make_clip_id(rel, start), corpus="dcase_task2", machine="fan",
                    sensor="microphone", section=0, domain="source", label="normal", origin_split="train",
                    task_class="none", class_name="", attributes=(schema.Attribute(name="m-n", value="X"),),
                    recording_id=rel[:-4], path=rel, offset=start / 16_000, duration=2.0,
                    start_frame=start, num_frames=32_000, sample_rate=16_000, channels=1,
                )
                yield schema.rows_to_table([schema.clip_to_row(clip, None)], schema.features()).to_pylist()[0]
        yield "dev_train", gen()

    out = tmp_path / "hub"
    write_export(out, "dcase_task2", rows, ["2023-fan"], root=real, sampling_rate=16_000)
    ds = datasets.load_dataset(str(out), "2023-fan", split="dev_train", cache_dir=str(tmp_path / "c"))
    assert len(ds) == 5
    full, _ = read_window(real / rel)
    got = np.concatenate([AudioDecoder().decode_one(r["audio"])["array"] for r in ds])
    np.testing.assert_array_equal(got, full)


def test_refuses_a_users_folder_and_overwrite_keeps_foreign_files(dinos_export, tmp_path):
    tree, _, cache, _ = dinos_export
    out = tmp_path / "hub"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    for overwrite in (False, True):  # a folder the tool did not create is never written into
        with pytest.raises(OutputError, match="not empty"):
            export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache, overwrite=overwrite)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    (out / "notes.txt").unlink()
    first = export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache)
    (out / "notes.txt").write_text("mine")  # the user adds a file to the export folder
    with pytest.raises(OutputError, match="--overwrite"):
        export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache)
    second = export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache, overwrite=True, max_shard_mb=0.1)
    assert (out / "notes.txt").read_text() == "mine"
    assert len(second.configs["vf2"]["test"].shards) > len(first.configs["vf2"]["test"].shards)
    assert validate_export(out) == []
    stray = out / "data" / "vf2" / "test-99999.parquet"
    shutil.copy(out / second.configs["vf2"]["test"].shards[0].path, stray)
    assert any("not listed" in p for p in validate_export(out))
    with pytest.raises(LayoutError, match="not written by a previous export"):
        export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache, overwrite=True)
    assert stray.exists()


def test_foreign_readme_is_never_overwritten(dinos_export, tmp_path):
    tree, _, cache, _ = dinos_export
    out = tmp_path / "hub"
    out.mkdir()
    (out / "README.md").write_text("hand-written")
    with pytest.raises(OutputError, match="not written by `dinos export`"):
        export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache, overwrite=True)
    assert (out / "README.md").read_text() == "hand-written"


def test_overwrite_refuses_a_hand_edited_card_and_says_so(dinos_export, tmp_path):
    tree, _, cache, _ = dinos_export
    out = tmp_path / "hub"
    export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache)
    card = out / "README.md"
    card.write_text(card.read_text() + "\nMy notes on the recording campaign.\n")
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    with pytest.raises(OutputError, match="README.md: was edited after `dinos export` wrote it"):
        export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache, overwrite=True)
    assert card.read_text().endswith("My notes on the recording campaign.\n")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before  # nothing changed


def test_out_inside_data_dir_is_refused_before_creating_anything(tmp_path):
    tree = make_dinos_tree(tmp_path / "tree", datasets=("VF2",), per_class=1)
    before = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*"))
    with pytest.raises(LayoutError, match="inside the data directory"):
        export("dinos", ["vf2"], data_dir=tree, out=tree / "hub", cache_dir=str(tmp_path / "c"))
    assert sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*")) == before
    assert len(dinos.load_dataset("dinos", "vf2", data_dir=tree, cache_dir=str(tmp_path / "c"), decode=False)) == 2


def test_export_files_get_umask_permissions(dinos_export, tmp_path):
    tree, _, cache, _ = dinos_export
    old = os.umask(0o027)
    try:
        export("dinos", ["vf2"], data_dir=tree, out=tmp_path / "hub", cache_dir=cache)
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "hub").rglob("*") if p.is_file()}
    assert modes and set(modes.values()) == {0o640}, modes


def test_interrupted_export_leaves_nothing_loadable(dinos_export, tmp_path, monkeypatch):
    """Interrupted while a row's audio is copied in (after shards were closed): nothing is published."""
    import dinos.export_shards as S

    tree, _, cache, _ = dinos_export
    calls = {"n": 0}
    real_fill = S._stage

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_fill(*args)

    monkeypatch.setattr(S, "_stage", flaky)
    out = tmp_path / "hub"
    with pytest.raises(KeyboardInterrupt):
        export("dinos", ["yornew"], data_dir=tree, out=out, cache_dir=cache, max_shard_mb=0.25)
    assert calls["n"] == 5
    assert not is_export_dir(out) and not (out / "README.md").exists()
    assert not list(out.rglob(f"{PARTIAL_PREFIX}*"))
    assert validate_export(out)  # no manifest: reported
    monkeypatch.setattr(S, "_stage", real_fill)
    export("dinos", ["yornew"], data_dir=tree, out=out, cache_dir=cache, overwrite=True)
    assert validate_export(out) == []


def test_validate_detects_tampering(dinos_export, tmp_path):
    _, src, _, _ = dinos_export
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    manifest = read_manifest(out)
    shard = out / manifest.configs["yornew"]["train"].shards[0].path
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    problems = validate_export(out)
    assert len(problems) == 1 and "sha256" in problems[0] and str(shard) in problems[0]
    shard.unlink()
    assert any("missing" in p for p in validate_export(out))
    (out / "data" / "vf2" / f"{PARTIAL_PREFIX}x.parquet").write_bytes(b"")
    assert any("interrupted" in p for p in validate_export(out))
    (out / EXPORT_MARKER).write_text(json.dumps({"format": "other"}))
    assert "not a valid export manifest" in validate_export(out)[0]


def test_bad_arguments(dinos_export, tmp_path):
    tree, _, cache, _ = dinos_export
    with pytest.raises(LayoutError, match="no config 'nope'"):
        export("dinos", ["nope"], data_dir=tree, out=tmp_path / "o", cache_dir=cache)
    with pytest.raises(LayoutError, match="not a directory"):
        export("dinos", ["vf2"], data_dir=tmp_path / "missing", out=tmp_path / "o", cache_dir=cache)


def test_cli_export(dinos_export, tmp_path, capsys):
    from dinos.cli import main

    tree, _, cache, _ = dinos_export
    out = tmp_path / "hub"
    assert main(["export", "dinos", "vf2", "--data-dir", str(tree), "--out", str(out), "--cache-dir", cache,
                 "--quiet"]) == 0
    assert "vf2/train" in capsys.readouterr().out
    assert main(["export", "dinos", "vf2", "--data-dir", str(tree), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dinos: error: ") and "not empty" in err and err.count("\n") == 1


def test_a_load_during_overwrite_sees_old_or_new_or_an_error(dinos_export, tmp_path, monkeypatch):
    """At every publishing step of `export --overwrite`, stock `datasets` and `dinos.load_dataset` return
    the old export, the new one, or raise: never a partial or mixed dataset."""
    import dinos.export as E

    tree, _, cache, _ = dinos_export
    out = tmp_path / "hub"
    old = export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache)
    seen = []

    def load_now(step: str) -> None:
        for split in ("train", "test"):
            for loader in ("stock", "dinos"):
                try:
                    if loader == "stock":
                        n = len(datasets.load_dataset(str(out), "vf2", split=split,
                                                      cache_dir=str(tmp_path / f"c{len(seen)}")))
                    else:
                        n = len(dinos.load_dataset(str(out), "vf2", split=split, decode=False,
                                                   cache_dir=str(tmp_path / f"d{len(seen)}")))
                except Exception as exc:  # noqa: BLE001 - any clear error is acceptable
                    n = type(exc).__name__
                seen.append((step, loader, split, n))

    monkeypatch.setattr(E, "_after_step", load_now)
    new = export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=cache, overwrite=True, segment="0.5")
    counts = {(s, "old"): old.configs["vf2"][s].num_rows for s in ("train", "test")}
    counts |= {(s, "new"): new.configs["vf2"][s].num_rows for s in ("train", "test")}
    assert counts[("train", "old")] != counts[("train", "new")]
    assert len({step for step, *_ in seen}) == 6
    for step, loader, split, n in seen:
        assert n in (counts[(split, "old")], counts[(split, "new")]) or isinstance(n, str), (step, loader, split, n)
    final = [n for step, _, _, n in seen if step == "manifest written"]
    assert final == [counts[("train", "new")]] * 2 + [counts[("test", "new")]] * 2
    assert validate_export(out) == []


def _import_graph() -> dict[str, set[str]]:
    """dinos.<module> -> dinos modules it imports (at any level, function-local imports included)."""
    import ast
    from pathlib import Path

    pkg = Path(dinos.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in pkg.glob("*.py"):
        name = path.stem
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dinos."):
                deps.add(node.module.split(".")[1])
        graph[name] = {d for d in deps if (pkg / f"{d}.py").exists() and d != name}
    return graph


def test_no_import_circle_through_the_export_modules():
    """api -> export -> api and export -> cards -> export are broken by the leaf module export_layout."""
    graph = _import_graph()
    assert graph["export_layout"] == set()

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            m = stack.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                stack.extend(graph.get(m, ()))
        return False

    for mod in graph["export"]:
        assert not reaches(mod, "export"), f"export -> {mod} -> ... -> export"


def test_recipe_runs_the_export_validate_commands(dinos_export, tmp_path, capsys):
    """recipes/export.py re-implements nothing: it runs `dinos export` and `dinos validate export`."""
    import importlib.util
    from pathlib import Path

    tree, _, cache, _ = dinos_export
    path = Path(__file__).resolve().parents[1] / "recipes" / "export.py"
    spec = importlib.util.spec_from_file_location("export_recipe", path)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    calls = []
    monkey_main = recipe.dinos

    def spy(argv):
        calls.append(argv[:2])
        return monkey_main([*argv, "--cache-dir", cache, "--quiet"] if argv[0] == "export" else argv)

    recipe.dinos = spy
    out = tmp_path / "hub"
    assert recipe.main(["dinos", "--data-dir", str(tree), "--out", str(out), "--configs", "vf2"]) == 0
    assert calls == [["export", "dinos"], ["validate", "export"]]
    assert validate_export(out) == [] and f"{out}: ok." in capsys.readouterr().out
    assert recipe.main(["dinos", "--data-dir", str(tree), "--out", str(out), "--configs", "vf2"]) == 1
    assert "pass --overwrite" in capsys.readouterr().err
