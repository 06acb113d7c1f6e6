"""dinos.images: the PNG writer, the log-Mel scaling and `dinos export images`."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from dinos import images as I
from dinos.errors import DinosError
from dinos.io import OutputError


def _read_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit greyscale, filter-0 PNG (what png_bytes writes), checking every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 0)
            size = (h, w)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(size[0], size[1] + 1)
    assert not raw[:, 0].any()
    return raw[:, 1:]


def test_png_round_trip():
    img = (np.arange(5 * 7) * 7 % 256).astype(np.uint8).reshape(5, 7)
    assert np.array_equal(_read_png(I.png_bytes(img)), img)
    with pytest.raises(DinosError):
        I.png_bytes(np.zeros((2, 2), dtype=np.float32))


def test_mel_filterbank_and_log_mel_put_a_tone_in_the_right_band():
    fb = I.mel_filterbank(16_000, 1024, 64)
    assert fb.shape == (64, 513) and fb.max() <= 1.0 and (fb.sum(axis=1) > 0).all()
    sr = 16_000
    t = np.arange(sr) / sr
    low, high = I.log_mel(np.sin(2 * np.pi * 300 * t), sr), I.log_mel(np.sin(2 * np.pi * 5000 * t), sr)
    assert low.shape == (64, 1 + (sr - 1024) // 512)
    assert np.argmax(low.mean(axis=1)) < np.argmax(high.mean(axis=1))
    short = I.log_mel(np.ones(300), 96_000)  # shorter than n_fft: one frame of the whole clip
    assert short.shape == (64, 1)


def test_to_image_scaling_low_frequencies_at_the_bottom():
    db = np.array([[0.0, -10.0], [-100.0, -50.0]])  # band 0 (low) loud
    img, floor, top = I.to_image(db, top_db=80.0)
    assert (floor, top) == (-80.0, 0.0)
    assert img[-1].tolist() == [255, round(70 / 80 * 255)]  # band 0 is the bottom row
    assert img[0].tolist() == [0, round(30 / 80 * 255)]


def test_export_images_writes_label_folders_and_metadata(tmp_path):
    sr = 8_000
    rng = np.random.default_rng(0)
    rows = [{"audio": {"array": rng.standard_normal((2, sr // 4)).astype(np.float32), "sampling_rate": sr},
             "clip_id": f"m/{lab}/{i}.wav#0", "path": f"m/{lab}/{i}.wav", "start_frame": 0, "label": lab,
             "machine": "m", "section": -1, "snr_db": None}
            for lab in ("normal", "anomaly") for i in range(2)]
    meta = I.export_images(tmp_path / "img", rows, channel=1, n_mels=32)
    assert sorted(p.relative_to(tmp_path / "img").as_posix() for p in (tmp_path / "img").rglob("*.png")) == [
        "anomaly/m-anomaly-0-0.png", "anomaly/m-anomaly-1-0.png", "normal/m-normal-0-0.png", "normal/m-normal-1-0.png"]
    lines = meta.read_text().splitlines()
    assert lines[0].startswith("image,clip_id,side,label") and len(lines) == 5
    img = _read_png((tmp_path / "img" / "normal" / "m-normal-0-0.png").read_bytes())
    assert img.shape[0] == 32 and img.max() == 255
    # a folder with a user's file is refused; a second run needs overwrite
    with pytest.raises(OutputError):
        I.export_images(tmp_path / "img", rows)
    I.export_images(tmp_path / "img", rows[:1], overwrite=True)
    assert not (tmp_path / "img" / "anomaly" / "m-anomaly-0-0.png").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(OutputError):
        I.export_images(tmp_path / "mine", rows)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    with pytest.raises(DinosError, match="channel 3"):
        I.export_images(tmp_path / "img2", rows, channel=3)
