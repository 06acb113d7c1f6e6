"""MIMII (2019): archive-folder grammar, typed SNR, 8 channels, and the synthetic tree."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf

import dinos
from dinos import schema
from dinos.errors import LayoutError, ParseError
from dinos.loaders import mimii as M
from dinos.synth import mimii as synth
from tests.conftest import write_tone


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("mimii") / "data"
    synth.write(root, scale=0.2, seconds=0.25, machines=("fan", "valve"))
    return root


def test_grammars():
    assert M.parse_archive_folder("-6_dB_fan") == (-6, "fan")
    assert M.format_archive_folder(0, "slider") == "0_dB_slider"
    for bad in ("6_dB_gearbox", "3_dB_fan", "6dB_fan", "fan"):
        with pytest.raises(ParseError):
            M.parse_archive_folder(bad)
    assert M.parse_id_folder("id_06") == 6 and M.parse_file_name("00000123.wav") == 123
    with pytest.raises(ParseError):
        M.parse_file_name("123.wav")
    assert M.config_name("fan", -6) == "fan_-6dB" and M.parse_config_name("fan_-6dB") == M.Selection("fan", -6)
    assert M.parse_config_name("all") == M.Selection(None, None)
    assert set(M.INFO.config_names) >= {"all", "fan", "fan_6dB", "fan_0dB", "fan_-6dB", "valve_-6dB"}
    assert {a.unpack_to for a in M.INFO.archives} == {f"{s}_dB_{m}" for s in M.SNRS_DB for m in M.MACHINES}


def test_config_selects_machine_and_snr_with_typed_fields(tree, tmp_path):
    ds = dinos.load_dataset("mimii", "fan_-6dB", data_dir=tree, cache_dir=str(tmp_path), split="train", channel=0)
    assert len(ds) == 4  # ids 00 and 02, one normal and one abnormal each
    assert set(ds["snr_db"]) == {-6.0} and set(ds["machine"]) == {"fan"} and set(ds["section"]) == {0, 2}
    assert sorted(schema.decoded_column(ds, "label")) == ["anomaly", "anomaly", "normal", "normal"]
    assert set(schema.decoded_column(ds, "origin_split")) == {"unsplit"}
    row = ds[0]
    assert row["channels"] == 8 and row["sample_rate"] == 16_000
    assert row["audio"]["array"].shape == (4000,)  # channel=0: the first microphone
    assert row["provenance"]["folder"] == "-6_dB_fan"
    full = dinos.load_dataset("mimii", "all", data_dir=tree, cache_dir=str(tmp_path), split="train")
    assert full[0]["audio"]["array"].shape == (8, 4000)
    assert len(full) == 2 * 3 * 4 and set(full["snr_db"]) == {6.0, 0.0, -6.0}
    # the three SNR mixes of a recording share one group
    groups = {}
    for g, snr in zip(full["group_id"], full["snr_db"], strict=True):
        groups.setdefault(g, set()).add(snr)
    assert all(v == {6.0, 0.0, -6.0} for v in groups.values())


def test_layout_errors(tmp_path):
    with pytest.raises(LayoutError, match="unzip"):
        M.scan(tmp_path)
    write_tone(tmp_path / "6_dB_fan" / "fan" / "id_00" / "broken" / "00000000.wav", seconds=0.01)
    with pytest.raises(LayoutError, match="label folder"):
        M.scan(tmp_path)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert M.scan(tmp_path, strict=False) == []
    assert w
    (tmp_path / "6_dB_fan" / "fan" / "id_00" / "broken").rename(tmp_path / "6_dB_fan" / "fan" / "id_00" / "normal")
    assert len(M.scan(tmp_path)) == 1  # 16 kHz/8 ch are checked when the file is probed, not here


def test_wrong_channel_count_is_an_audio_error(tmp_path):
    write_tone(tmp_path / "0_dB_pump" / "pump" / "id_00" / "normal" / "00000000.wav", seconds=0.05, sr=16_000)
    with pytest.raises(Exception) as err:  # datasets wraps it in DatasetGenerationError
        dinos.load_dataset("mimii", "pump", data_dir=tmp_path, cache_dir=str(tmp_path / "c"))
    cause = err.value if isinstance(err.value, dinos.AudioError) else err.value.__cause__
    assert isinstance(cause, dinos.AudioError) and "corpus documents 8" in str(cause)


def test_archive_unpacked_one_level_up_is_accepted(tmp_path):
    x = synth.render_recording(0, "pump", 0, "normal", 0, 6, seconds=0.05)
    from dinos.synth._write import write_wav_atomic

    write_wav_atomic(tmp_path / "6_dB_pump" / "id_00" / "normal" / "00000000.wav", x, 16_000)
    (f,) = M.scan(tmp_path)
    assert f.fields.machine == "pump" and f.fields.snr_db == 6.0


def test_synth_is_deterministic_and_snr_dependent(tree, tmp_path):
    other = tmp_path / "again"
    synth.write(other, scale=0.2, seconds=0.25, machines=("fan", "valve"))
    for p in tree.rglob("*.wav"):
        assert p.read_bytes() == (other / p.relative_to(tree)).read_bytes()
    info = sf.info(str(next(tree.rglob("*.wav"))))
    assert (info.samplerate, info.channels) == (16_000, 8)

    def coherence(snr):  # the machine is coherent across the array, the diffuse noise only partly
        x, _ = sf.read(str(tree / f"{snr}_dB_fan/fan/id_00/normal/00000000.wav"))
        return np.mean([np.corrcoef(x[:, 0], x[:, c])[0, 1] for c in range(1, 8)])

    assert coherence(6) > coherence(0) > coherence(-6)
    # same recording at every SNR: the machine part is shared, so the 6 and 0 dB mixes correlate strongly
    a, _ = sf.read(str(tree / "6_dB_fan/fan/id_00/normal/00000000.wav"))
    b, _ = sf.read(str(tree / "0_dB_fan/fan/id_00/normal/00000000.wav"))
    assert np.corrcoef(a[:, 0], b[:, 0])[0, 1] > 0.9


@pytest.mark.slow
def test_export_end_to_end(tree, tmp_path):
    from dinos.export import export, validate_export

    export("mimii", ["fan_6dB"], data_dir=tree, out=tmp_path / "out", cache_dir=str(tmp_path / "c"))
    assert validate_export(tmp_path / "out") == []
    ds = dinos.load_dataset(str(tmp_path / "out"), "fan_6dB", split="train", cache_dir=str(tmp_path / "c2"), channel=0)
    assert len(ds) == 4 and set(ds["snr_db"]) == {6.0} and ds[0]["audio"]["array"].shape == (4000,)
