"""`dinos validate splits|export` through the CLI on missing, corrupt and tampered files; `dinos export
--skip-invalid` and its report; paths in manifests that leave the output directory; the Hub token never
reaching logs, errors or reprs."""

from __future__ import annotations

import json
import logging
import shutil
import warnings

import numpy as np
import pytest
import soundfile as sf

from dinos import splits
from dinos.cli import main
from dinos.errors import UnsafePathError
from dinos.export import EXPORT_MARKER, export, read_manifest, validate_export

from .conftest import make_dinos_tree, write_tone

TOKEN = "hf_ValidateAllSecret0123456789"


# ------------------------------------------------------------------------------ dinos validate splits
@pytest.fixture
def split_root(tmp_path):
    root = tmp_path / "splits"
    shutil.copytree(splits.split_files_root(), root)
    if not list(root.rglob("*.json")):
        pytest.skip("no committed split files")
    return root


def _validate_splits(root, capsys) -> tuple[int, str]:
    code = main(["validate", "splits", "--splits-dir", str(root)])
    return code, capsys.readouterr().out


def test_validate_splits_clean_copy_passes(split_root, capsys):
    code, out = _validate_splits(split_root, capsys)
    assert code == 0 and "0 failed" in out


@pytest.mark.parametrize("fault, expect", [
    ("tampered", "checksum mismatch"),
    ("missing", "is missing"),
    ("truncated", "not valid JSON"),
    ("binary", "unreadable"),
    ("leftover", "interrupted write"),
    ("escaping_clip_id", "clip id"),
])
def test_validate_splits_reports_each_fault(split_root, capsys, fault, expect):
    victim = sorted(split_root.rglob("*.json"))[0]
    if fault == "tampered":  # a hand edit that keeps valid JSON
        rec = json.loads(victim.read_text("utf-8"))
        rec["repeats"][0]["train"], rec["repeats"][0]["eval"] = rec["repeats"][0]["eval"], rec["repeats"][0]["train"]
        victim.write_text(splits.canonical_json(rec), encoding="utf-8")
    elif fault == "missing":
        victim.unlink()
    elif fault == "truncated":
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    elif fault == "binary":
        victim.write_bytes(b"\xff\xfe\x00garbage")
    elif fault == "leftover":
        (victim.parent / f".{victim.name}.abc123.tmp").write_text("{", encoding="utf-8")
    else:  # re-checksummed, so only the clip-id check can catch it
        rec = json.loads(victim.read_text("utf-8"))
        cls, ids = next(iter(rec["repeats"][0]["train"].items()))
        old = ids[0]
        for rep in rec["repeats"]:
            for side in ("train", "eval"):
                for lab, lst in rep[side].items():
                    rep[side][lab] = ["../../outside.wav#0" if c == old else c for c in lst]
        clips = splits.record_clips(rec)
        rec["manifest"]["sha256"] = splits.manifest_checksum(list(clips), list(clips.values()))
        rec["content_sha256"] = splits.content_checksum(rec)
        victim.write_text(splits.canonical_json(rec), encoding="utf-8")
    code, out = _validate_splits(split_root, capsys)
    assert code == 1
    fail_lines = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fail_lines) == 1 and victim.name in fail_lines[0]
    assert expect in out


def test_validate_splits_empty_folder(tmp_path, capsys):
    code, out = _validate_splits(tmp_path, capsys)
    assert code == 1 and "no split files" in out


# ------------------------------------------------------------------------------ dinos validate export
@pytest.fixture(scope="module")
def made_export(tmp_path_factory):
    base = tmp_path_factory.mktemp("vexport")
    tree = make_dinos_tree(base / "tree", datasets=("VF2",), per_class=1)
    out = base / "export"
    export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=str(base / "cache"))
    return out


@pytest.fixture
def export_copy(made_export, tmp_path):
    out = tmp_path / "export"
    shutil.copytree(made_export, out)
    return out


def _validate_export(path, capsys) -> tuple[int, str]:
    code = main(["validate", "export", str(path)])
    return code, capsys.readouterr().out


def _flip_byte(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("fault, expect", [
    ("flipped_byte", "sha256 differs"),
    ("truncated_shard", "size"),
    ("missing_shard", "is missing"),
    ("manifest_garbage", "not a valid export manifest"),
    ("manifest_missing", "no export manifest"),
    ("manifest_escape", "climbs out of its root"),
    ("stray_parquet", "not listed"),
    ("card_missing", "README.md: missing"),
])
def test_validate_export_reports_each_fault(export_copy, capsys, fault, expect):
    assert _validate_export(export_copy, capsys)[0] == 0
    shard = export_copy / read_manifest(export_copy).shard_paths()[0]
    marker = export_copy / EXPORT_MARKER
    if fault == "flipped_byte":
        _flip_byte(shard, shard.stat().st_size // 2)
    elif fault == "truncated_shard":
        shard.write_bytes(shard.read_bytes()[:-100])
    elif fault == "missing_shard":
        shard.unlink()
    elif fault == "manifest_garbage":
        marker.write_text("{ not json", encoding="utf-8")
    elif fault == "manifest_missing":
        marker.unlink()
    elif fault == "manifest_escape":
        raw = json.loads(marker.read_text("utf-8"))
        first = next(iter(next(iter(raw["configs"].values())).values()))
        first["shards"][0]["path"] = "../../elsewhere.parquet"
        marker.write_text(json.dumps(raw), encoding="utf-8")
    elif fault == "stray_parquet":
        shutil.copy(shard, shard.with_name("extra-00000.parquet"))
    else:
        (export_copy / "README.md").unlink()
    code, out = _validate_export(export_copy, capsys)
    assert code == 1 and expect in out, out


def test_overwrite_never_deletes_outside_the_output_dir(export_copy, tmp_path):
    """A manifest naming `../victim` must not make `--overwrite` delete that file."""
    victim = tmp_path / "victim.parquet"
    victim.write_bytes(b"precious")
    raw = json.loads((export_copy / EXPORT_MARKER).read_text("utf-8"))
    first = next(iter(next(iter(raw["configs"].values())).values()))
    first["shards"][0]["path"] = "../victim.parquet"
    (export_copy / EXPORT_MARKER).write_text(json.dumps(raw), encoding="utf-8")
    (tmp_path / "src").mkdir()
    with pytest.raises(UnsafePathError):
        export("dinos", ["vf2"], data_dir=tmp_path / "src", out=export_copy, overwrite=True)
    assert victim.read_bytes() == b"precious"


def test_overwrite_refuses_a_data_symlink_leaving_the_output_dir(export_copy, tmp_path):
    outside = tmp_path / "outside"
    (outside / "vf2").mkdir(parents=True)
    partial = outside / "vf2" / ".dinos-partial-keep.parquet"
    partial.write_bytes(b"not ours")
    shutil.rmtree(export_copy / "data")
    (export_copy / "data").symlink_to(outside, target_is_directory=True)
    (export_copy / EXPORT_MARKER).unlink()
    (tmp_path / "src").mkdir()
    with pytest.raises(UnsafePathError, match="symlink"):
        export("dinos", ["vf2"], data_dir=tmp_path / "src", out=export_copy, overwrite=True)
    assert partial.read_bytes() == b"not ours"


# ------------------------------------------------------------------------- dinos export --skip-invalid
def test_export_cli_skip_invalid_lists_every_skipped_file(tmp_path, capsys):
    tree = make_dinos_tree(tmp_path / "tree", datasets=("VF2",), per_class=1)
    folder = tree / "DINOS_Downstreams_train" / "VF2" / "1-on"
    bad = {
        "zz_empty.wav": "zero-length",
        "zz_ogg.wav": "expected WAV audio, found OGG",
        "zz_rate.wav": "sample rate 16000 Hz, corpus documents 48000 Hz",
    }
    (folder / "zz_empty.wav").write_bytes(b"")
    sf.write(str(folder / "zz_ogg.wav"), np.zeros(4800, dtype=np.float32), 48000, format="OGG", subtype="VORBIS")
    write_tone(folder / "zz_rate.wav", seconds=0.1, sr=16000)
    cache = str(tmp_path / "cache")
    args = ["export", "dinos", "vf2", "--data-dir", str(tree), "--cache-dir", cache, "--quiet"]

    assert main([*args, "--out", str(tmp_path / "strict")]) == 1  # opt-in only
    err = capsys.readouterr().err
    assert "zz_" in err and not (tmp_path / "strict" / EXPORT_MARKER).exists()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):  # a second run lists the same skips once, not twice
            assert main([*args, "--out", str(tmp_path / "out"), "--skip-invalid", "--overwrite"]) == 0
            err = capsys.readouterr().err
    assert "skipped 3 invalid file(s)" in err
    for name, reason in bad.items():
        assert f"{name}: {reason}" in err
    assert err.count("zz_") == 3  # each skip printed once, the previous run's not repeated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = export("dinos", ["vf2"], data_dir=tree, out=tmp_path / "lib", cache_dir=cache, skip_invalid=True)
    assert sorted(e["path"].rsplit("/", 1)[1] for e in lib.skipped["vf2"]) == sorted(bad)
    assert all(reason in next(e["reason"] for e in lib.skipped["vf2"] if e["path"].endswith(name))
               for name, reason in bad.items())
    manifest = read_manifest(tmp_path / "out")
    assert manifest.options.get("skip_invalid") is True
    assert manifest.configs["vf2"]["train"].num_rows == 3  # the three good clips, none of the bad ones
    assert validate_export(tmp_path / "out") == []


def test_ogg_in_wav_names_file_in_a_build(tmp_path, cache_dir):
    import dinos

    tree = make_dinos_tree(tmp_path / "tree", datasets=("VF2",), per_class=1)
    bad = tree / "DINOS_Downstreams_test" / "VF2" / "2-off" / "zz_vorbis.wav"
    sf.write(str(bad), np.zeros(4800, dtype=np.float32), 48000, format="OGG", subtype="VORBIS")
    with pytest.raises(Exception) as err:
        dinos.load_dataset("dinos", "vf2", data_dir=tree, cache_dir=cache_dir)
    chain = " ".join(str(e) for e in (err.value, err.value.__cause__, err.value.__context__) if e is not None)
    assert "zz_vorbis.wav" in chain and "found OGG" in chain


# ------------------------------------------------------------------------------------ Hub token secrecy
class _LeakyFakeApi:
    """Fails like a Hub client that echoes the request (with the Authorization header) in its error."""

    def __init__(self, *args, **kwargs):
        pass

    def create_repo(self, repo_id, token=None, **kw):
        logging.getLogger("dinos.test.fake_hub").debug("create_repo %s", repo_id)
        raise RuntimeError(f"401 Unauthorized: headers={{'authorization': 'Bearer {token}'}}")


def test_token_never_in_logs_errors_or_output(made_export, monkeypatch, caplog, capsys):
    import huggingface_hub

    from dinos.hub import HubToken, push_export, resolve_token

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(huggingface_hub, "HfApi", _LeakyFakeApi)
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["push", str(made_export), "--repo-id", "org/dinos"])
        dry = main(["push", str(made_export), "--repo-id", "org/dinos", "--dry-run"])
        try:
            push_export(made_export, "org/dinos", token=TOKEN)
        except Exception as exc:  # noqa: BLE001 - inspected below
            err = exc
    out = capsys.readouterr()
    assert code == 1 and dry == 0 and "push to org/dinos failed" in out.err
    shown = [out.out, out.err, caplog.text, *(str(w.message) for w in caught),
             str(err), repr(err), *(str(a) for a in err.args), repr(resolve_token()), str(HubToken(TOKEN))]
    assert all(TOKEN not in s for s in shown)
    assert err.__cause__ is None and err.__suppress_context__  # no traceback chain carrying the header
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(HubToken(TOKEN))
