"""The libsndfile-free PCM_16 reader (`dinos.wav`) against soundfile: which files take the fast path,
bit-identical arrays for every subtype and layout, and the errors of the decoder's cached files."""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dinos import wav
from dinos.audio import AudioDecoder, read_window
from dinos.errors import AudioError

from .conftest import write_tone

_PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")


def _ints(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).integers(-32768, 32768, size=(frames, channels), dtype=np.int16)
    x[:2] = [[-32768] * channels, [32767] * channels]
    return x


def _chunk(cid: bytes, payload: bytes, pad: bool = True) -> bytes:
    return cid + struct.pack("<I", len(payload)) + payload + (b"\0" if pad and len(payload) % 2 else b"")


def _wav_bytes(ints: np.ndarray, rate: int, *, extensible: bool = False, before=(), after=(),
               data_size: int | None = None, valid_bits: int = 16) -> bytes:
    """A PCM_16 WAV written by hand from the RIFF/WAVE layout (chunks before/after `data`)."""
    ch = ints.shape[1]
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else 1, ch, rate, rate * 2 * ch, 2 * ch, 16)
    if extensible:
        fmt += struct.pack("<HHI", 22, valid_bits, 0) + _PCM_GUID
    data = ints.astype("<i2").tobytes()
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + _chunk(b"fmt ", fmt) + b"".join(_chunk(c, p) for c, p in before)
    body += b"data" + struct.pack("<I", size) + data + b"".join(_chunk(c, p) for c, p in after)
    return b"RIFF" + struct.pack("<I", len(body)) + body


@contextlib.contextmanager
def _opened_wav(path, ints: np.ndarray, rate: int = 8000):
    """`ints` written to `path` as a plain PCM_16 WAV, open read-only: `(fd, parsed layout)`, closed after."""
    path.write_bytes(_wav_bytes(ints, rate))
    fd = os.open(path, os.O_RDONLY)
    try:
        yield fd, wav.read_file_header(fd, path.stat().st_size)
    finally:
        os.close(fd)


def _reference(path, start, n, channel):
    """What the soundfile path returns: float32 conversion by libsndfile, zero fill, channel choice."""
    with sf.SoundFile(str(path)) as f:
        f.seek(start)
        data = f.read(-1 if n is None else n, dtype="float32", always_2d=True, fill_value=0.0)
    if channel is None:
        return data[:, 0] if data.shape[1] == 1 else data.T
    return data[:, channel] if isinstance(channel, int) else data[:, list(channel)].T


# -- which files take the fast path ------------------------------------------------------------
FAST = {
    "plain": {},
    "extensible": {"extensible": True},
    "extensible-valid-bits-0": {"extensible": True, "valid_bits": 0},
    "LIST-with-odd-text-before-data": {"before": [(b"LIST", b"INFOISFT\x05\0\0\0dinos\0")]},
    "chunks-after-data": {"after": [(b"LIST", b"INFOabc"), (b"junk", b"\0" * 10)]},
}


@pytest.mark.parametrize("variant", FAST)
@pytest.mark.parametrize("channels", [1, 3])
def test_hand_written_pcm16_layouts_take_the_fast_path_bit_identically(tmp_path, variant, channels):
    ints = _ints(3000, channels)
    p = tmp_path / "x.wav"
    p.write_bytes(_wav_bytes(ints, 16000, **FAST[variant]))
    with open(p, "rb") as fh:
        layout = wav.read_file_header(fh.fileno(), p.stat().st_size)
    assert layout is not None and (layout.samplerate, layout.channels, layout.frames) == (16000, channels, 3000)
    assert wav.read_bytes_header(p.read_bytes()) == layout
    for start, n in [(0, 1000), (1500, 1000), (2500, 1000), (0, None), (2999, 1)]:
        for channel in [None, 0, -1, [channels - 1, 0]]:
            want = _reference(p, start, n, channel)
            np.testing.assert_array_equal(read_window(p, start, n, channel=channel)[0], want)
            np.testing.assert_array_equal(read_window(p.read_bytes(), start, n, channel=channel)[0], want)


SLOW = {
    "unsupported-valid-bits": ({"extensible": True, "valid_bits": 12}, None),
    "data-larger-than-file": ({"data_size": 3000 * 2 + 4000}, None),
    "partial-frame": ({"data_size": 3000 * 2 - 1}, None),
}


@pytest.mark.parametrize("variant", SLOW)
def test_unusual_layouts_are_left_to_soundfile(tmp_path, variant):
    kwargs, _ = SLOW[variant]
    p = tmp_path / "x.wav"
    blob = _wav_bytes(_ints(3000, 1), 16000, **kwargs)
    if variant == "partial-frame":
        blob = blob[:-1]  # the data chunk really holds an odd number of bytes
    p.write_bytes(blob)
    with open(p, "rb") as fh:
        assert wav.read_file_header(fh.fileno(), p.stat().st_size) is None
    with sf.SoundFile(str(p)) as f:
        frames = f.frames
    np.testing.assert_array_equal(read_window(p, 0, frames)[0], _reference(p, 0, frames, None))


SUBTYPES = [("WAV", s) for s in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW")]
SUBTYPES += [("WAVEX", "PCM_16"), ("WAVEX", "PCM_24"), ("WAVEX", "FLOAT"), ("RF64", "PCM_16")]


@pytest.mark.parametrize(("container", "subtype"), SUBTYPES, ids=[f"{c}-{s}" for c, s in SUBTYPES])
@pytest.mark.parametrize("channels", [1, 2])
def test_every_subtype_matches_soundfile_through_read_window_and_the_decoder(tmp_path, container, subtype, channels):
    p = tmp_path / "x.wav"
    x = np.random.default_rng(3).uniform(-1, 1, size=(4000, channels)).astype(np.float32)
    sf.write(str(p), x, 8000, format=container, subtype=subtype)
    with open(p, "rb") as fh:
        fast = wav.read_file_header(fh.fileno(), p.stat().st_size) is not None
    assert fast == (subtype == "PCM_16" and container != "RF64")
    dec = AudioDecoder(channel=0 if channels == 2 else None, normalize=False)
    windows = [(0, 1000), (2000, 1000), (3500, 1000), (3999, 1)]  # start, middle, past the end, last frame
    batch = {"audio": [{"bytes": None, "path": str(p)}] * len(windows),
             "start_frame": [s for s, _ in windows], "num_frames": [n for _, n in windows]}
    decoded = dec(batch)["audio"]
    for (start, n), got in zip(windows, decoded, strict=True):
        for channel in ([None, 1, [1, 0]] if channels == 2 else [None, 0]):
            np.testing.assert_array_equal(read_window(p, start, n, channel=channel)[0],
                                          _reference(p, start, n, channel))
        np.testing.assert_array_equal(got["array"], _reference(p, start, n, dec.channel))
        assert got["array"].dtype == np.float32 and got["sampling_rate"] == 8000


def test_decoder_writes_into_a_preallocated_batch_in_row_order(tmp_path):
    paths = [write_tone(tmp_path / f"r{i}.wav", seconds=1.0, sr=8000, seed=i) for i in range(3)]
    rows = [(paths[2], 4000), (paths[0], 0), (paths[2], 0), (paths[1], 7000)]  # not in file order
    out = np.full((4, 2000), np.nan, dtype=np.float32)
    got = AudioDecoder().decode_rows([{"bytes": None, "path": str(p)} for p, _ in rows], [s for _, s in rows],
                                     [2000] * 4, [None] * 4, [8000] * 4, [1] * 4, out=out)
    for k, (p, s) in enumerate(rows):
        np.testing.assert_array_equal(out[k], _reference(p, s, 2000, None))
        assert got[k]["array"].base is out or got[k]["array"] is out[k] or np.shares_memory(got[k]["array"], out)
    with pytest.raises(AudioError, match="clip of shape") as err:
        AudioDecoder().decode_rows([{"bytes": None, "path": str(paths[0])}], [0], [1000], [None], [None], [None],
                                   out=np.empty((1, 2000), dtype=np.float32))
    assert "r0.wav" in str(err.value)


# -- errors of the cached files -------------------------------------------------------------------
def test_cached_file_rewritten_with_another_rate_is_caught(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    dec = AudioDecoder()
    row = {"audio": [{"bytes": None, "path": str(p)}], "start_frame": [0], "num_frames": [800],
           "sample_rate": [8000], "channels": [1]}
    dec(row)
    write_tone(p, seconds=1.0, sr=16000, channels=2)  # rewritten in place while the decoder holds it open
    with pytest.raises(AudioError, match="changed since the dataset was built.*16000 Hz, 2 channel") as err:
        dec(row)
    assert "a.wav" in str(err.value)


def test_cached_file_truncated_or_removed_is_an_error_naming_it(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    dec = AudioDecoder()
    row = {"audio": [{"bytes": None, "path": str(p)}], "start_frame": [6000], "num_frames": [800],
           "sample_rate": [8000], "channels": [1]}
    dec(row)
    p.write_bytes(p.read_bytes()[:-8000])  # 4000 frames left: the window now starts past the end
    with pytest.raises(AudioError, match="window starts at frame 6000") as err:
        dec(row)
    assert "a.wav" in str(err.value)
    os.remove(p)
    with pytest.raises(AudioError, match="does not exist") as err:
        dec(row)
    assert "a.wav" in str(err.value)


def test_short_read_after_the_header_was_parsed_is_an_error(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    with open(p, "rb") as fh:
        layout = wav.read_file_header(fh.fileno(), p.stat().st_size)
    os.truncate(p, layout.data_offset + 100)
    with open(p, "rb") as fh, pytest.raises(OSError, match="shorter than its header"):
        wav.read_int16(fh.fileno(), layout, 0, 1000, np.empty(1000, dtype=np.int16))


def test_header_cache_does_not_survive_pickling_or_a_new_thread(tmp_path):
    import pickle
    import threading

    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    dec = AudioDecoder()
    dec.decode_one({"bytes": None, "path": str(p)}, 0, 100)
    assert list(dec._local.files) == [str(p)] and not dec._local.files[str(p)].closed
    clone = pickle.loads(pickle.dumps(dec))
    assert not hasattr(clone._local, "files")
    seen = []
    t = threading.Thread(target=lambda: seen.append(hasattr(dec._local, "files")))
    t.start()
    t.join()
    assert seen == [False]


# -- the one-pass batch path (`AudioDecoder._plain_windows`, `wav.decode_window_into`) ------------
def _count_fast_reads(monkeypatch) -> list:
    """Every window read through `wav.decode_window_into` from the decoder appends one entry."""
    import dinos.decoder

    calls, real, real_run = [], wav.decode_window_into, wav.decode_run_into

    def spy(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    def spy_run(fd, layout, start, out, *args, **kwargs):  # a run of consecutive windows: one entry each
        calls.extend(start + k * out.shape[1] for k in range(out.shape[0]))
        return real_run(fd, layout, start, out, *args, **kwargs)

    monkeypatch.setattr(dinos.decoder.wav, "decode_window_into", spy)
    monkeypatch.setattr(dinos.decoder.wav, "decode_run_into", spy_run)
    return calls


def _rows(paths_starts, n):
    return {"audio": [{"bytes": None, "path": str(p)} for p, _ in paths_starts],
            "start_frame": [s for _, s in paths_starts], "num_frames": [n] * len(paths_starts)}


@pytest.mark.parametrize("channel", [None, 0, 1, -1])
def test_batch_of_plain_windows_is_decoded_in_one_pass_and_matches_soundfile(tmp_path, monkeypatch, channel):
    channels = 1 if channel in (None, 0) else 2
    paths = [write_tone(tmp_path / f"r{i}.wav", seconds=1.0, sr=8000, channels=channels, seed=i) for i in range(3)]
    rows = [(paths[2], 4000), (paths[0], 0), (paths[2], 7500), (paths[1], 7000), (paths[0], 1000)]  # tails padded
    calls = _count_fast_reads(monkeypatch)
    dec = AudioDecoder(channel=channel, normalize=False)
    got = dec(_rows(rows, 2000))["audio"]
    assert len(calls) == len(rows)  # every row through the one-pass path
    for (p, s), g in zip(rows, got, strict=True):
        np.testing.assert_array_equal(g["array"], _reference(p, s, 2000, channel))
        assert g["array"].dtype == np.float32 and g["array"].shape == (2000,) and g["sampling_rate"] == 8000
        assert g["path"] == str(p)
    out = np.full((len(rows), 2000), np.nan, dtype=np.float32)  # the preallocated batch of ClipBatches
    dec.decode_rows(_rows(rows, 2000)["audio"], [s for _, s in rows], [2000] * len(rows), [None] * len(rows),
                    [8000] * len(rows), [channels] * len(rows), out=out)
    for k, (p, s) in enumerate(rows):
        np.testing.assert_array_equal(out[k], _reference(p, s, 2000, channel))


def test_batches_the_one_pass_path_declines_use_the_general_loop(tmp_path, monkeypatch):
    pcm16 = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    pcm24 = write_tone(tmp_path / "b.wav", seconds=1.0, sr=8000, subtype="PCM_24")
    stereo = write_tone(tmp_path / "c.wav", seconds=1.0, sr=8000, channels=2)
    calls = _count_fast_reads(monkeypatch)
    cases = [
        (AudioDecoder(normalize=False), [(pcm16, 0), (pcm24, 100)], 1000),  # a file soundfile reads
        (AudioDecoder(normalize=False), [(stereo, 0), (stereo, 100)], 1000),  # both channels wanted
        (AudioDecoder(normalize=False, sampling_rate=16000), [(pcm16, 0), (pcm16, 4000)], 1000),  # resampled
    ]
    for dec, rows, n in cases:
        got = dec(_rows(rows, n))["audio"]
        for (p, s), g in zip(rows, got, strict=True):
            if dec.sampling_rate is None:
                np.testing.assert_array_equal(g["array"], _reference(p, s, n, None))
            else:
                assert g["sampling_rate"] == 16000 and g["array"].shape == (2 * n,)
    assert calls == []
    batch = _rows([(pcm16, 0), (pcm16, 100)], 1000)
    batch["num_frames"] = [1000, 500]  # windows of two lengths
    got = AudioDecoder(normalize=False)(batch)["audio"]
    assert calls == [] and [g["array"].shape for g in got] == [(1000,), (500,)]
    np.testing.assert_array_equal(got[1]["array"], _reference(pcm16, 100, 500, None))
    norm = _rows([(pcm16, 0), (pcm16, 100)], 1000)
    norm["stats"] = [{"mode": "zscore", "mean": 0.5, "std": 2.0, "rms": 1.0}] * 2  # normalised rows
    got = AudioDecoder()(norm)["audio"]
    assert calls == []
    np.testing.assert_allclose(got[0]["array"], (_reference(pcm16, 0, 1000, None) - 0.5) / 2.0, rtol=1e-6)


def test_one_pass_path_checks_each_row_against_its_file(tmp_path):
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    q = write_tone(tmp_path / "b.wav", seconds=1.0, sr=8000)
    batch = _rows([(q, 0), (p, 0), (p, 4000)], 1000)
    batch["sample_rate"], batch["channels"] = [8000, 8000, 16000], [1, 1, 1]
    with pytest.raises(AudioError, match="the row says 16000 Hz, 1 channel.*the file is 8000 Hz") as err:
        AudioDecoder()(batch)
    assert "a.wav" in str(err.value)
    with pytest.raises(AudioError, match="window starts at frame 9000, the file has 8000 frames") as err:
        AudioDecoder()(_rows([(q, 0), (p, 9000)], 1000))
    assert "a.wav" in str(err.value)
    with pytest.raises(AudioError, match="window ends at frame 8500, the file has 8000 frames") as err:
        AudioDecoder(pad_tail=False)(_rows([(p, 0), (p, 7500)], 1000))
    assert "a.wav" in str(err.value)
    dec = AudioDecoder()
    dec(_rows([(p, 0), (p, 100)], 1000))  # header parsed and kept; then the data shrinks under the open fd
    size = p.stat().st_size
    with open(p, "r+b") as fh:
        os.ftruncate(fh.fileno(), size - 2 * 6000)
    with pytest.raises(AudioError, match="window starts at frame 7000|file changed") as err:
        dec(_rows([(p, 0), (p, 7000)], 1000))
    assert "a.wav" in str(err.value)


def test_decode_window_into_pads_grows_its_scratch_and_reports_a_short_read(tmp_path):
    ints = _ints(3000, 2, seed=5)
    p = tmp_path / "s.wav"
    with _opened_wav(p, ints) as (fd, layout):
        small = np.empty(10, dtype=np.int16)
        out = np.full(1000, np.nan, dtype=np.float32)
        grown = wav.decode_window_into(fd, layout, 2500, out, small, channel=-1)
        assert grown is not small and grown.size >= 2 * 500
        np.testing.assert_array_equal(out[:500], ints[2500:, 1].astype(np.float32) / 32768)
        assert not out[500:].any()
        assert wav.decode_window_into(fd, layout, 0, out[:400], grown, channel=0) is grown  # fits: kept
        np.testing.assert_array_equal(out[:400], ints[:400, 0].astype(np.float32) / 32768)
        os.truncate(p, layout.data_offset + 100)
        with pytest.raises(OSError, match="shorter than its header"):
            wav.decode_window_into(fd, layout, 0, out, grown)


def test_batch_blocks_are_reused_only_once_no_array_of_theirs_is_alive(tmp_path):
    paths = [write_tone(tmp_path / f"r{i}.wav", seconds=1.0, sr=8000, seed=i) for i in range(2)]
    dec = AudioDecoder(normalize=False)
    first = _rows([(paths[0], 0), (paths[1], 0)], 1000)
    second = _rows([(paths[0], 4000), (paths[1], 4000)], 1000)
    kept = dec(first)["audio"][1]["array"][10:20]  # a view of a view: still holds the block
    want_kept = _reference(paths[1], 0, 1000, None)[10:20]
    for _ in range(6):  # more batches than the decoder keeps blocks for
        held = dec(second)["audio"]
        again = dec(second)["audio"]  # decoded while `held` is alive: must not share its memory
        assert not np.shares_memory(held[0]["array"], again[0]["array"])
        for g, (p, s) in zip(again, [(paths[0], 4000), (paths[1], 4000)], strict=True):
            np.testing.assert_array_equal(g["array"], _reference(p, s, 1000, None))
    np.testing.assert_array_equal(kept, want_kept)  # never overwritten by a later batch
    del held, again
    kept_blocks = {b.__array_interface__["data"][0] for b in dec._local.blocks}  # alive: no new one can be there
    assert dec(second)["audio"][0]["array"].__array_interface__["data"][0] in kept_blocks  # unreferenced: reused


def test_large_batch_blocks_are_not_kept(tmp_path, monkeypatch):
    import dinos.decoder

    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    monkeypatch.setattr(dinos.decoder, "_KEPT_BLOCK_BYTES", 2 * 1000 * 4 - 1)  # just below one 2x1000 block
    dec = AudioDecoder(normalize=False)
    dec(_rows([(p, 0), (p, 100)], 1000))
    assert dec._local.blocks == []
    monkeypatch.setattr(dinos.decoder, "_KEPT_BLOCK_BYTES", 2 * 1000 * 4)
    got = dec(_rows([(p, 0), (p, 100)], 1000))["audio"]
    assert [b.shape for b in dec._local.blocks] == [(2, 1000)] and got[0]["array"].base is dec._local.blocks[0]


# -- consecutive windows read as runs (`decoder._runs`, `wav.decode_run_into`) --------------------
@pytest.mark.parametrize("channel", [None, 1])
def test_consecutive_windows_are_read_as_runs_and_match_soundfile(tmp_path, monkeypatch, channel):
    import dinos.decoder

    channels = 1 if channel is None else 3
    paths = [write_tone(tmp_path / f"r{i}.wav", seconds=2.55, sr=8000, channels=channels, seed=i) for i in range(2)]
    n = 500  # 40 full windows per file, then a padded tail (20,400 frames)
    monkeypatch.setattr(dinos.decoder, "RUN_BYTES", 16 * n * 2 * channels + 1)  # runs of 16 windows at most
    starts = list(range(0, 20400, n))
    rows = [(p, s) for p in paths for s in starts]
    runs = []
    real_run = wav.decode_run_into

    def spy_run(fd, layout, start, out, *args, **kwargs):
        runs.append((start, out.shape[0]))
        return real_run(fd, layout, start, out, *args, **kwargs)

    monkeypatch.setattr(dinos.decoder.wav, "decode_run_into", spy_run)
    dec = AudioDecoder(channel=channel, normalize=False)
    for order in (rows, rows[::-1], rows[1::2] + rows[::2]):  # dataset order, reversed, interleaved
        runs.clear()
        got = dec(_rows(order, n))["audio"]
        for (p, s), g in zip(order, got, strict=True):
            np.testing.assert_array_equal(g["array"], _reference(p, s, n, channel))
        if order is rows:  # 40 full windows per file: runs of at most 16, never the padded tail
            assert runs == [(0, 16), (16 * n, 16), (32 * n, 8)] * 2
        else:  # batch rows not consecutive (reversed) or windows not adjacent (every other one): no runs
            assert runs == []


def test_runs_are_split_where_rows_or_windows_stop_following_each_other():
    from dinos.decoder import _runs

    n = 100
    starts = [0, 100, 200, 400, 500, 600, 0, 100]
    # rows 0-2 follow each other; row 3 jumps (a gap); rows 6-7 restart the file (not after row 5)
    assert list(_runs([0, 1, 2, 3, 4, 5, 6, 7], starts, n, 10_000, 99)) == [(0, 3), (3, 3), (6, 2)]
    assert list(_runs([0, 2, 1], starts, n, 10_000, 99)) == [(0, 1), (2, 1), (1, 1)]  # rows not consecutive
    assert list(_runs([0, 1, 2], starts, n, 250, 99)) == [(0, 2), (2, 1)]  # the last window passes the end
    long = list(range(9))
    assert list(_runs(long, [k * n for k in long], n, 10**9, 4)) == [(0, 4), (4, 4), (8, 1)]  # at most `limit`
    assert list(_runs(long[:3], [k * n for k in long], n, 10**9, 0)) == [(0, 1), (1, 1), (2, 1)]
    assert list(_runs([], starts, n, 10, 99)) == []


def test_a_run_never_reads_more_than_run_bytes(tmp_path, monkeypatch):
    """Windows larger than `RUN_BYTES` (all channels) are read one by one: the thread's int16 scratch
    stays one window, not a run of them (8 channels x 1 s at 48 kHz = 768 kB per window)."""
    import dinos.decoder

    p = write_tone(tmp_path / "m.wav", seconds=4.0, sr=48000, channels=8)
    monkeypatch.setattr(dinos.decoder, "RUN_BYTES", 1 << 20)
    reads = []
    real = wav._read_scaled

    def spy(fd, offset, out, scratch, ch, channel, *args):
        reads.append(out.size * ch * 2)
        return real(fd, offset, out, scratch, ch, channel, *args)

    monkeypatch.setattr(wav, "_read_scaled", spy)
    dec = AudioDecoder(channel=0, normalize=False)
    got = dec(_rows([(p, s) for s in range(0, 4 * 48000, 48000)], 48000))["audio"]
    assert reads == [768_000] * 4 and dec._local.scratch[0].nbytes < 2 * 768_000
    for k, g in enumerate(got):
        np.testing.assert_array_equal(g["array"], _reference(p, k * 48000, 48000, 0))


def test_decode_run_into_checks_its_bounds_and_reports_a_short_read(tmp_path):
    ints = _ints(4000, 2, seed=7)
    p = tmp_path / "r.wav"
    with _opened_wav(p, ints) as (fd, layout):
        out = np.full((3, 1000), np.nan, dtype=np.float32)
        scratch = wav.decode_run_into(fd, layout, 1000, out, np.empty(4, dtype=np.int16), channel=-1)
        assert scratch.size >= 3 * 1000 * 2
        np.testing.assert_array_equal(out, ints[1000:4000, 1].reshape(3, 1000).astype(np.float32) / 32768)
        with pytest.raises(ValueError, match="inside the file"):
            wav.decode_run_into(fd, layout, 1001, out, scratch)
        os.truncate(p, layout.data_offset + 4 * 2500)
        with pytest.raises(OSError, match="shorter than its header"):
            wav.decode_run_into(fd, layout, 1000, out, scratch)


@pytest.mark.parametrize("native", [True, False], ids=["native-if-built", "numpy-fallback"])
def test_a_file_shortened_under_a_run_is_an_audio_error_naming_it(tmp_path, monkeypatch, native):
    """The file shrinks between the decoder's check and its read (the check's `stat` still sees the old
    file): the run's short read is an AudioError naming the file, and no array is returned."""
    if not native:
        _without_native(monkeypatch)
    p = write_tone(tmp_path / "a.wav", seconds=1.0, sr=8000)
    dec = AudioDecoder(normalize=False)
    rows = [(p, s) for s in range(0, 8000, 1000)]
    dec(_rows(rows, 1000))  # the header is parsed and the file kept open
    before, real_stat = os.stat(p), os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: before if str(path) == str(p) else real_stat(path, *a, **k))
    with open(p, "r+b") as fh:
        os.ftruncate(fh.fileno(), before.st_size - 2 * 3000)
    with pytest.raises(AudioError, match="file changed while being read .read 10000 of 16000 bytes") as err:
        dec(_rows(rows, 1000))
    assert "a.wav" in str(err.value)


# -- the native int16 -> float32 loop (`dinos._pcm16`) and its numpy fallback ---------------------
def _numpy_scaled(x: np.ndarray) -> np.ndarray:
    return np.multiply(x, np.float32(2**-15), dtype=np.float32)


NOT_NATIVE = "dinos._pcm16 not in use (not built: no C compiler at install; or DINOS_NO_NATIVE set)"


def _without_native(m) -> None:
    m.setattr(wav, "_native_scale", None)
    m.setattr(wav, "_native_read", None)


@pytest.mark.skipif(not wav.NATIVE, reason=NOT_NATIVE)
def test_native_loop_gives_numpy_bits_for_every_int16_and_stride():
    from dinos._pcm16 import scale_into

    every = np.arange(-32768, 32768, dtype=np.int16)
    out = np.full(every.size, np.nan, dtype=np.float32)
    scale_into(every, out)
    assert out.view(np.uint32).tolist() == _numpy_scaled(every).view(np.uint32).tolist()
    inter = _ints(999, 4, seed=3).reshape(-1)
    for stride in (1, 2, 3, 4):
        for offset in range(stride):
            want = _numpy_scaled(inter[offset::stride])
            got = np.full(want.size, np.nan, dtype=np.float32)
            scale_into(inter, got, stride, offset)
            np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    block = np.empty((2, 3), dtype=np.float32)  # any C-contiguous shape, taken flat
    scale_into(np.arange(6, dtype=np.int16), block)
    np.testing.assert_array_equal(block, np.arange(6, dtype=np.float32).reshape(2, 3) / 32768)
    with pytest.raises(IndexError, match="src holds 6 items"):
        scale_into(np.arange(6, dtype=np.int16), np.empty(4, dtype=np.float32), 2, 0)
    for stride, offset in ((2**62, 0), (1, 2**63 - 1), (2**31, 2**40)):  # bounds that overflow a naive check
        with pytest.raises(IndexError, match="src holds 8 items"):
            scale_into(np.arange(8, dtype=np.int16), np.empty(3, dtype=np.float32), stride, offset)
    with pytest.raises(TypeError, match="int16"):
        scale_into(np.arange(6, dtype=np.int32), np.empty(6, dtype=np.float32))
    with pytest.raises(TypeError, match="float32"):
        scale_into(np.arange(6, dtype=np.int16), np.empty(6, dtype=np.float64))
    with pytest.raises(ValueError):
        scale_into(np.arange(6, dtype=np.int16), np.empty(6, dtype=np.float32), 0)


@pytest.mark.parametrize("native", [True, False], ids=["native-if-built", "numpy-fallback"])
def test_scale_into_gives_the_same_bits_for_any_layout(monkeypatch, native):
    if not native:
        _without_native(monkeypatch)
    x = _ints(1001, 2, seed=11)
    cases = [(x, np.empty((1001, 2), np.float32)),  # contiguous
             (x[:, 1], np.empty(1001, np.float32)),  # a strided column
             (x.T, np.empty((2, 1001), np.float32)),  # transposed
             (x.astype(">i2"), np.empty((1001, 2), np.float32)),  # big-endian samples
             (x, np.empty((2, 1001), np.float32).T)]  # a non-contiguous output
    for raw, out in cases:
        wav.scale_into(raw, out)
        np.testing.assert_array_equal(out, _numpy_scaled(raw.astype(np.int16)))
    ro = np.empty((1001, 2), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        wav.scale_into(x, ro)


def test_decoding_without_the_native_loop_gives_the_same_arrays(tmp_path, monkeypatch):
    paths = [write_tone(tmp_path / f"r{i}.wav", seconds=1.3, sr=8000, channels=2, seed=i) for i in range(2)]
    rows = [(p, s) for p in paths for s in range(0, 10400, 1000)]
    for channel in (0, 1):
        native = AudioDecoder(channel=channel, normalize=False)(_rows(rows, 1000))["audio"]
        with monkeypatch.context() as m:
            _without_native(m)
            fallback = AudioDecoder(channel=channel, normalize=False)(_rows(rows, 1000))["audio"]
            one = read_window(str(paths[1]), 2000, 1000, channel=channel)[0]
        for a, b, (p, s) in zip(native, fallback, rows, strict=True):
            np.testing.assert_array_equal(a["array"], b["array"])
            np.testing.assert_array_equal(a["array"], _reference(p, s, 1000, channel))
        np.testing.assert_array_equal(one, _reference(paths[1], 2000, 1000, channel))


@pytest.mark.skipif(not wav.NATIVE, reason=NOT_NATIVE)
def test_native_read_scaled_reads_scales_and_reports_short_reads(tmp_path):
    from dinos._pcm16 import read_scaled

    ints = _ints(3000, 3, seed=13)
    p = tmp_path / "r.wav"
    with _opened_wav(p, ints) as (fd, layout):
        scratch = np.empty(3000 * 3, dtype=np.int16)
        for channel in range(3):
            out = np.full(1000, np.nan, dtype=np.float32)
            off = layout.data_offset + 500 * 6
            assert read_scaled(fd, off, scratch, out, 3, channel) == 6000
            np.testing.assert_array_equal(out.view(np.uint32), _numpy_scaled(ints[500:1500, channel]).view(np.uint32))
        out = np.full(1000, np.nan, dtype=np.float32)
        assert read_scaled(fd, layout.data_offset + 2500 * 6, scratch, out, 3, 0) == 3000  # past the end: short
        assert np.isnan(out).all()  # left unwritten; the caller raises
        with pytest.raises(IndexError, match="scratch holds 10 items"):
            read_scaled(fd, 0, scratch[:10], out, 1, 0)
        with pytest.raises(ValueError):
            read_scaled(fd, 0, scratch, out, 3, 3)
        with pytest.raises(ValueError):
            read_scaled(fd, -2, scratch, out, 1, 0)
        with pytest.raises(IndexError, match="scratch holds"):  # n * channels overflows: refused, never read
            read_scaled(fd, 0, scratch, out, 2**62, 0)
        with pytest.raises(ValueError, match="overflow"):
            read_scaled(fd, 2**63 - 10, scratch, out, 1, 0)
    with pytest.raises(OSError) as err:  # a closed descriptor: the read's own error
        read_scaled(fd, 0, scratch, out, 1, 0)
    assert err.value.errno == 9


#: the loops `dinos._pcm16` may convert one channel with: "c" only in a build without SSE2, "avx2"
#: where the build and CPU have it
MONO_LOOPS = ["c", "sse2", "avx2"]


@pytest.fixture
def mono_kernel(request):
    """The loop named by the test's (indirect) parameter switched on for the test, then back to the
    one the module picked; the test must have converted with it (`kernel_calls`). None: as picked."""
    if wav._native_read is None:
        pytest.skip(NOT_NATIVE)
    from dinos import _pcm16

    if request.param is None:
        yield _pcm16.kernel()
        return
    if request.param not in wav.mono_loops():
        pytest.skip(f"no {request.param} loop in this build or on this CPU (it has {wav.mono_loops()})")
    before = _pcm16.kernel_calls()[request.param]
    with wav.mono_loop(request.param):
        assert _pcm16.kernel() == request.param
        yield request.param
    assert _pcm16.kernel_calls()[request.param] > before, f"the {request.param} loop never ran"


def test_the_module_picks_avx2_where_the_cpu_has_it():
    """The AVX2 loop is picked at load wherever it is built and the CPU has it, and it is built on
    64-bit x86 Linux (GCC or clang, what `.ci/run` builds with): a build that lost it fails here."""
    if wav._native_read is None:
        pytest.skip(NOT_NATIVE)
    import platform
    import sys

    from dinos import _pcm16

    assert _pcm16.kernel() == _pcm16.LOOPS[-1] and _pcm16.LOOPS[0] in ("sse2", "c")
    # a switch returns the loop in use before it, so that switching back is one call
    assert _pcm16.kernel(_pcm16.kernel(_pcm16.LOOPS[0])) == _pcm16.LOOPS[0]
    assert _pcm16.kernel() == _pcm16.LOOPS[-1]
    with pytest.raises(ValueError, match="unknown loop"):
        _pcm16.kernel("neon")
    assert _pcm16.kernel(None) == _pcm16.kernel(name=None) == _pcm16.LOOPS[-1]
    # wav.mono_loop switches back after its block, also when the block raises
    with pytest.raises(RuntimeError, match="inside"), wav.mono_loop(_pcm16.LOOPS[0]):
        assert _pcm16.kernel() == _pcm16.LOOPS[0]
        raise RuntimeError("inside")
    assert _pcm16.kernel() == _pcm16.LOOPS[-1] and wav.mono_loops() == _pcm16.LOOPS
    with pytest.raises(ValueError, match="no 'neon' loop here"), wav.mono_loop("neon"):
        pass
    cpuinfo = Path("/proc/cpuinfo")
    flags = next((line.split() for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), []) \
        if cpuinfo.exists() else []
    if sys.platform == "linux" and platform.machine() == "x86_64" and sys.maxsize > 2**32:
        assert ("avx2" in _pcm16.LOOPS) == ("avx2" in flags)
        assert _pcm16.LOOPS[0] == "sse2"


@pytest.mark.parametrize("mono_kernel", MONO_LOOPS, indirect=True)
@pytest.mark.parametrize("stream", [False, True], ids=["plain-stores", "streaming-stores"])
def test_every_int16_value_gives_numpy_bits_with_each_mono_loop(tmp_path, stream, mono_kernel):
    """All 65,536 sample values, read with each loop (in place, or through scratch with streaming
    stores), lengths 0-17 samples short of 65,536 (every remainder of a 16-sample step), outputs
    starting 0, 1, 3 or 7 floats past a 32-byte boundary (the long-read test below takes every one):
    numpy's bits for every one, and not one byte written outside the output."""
    from dinos._pcm16 import read_scaled

    ints = np.arange(-32768, 32768, dtype=np.int16)[np.random.default_rng(5).permutation(65536)][:, None]
    with _opened_wav(tmp_path / "all.wav", ints) as (fd, layout):
        scratch = np.empty(65536, dtype=np.int16)
        room = np.empty(65536 + 64, dtype=np.float32)
        base = (-room.ctypes.data % 32) // 4
        for cut in range(18):
            for shift in (0, 1, 3, 7):
                room[:] = np.nan
                lo = base + 8 + shift  # 8 guard floats at least before, 40 after
                out = room[lo : lo + 65536 - cut]
                assert read_scaled(fd, layout.data_offset, scratch, out, 1, 0, stream) == out.size * 2
                np.testing.assert_array_equal(out.view(np.uint32), _numpy_scaled(ints[: out.size, 0]).view(np.uint32))
                assert np.isnan(room[:lo]).all() and np.isnan(room[lo + out.size :]).all(), (cut, shift)


@pytest.mark.parametrize("stream", [False, True], ids=["plain-stores", "streaming-stores"])
@pytest.mark.parametrize(("channels", "mono_kernel"), [*((1, k) for k in MONO_LOOPS), (3, None)],
                         indirect=["mono_kernel"])  # several channels take the strided loop
def test_native_read_scaled_across_its_read_chunks(tmp_path, channels, stream, mono_kernel):
    """A read longer than one 256 KiB chunk (3 channels: a chunk is not a whole number of 6-byte frames
    unless cut to one), into outputs at every alignment (streaming stores need 16-byte blocks, 32 with
    AVX2: a head and a tail are written one by one; one channel is converted in place in the output,
    16 samples a step with AVX2): every frame exact, with each loop. A file shorter than the read gives
    the bytes it holds, the frames of the chunks read whole are written and the rest is left for the
    caller's error."""
    from dinos._pcm16 import read_scaled

    frames = 200_000  # 400 KB per channel: 2-5 chunks
    ints = _ints(frames, channels, seed=31)
    p = tmp_path / "long.wav"
    with _opened_wav(p, ints) as (fd, layout):
        scratch = np.empty(frames * channels, dtype=np.int16)
        for channel in range(channels):
            for shift in range(8):  # out starts 0-7 floats past a 32-byte boundary; 7 + shift frames skipped
                room = np.full(frames + 16, np.nan, dtype=np.float32)
                base = (-room.ctypes.data % 32) // 4
                out = room[base + shift : base + shift + frames - 7 - shift]
                off = layout.data_offset + (7 + shift) * 2 * channels
                assert read_scaled(fd, off, scratch, out, channels, channel, stream) == out.size * 2 * channels
                want = _numpy_scaled(ints[7 + shift :, channel])
                np.testing.assert_array_equal(out.view(np.uint32), want.view(np.uint32))
                assert np.isnan(room[: base + shift]).all() and np.isnan(room[base + shift + out.size :]).all()
        out = np.full(frames, np.nan, dtype=np.float32)  # starts 1000 frames in: the last 1000 are missing
        got = read_scaled(fd, layout.data_offset + 1000 * 2 * channels, scratch, out, channels, 0, stream)
        assert got == (frames - 1000) * 2 * channels
        chunk_frames = (256 * 1024) // (2 * channels)
        written = (frames - 1000) // chunk_frames * chunk_frames  # the pieces read whole
        assert 0 < written < frames - 1000
        np.testing.assert_array_equal(out[:written], _numpy_scaled(ints[1000 : 1000 + written, 0]))
        if channels > 1 or stream:  # through scratch: the rest untouched (else it may hold raw samples)
            assert np.isnan(out[written:]).all()


def test_batches_written_with_streaming_stores_give_the_same_arrays(tmp_path, monkeypatch):
    """A batch block from `decoder.STREAM_BYTES` up is written with streaming stores (runs, single
    windows, padded tails): the arrays equal soundfile's and the numpy fallback's."""
    import dinos.decoder

    paths = [write_tone(tmp_path / f"m{i}.wav", seconds=1.3, sr=8000, seed=i) for i in range(2)]
    rows = [(p, s) for p in paths for s in range(0, 10400, 1000)] + [(paths[0], 333), (paths[1], 9999)]
    flags = []
    real = wav._read_scaled

    def spy(*args):
        flags.append(args[-1])
        return real(*args)

    decoded = {}
    for limit in (1 << 40, 0):  # never streamed, always streamed
        monkeypatch.setattr(dinos.decoder, "STREAM_BYTES", limit)
        with monkeypatch.context() as m:
            m.setattr(wav, "_read_scaled", spy)
            flags.clear()
            decoded[limit] = AudioDecoder(normalize=False)(_rows(rows, 1000))["audio"]
            assert flags and set(flags) == {limit == 0}
    with monkeypatch.context() as m:
        _without_native(m)
        fallback = AudioDecoder(normalize=False)(_rows(rows, 1000))["audio"]
    for plain, streamed, slow, (p, s) in zip(decoded[1 << 40], decoded[0], fallback, rows, strict=True):
        want = _reference(p, s, 1000, None)
        for got in (plain, streamed, slow):
            np.testing.assert_array_equal(got["array"], want)


def test_window_into_a_non_contiguous_row_gives_the_same_bits(tmp_path):
    ints = _ints(2000, 2, seed=17)
    p = tmp_path / "r.wav"
    with _opened_wav(p, ints) as (fd, layout):
        grid = np.full((1500, 2), np.nan, dtype=np.float32)
        wav.decode_window_into(fd, layout, 1000, grid[:, 1], np.empty(0, dtype=np.int16), channel=1)  # strided
        np.testing.assert_array_equal(grid[:1000, 1], _numpy_scaled(ints[1000:, 1]))
        assert not grid[1000:, 1].any() and np.isnan(grid[:, 0]).all()


@pytest.mark.skipif(wav._native_read is None or not wav._LITTLE, reason=NOT_NATIVE)
def test_mono_window_shortcut_gives_the_general_bits_and_falls_back_for_what_it_refuses(tmp_path, monkeypatch):
    """`decode_window_into`'s shortcut (a 1-D `out` for a mono window that ends inside the file: the native
    read called directly, `_read_scaled` skipped) gives the general path's bits. What it refuses goes the
    general way: a `scratch` too small (grown), a strided `out` (numpy), a 2-D `out`, a window that runs
    past the last frame (zero padding, never the bytes of a chunk after `data`). A file shorter than its
    header is still an OSError."""
    ints = _ints(4000, 1, seed=23)
    p = tmp_path / "m.wav"
    p.write_bytes(_wav_bytes(ints, 8000, after=[(b"LIST", b"INFOISFT" + struct.pack("<I", 64) + b"\x7f" * 64)]))  # non-zero bytes after data
    general = []
    real_general = wav._read_scaled

    def counting(*args, **kwargs):
        general.append(args[1])  # file offset
        return real_general(*args, **kwargs)

    monkeypatch.setattr(wav, "_read_scaled", counting)
    fd = os.open(p, os.O_RDONLY)
    try:
        layout = wav.read_file_header(fd, p.stat().st_size)
        assert layout is not None and layout.frames == 4000
        want = _numpy_scaled(ints[1000:2500, 0])
        out, scratch = np.full(1500, np.nan, dtype=np.float32), np.empty(1500, dtype=np.int16)
        assert wav.decode_window_into(fd, layout, 1000, out, scratch) is scratch
        np.testing.assert_array_equal(out, want)
        last = np.full(500, np.nan, dtype=np.float32)  # ends exactly at the last frame: still the shortcut
        wav.decode_window_into(fd, layout, 3500, last, scratch)
        np.testing.assert_array_equal(last, _numpy_scaled(ints[3500:, 0]))
        assert general == []
        small = np.empty(10, dtype=np.int16)  # refused (too small): grown by the general path
        out[:] = np.nan
        grown = wav.decode_window_into(fd, layout, 1000, out, small)
        assert grown is not small and grown.size >= 1500
        np.testing.assert_array_equal(out, want)
        grid = np.full((1500, 2), np.nan, dtype=np.float32)  # strided: refused, numpy writes it
        wav.decode_window_into(fd, layout, 1000, grid[:, 1], scratch)
        np.testing.assert_array_equal(grid[:, 1], want)
        assert np.isnan(grid[:, 0]).all()
        assert general == [layout.data_offset + 2000] * 2
        general.clear()
        tail = np.full(501, np.nan, dtype=np.float32)  # one frame past the end: zero, not the LIST chunk
        wav.decode_window_into(fd, layout, 3500, tail, scratch)
        np.testing.assert_array_equal(tail[:500], _numpy_scaled(ints[3500:, 0]))
        assert tail[500] == 0.0 and general == [layout.data_offset + 7000]
        flat = np.full((750, 2), np.nan, dtype=np.float32)  # 2-D: not the shortcut (it sizes by rows)
        general.clear()
        wav.decode_window_into(fd, layout, 1000, flat, scratch)
        assert general == [layout.data_offset + 2000]
        os.truncate(p, layout.data_offset + 2 * 1200)
        with pytest.raises(OSError, match="shorter than its header"):
            wav.decode_window_into(fd, layout, 1000, out, scratch)
    finally:
        os.close(fd)
