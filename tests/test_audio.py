"""Audio probing, windowed reads, channel choice, resampling and every bad-input case."""

import io

import numpy as np
import pytest
import soundfile as sf

from dinos.audio import AudioDecoder, check_info, encode_wav, probe, read_window
from dinos.errors import AudioError

from .conftest import REAL_SAMPLES, write_tone


def test_probe_reads_a_real_dcase_clip():
    wav = next((REAL_SAMPLES / "dcase2023t2_via_soundata").rglob("*.wav"))
    info = probe(wav)
    assert (info.sample_rate, info.channels, info.frames, info.subtype) == (16000, 1, 160000, "PCM_16")
    arr, sr = read_window(wav, 16000, 8000)
    full, _ = read_window(wav)
    assert sr == 16000 and arr.dtype == np.float32 and arr.shape == (8000,)
    np.testing.assert_array_equal(arr, full[16000:24000])


def test_window_past_the_end_is_zero_padded(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    arr, _ = read_window(p, 6000, 4000)
    assert arr.shape == (4000,) and np.all(arr[2000:] == 0) and np.any(arr[:2000] != 0)


def test_window_starting_past_the_end_is_an_error(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    with pytest.raises(AudioError, match="window starts"):
        read_window(p, 9000, 10)


def test_channels_are_never_downmixed(tmp_path):
    p = write_tone(tmp_path / "st.wav", seconds=0.5, sr=16000, channels=2)
    both, _ = read_window(p)
    ch0, _ = read_window(p, channel=0)
    ch1, _ = read_window(p, channel=1)
    assert both.shape == (2, 8000)
    np.testing.assert_array_equal(both[0], ch0)
    np.testing.assert_array_equal(both[1], ch1)
    assert not np.allclose(ch0, ch1)
    with pytest.raises(AudioError, match="channel 2 requested"):
        read_window(p, channel=2)


def test_resampling_only_on_request(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=16000)
    same, sr = read_window(p)
    up, sr2 = read_window(p, sampling_rate=48000)
    assert (sr, same.shape) == (16000, (16000,))
    assert (sr2, up.shape, up.dtype) == (48000, (48000,), np.float32)


def test_decoder_handles_paths_windows_and_bytes(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    whole, _ = read_window(p)
    dec = AudioDecoder()
    batch = {"audio": [{"bytes": None, "path": str(p)}, {"bytes": encode_wav(whole[:100], 8000), "path": "x.wav"}],
             "start_frame": [4000, 0], "num_frames": [1000, 100]}
    out = dec(batch)
    np.testing.assert_array_equal(out["audio"][0]["array"], whole[4000:5000])
    np.testing.assert_allclose(out["audio"][1]["array"], whole[:100], atol=1 / 32768)
    assert out["audio"][0]["sampling_rate"] == 8000 and out["audio"][0]["path"] == str(p)


def test_decoder_is_picklable():
    import pickle

    dec = pickle.loads(pickle.dumps(AudioDecoder(channel=0, sampling_rate=16000)))
    assert (dec.channel, dec.sampling_rate) == (0, 16000)


# -- bad input ------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="does not exist") as err:
        probe(tmp_path / "nope.wav")
    assert "nope.wav" in str(err.value)


def test_zero_length_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match="zero-length") as err:
        probe(p)
    assert "empty.wav" in str(err.value)


def test_not_audio(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("these are my notes, not audio\n" * 20)
    with pytest.raises(AudioError, match="not a readable audio file") as err:
        probe(p)
    assert "notes.wav" in str(err.value)


def test_truncated_header(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=0.1, sr=8000)
    p.write_bytes(p.read_bytes()[:30])
    with pytest.raises(AudioError, match="truncated"):
        probe(p)


def test_truncated_data(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    p.write_bytes(p.read_bytes()[:-4000])
    with pytest.raises(AudioError, match="truncated WAV data") as err:
        probe(p)
    assert "a.wav" in str(err.value)


def test_flac_where_wav_expected(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(str(p), np.zeros(800, dtype=np.float32), 8000, format="FLAC")
    with pytest.raises(AudioError, match="expected WAV audio, found FLAC"):
        probe(p)


def test_nan_samples_in_float_wav(tmp_path):
    p = tmp_path / "nan.wav"
    x = np.zeros(800, dtype=np.float32)
    x[10] = np.nan
    sf.write(str(p), x, 8000, subtype="FLOAT")
    probe(p)  # header is fine
    with pytest.raises(AudioError, match="NaN or infinite") as err:
        read_window(p)
    assert "nan.wav" in str(err.value)


def test_rate_and_channel_mismatch(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=0.1, sr=16000, channels=2)
    info = probe(p)
    with pytest.raises(AudioError, match="sample rate 16000 Hz, corpus documents 48000 Hz"):
        check_info(info, p, sample_rate=48000)
    with pytest.raises(AudioError, match="2 channel"):
        check_info(info, p, channels=1)


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE", "PCM_24", "PCM_16"])
@pytest.mark.parametrize("channels", [1, 2])
def test_encode_wav_gives_the_same_bytes_every_time(subtype, channels):
    """libsndfile stamps the current time into the PEAK chunk of FLOAT/DOUBLE files: zeroed, so the bytes
    depend on the samples only (an export's shards and sha256 are reproducible); the samples and the
    recorded peaks read back as written."""
    import struct

    x = np.random.default_rng(3).uniform(-0.9, 0.9, (channels, 700)).astype(np.float32)
    data = encode_wav(x if channels > 1 else x[0], 16000, subtype)
    pos, found = 12, {}
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        found[cid] = data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    if subtype in ("FLOAT", "DOUBLE"):
        version, stamp = struct.unpack("<II", found[b"PEAK"][:8])
        assert (version, stamp) == (1, 0)
        peaks = struct.unpack(f"<{2 * channels}f", found[b"PEAK"][8:])[0::2]
        np.testing.assert_allclose(peaks, np.abs(x).max(axis=1), rtol=1e-6)
    else:
        assert b"PEAK" not in found
    got, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    tol = {"PCM_16": 1 / 32768, "PCM_24": 1 / 2**23}.get(subtype, 0)
    np.testing.assert_allclose(got.T, x, atol=tol)
    assert sr == 16000 and encode_wav(x if channels > 1 else x[0], 16000, subtype) == data
