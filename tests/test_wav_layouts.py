"""The native PCM_16 reader's header walk (`dinos.wav.parse_header`) against libsndfile on WAV layouts
drawn at random: every file the fast path takes must be one libsndfile opens as the same PCM_16
stream (rate, channels, frames) with the same samples. A file it declines goes to soundfile, so
declining is always safe; taking a file libsndfile reads differently (or refuses) would be a silent
wrong result. The draws are seeded: the same files on every run.

The layouts mix what real writers put around `data` (LIST/INFO tags, `fact`, `bext`, JUNK/PAD
fillers, iXML, cue points, id3 tags) with the faults that make readers part ways: odd sizes with
and without their pad byte, printable pad bytes, a second `fmt ` or `data`, a `data` inside a LIST,
LIST sizes that do not match their sub-chunks, RIFF sizes that do not match the file, bytes after
the last chunk, truncation.
"""

from __future__ import annotations

import io
import random
import struct

import numpy as np
import pytest
import soundfile as sf

from dinos import wav
from dinos.audio import read_window
from dinos.errors import AudioError

_GUID = bytes.fromhex("0100000000001000800000aa00389b71")
_TEXT_IDS = [b"ISFT", b"INAM", b"ICMT", b"IART", b"ICRD"]


def _chunk(rng: random.Random, cid: bytes, payload: bytes, pad: str | None = None) -> bytes:
    """A chunk; an odd payload gets a pad byte: "zero" (the rule), "text" (a printable one) or "none"."""
    pad = pad or rng.choice(["zero"] * 8 + ["text", "none"])
    tail = b""
    if len(payload) % 2:
        tail = {"zero": b"\0", "text": b"x", "none": b""}[pad]
    return cid + struct.pack("<I", len(payload)) + payload + tail


def _list_chunk(rng: random.Random) -> tuple[bytes, set]:
    kinds = set()
    body = rng.choice([b"INFO", b"INFO", b"adtl", b"", b"INFO"])
    for _ in range(rng.randint(0, 4)):
        k = rng.random()
        if k < 0.6:
            text = bytes(rng.choice(b"abcdef0123 ") for _ in range(rng.randint(0, 40))) + b"\0" * rng.randint(0, 1)
            body += _chunk(rng, rng.choice(_TEXT_IDS), text, "zero")
        elif k < 0.7:
            body += _chunk(rng, b"ICMT", b"c" * rng.choice([1100, 1500]), "zero")
            kinds.add("long-text")
        elif k < 0.8:
            body += _chunk(rng, b"labl", struct.pack("<I", 1) + b"mark\0", "zero")
            kinds.add("labl")
        elif k < 0.85:
            body += b"data" + struct.pack("<I", 4) + b"\1\2\3\4"
            kinds.add("data-in-LIST")
        else:
            body += _chunk(rng, rng.choice([b"note", b"zzzz", b"DISP"]), rng.randbytes(rng.randint(0, 9)), "zero")
    if rng.random() < 0.05:  # an odd LIST whose last text ends on the LIST's pad byte, or a tiny LIST
        body = rng.choice([b"INFOabcd\0\0\0\0", b"INFOISFT\x05\0\0\0dinos", b"", b"ab", b"abc"])
        kinds.add("LIST-odd-or-tiny")
        return b"LIST" + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b""), kinds
    size = len(body)
    if rng.random() < 0.15:
        size += rng.choice([-4, -2, 2, 4, 8])
        kinds.add("LIST-size-off")
        body = body[:max(0, size)] if size < len(body) else body + b"\0" * (size - len(body))
    return b"LIST" + struct.pack("<I", max(0, size)) + body + (b"\0" if size % 2 else b""), kinds


def _extra_chunk(rng: random.Random) -> tuple[bytes, set]:
    k = rng.random()
    if k < 0.25:
        return _list_chunk(rng)
    if k < 0.35:
        n = rng.choice([4, 4, 4, 0, 2, 5, 8])
        return _chunk(rng, b"fact", struct.pack("<I", 1000)[:n] + b"\0" * max(0, n - 4)), {"fact"}
    if k < 0.42:
        n = rng.choice([602, 602 + 10, 256, 603])
        return _chunk(rng, b"bext", rng.randbytes(n)), {"bext"}
    if k < 0.47:
        return _chunk(rng, b"cue ", struct.pack("<I", 1) + rng.randbytes(24)), {"cue"}
    if k < 0.5:
        return _chunk(rng, b"PEAK", rng.randbytes(rng.choice([16, 24]))), {"PEAK"}
    if k < 0.6:
        cid = rng.choice([b"PAD ", b"iXML", b"cart", b"levl"])
        return _chunk(rng, cid, rng.randbytes(rng.randint(0, 9))), {"padded"}
    if k < 0.93:
        cid = rng.choice([b"JUNK", b"junk", b"FLLR", b"id3 ", b"ID3 ", b"_PMX", b"minf", b"regn", b"umid", b"ds64"])
        return _chunk(rng, cid, rng.randbytes(rng.randint(0, 9))), {"unknown"}
    cid = bytes(rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0x41]) for _ in range(4))  # a marker not all printable
    return cid + struct.pack("<I", rng.choice([0, 2, 4, 0x10000, 0xFFFFFF00])) + b"\0" * 4, {"garbage"}


def _random_wav(rng: random.Random) -> tuple[bytes, set]:
    """A RIFF/WAVE file with PCM_16 samples and chunks around them, and the names of what it holds."""
    kinds: set = set()
    ch, rate, frames = rng.choice([1, 1, 2, 3]), rng.choice([8000, 16000, 48000]), rng.randint(1, 200)
    if rng.random() < 0.01:
        ch, rate, frames = rng.choice([(1025, 8000, 1), (1024, 8000, 1), (1, 2**31, 5), (1, 2**31 - 1, 5)])
        kinds.add("limits")
    samples = rng.randbytes(frames * ch * 2)
    if rng.random() < 0.03:
        samples = rng.choice([b"OggS", b"wvpk"]) + samples[4:] if len(samples) >= 4 else samples
        kinds.add("magic-samples")
    tag = rng.choice([1, 1, 1, 0xFFFE])
    fmt = struct.pack("<HHIIHH", tag, ch, rate, (rate * 2 * ch) % 2**32, 2 * ch, 16)
    if tag == 0xFFFE:
        fmt += struct.pack("<HHI", 22, 16, 0) + _GUID
    elif rng.random() < 0.2:
        fmt += rng.choice([b"\0\0", b"\0", b"\0\0\0\0"])
    chunks = [_chunk(rng, b"fmt ", fmt)]
    if rng.random() < 0.05:
        chunks.append(_chunk(rng, b"fmt ", struct.pack("<HHIIHH", 1, ch, (rate * 2) % 2**32, (rate * 4 * ch) % 2**32, 2 * ch, 16)))
        kinds.add("fmt-twice")
    for _ in range(rng.randint(0, 3)):
        extra, k = _extra_chunk(rng)
        chunks.insert(rng.randint(0, len(chunks)), extra)
        kinds |= k
    data_size = len(samples) + (rng.choice([-1, 1, 2, 100]) if rng.random() < 0.04 else 0)
    chunks.append(b"data" + struct.pack("<I", data_size) + samples)
    for _ in range(rng.choice([0, 0, 1, 2])):
        extra, k = _extra_chunk(rng)
        chunks.append(extra)
        kinds |= k | {"after-data"}
    if rng.random() < 0.04:
        chunks.append(b"data" + struct.pack("<I", 4) + b"\1\2\3\4")
        kinds.add("data-twice")
    if rng.random() < 0.05:
        chunks.append(rng.choice([b"\0", b"\0\0\0", b"\0" * 5, b"dat", b"data\2", b"JUNK\1\0\0\0a\0data",
                                  b"JUNK\1\0\0\0a\0PEAK"]))
        kinds.add("trailing-bytes")
    body = b"WAVE" + b"".join(chunks)
    riff = len(body)
    if rng.random() < 0.06:
        riff = rng.choice([0, 4, riff - 2, riff + 8, 0xFFFFFFFF, riff // 2])
        kinds.add("riff-size-off")
    blob = b"RIFF" + struct.pack("<I", riff) + body
    if rng.random() < 0.03:
        blob = blob[:-rng.randint(1, 6)]
        kinds.add("truncated")
    return blob, kinds


def _soundfile(blob: bytes):
    """libsndfile's reading of `blob`: (rate, channels, frames, format, subtype, float32 samples), or None."""
    try:
        with sf.SoundFile(io.BytesIO(blob)) as f:
            return f.samplerate, f.channels, f.frames, f.format, f.subtype, f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError):
        return None


@pytest.mark.parametrize("seed", range(4))
def test_every_layout_the_fast_path_takes_is_read_the_same_by_libsndfile(tmp_path, seed):
    taken, kinds_taken, wrong = 0, set(), []
    for i in range(1500):
        blob, kinds = _random_wav(random.Random(seed * 100_003 + i))
        layout = wav.read_bytes_header(blob)
        p = tmp_path / "x.wav"
        p.write_bytes(blob)
        with open(p, "rb") as fh:
            assert wav.read_file_header(fh.fileno(), len(blob)) == layout  # the two readers agree
        if layout is None:
            continue
        taken += 1
        kinds_taken |= kinds
        ref = _soundfile(blob)
        if ref is None or ref[:3] != (layout.samplerate, layout.channels, layout.frames) or ref[4] != "PCM_16":
            wrong.append((i, sorted(kinds), layout, None if ref is None else ref[:5]))
            continue
        got = read_window(blob, 0, layout.frames, channel=None)[0]
        if not np.array_equal(got.reshape(layout.channels, -1).T if got.ndim == 2 else got[:, None], ref[5]):
            wrong.append((i, sorted(kinds), layout, "samples differ"))
    assert not wrong, wrong[:5]
    # not vacuous: the fast path takes a good share of the draws, with chunks of every well-formed kind
    assert taken > 400, taken
    assert {"unknown", "padded", "fact", "bext", "after-data"} <= kinds_taken, kinds_taken


def _wav(*chunks: bytes, samples: bytes = b"\1\0\2\0\3\0\4\0") -> bytes:
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + fmt + b"".join(chunks)
    body = body.replace(b"@DATA", b"data" + struct.pack("<I", len(samples)) + samples)
    return b"RIFF" + struct.pack("<I", len(body)) + body


#: Files where a plain chunk walk and libsndfile part ways; each is left to soundfile.
DECLINED = {
    "second data chunk (libsndfile takes the last)": _wav(b"@DATA", b"data" + struct.pack("<I", 4) + b"\7\0\7\0"),
    "second fmt chunk": _wav(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 4000, 16000, 4, 16), b"@DATA"),
    "data inside a LIST": _wav(b"LIST" + struct.pack("<I", 16) + b"INFOdata" + struct.pack("<I", 4) + b"\7\0\7\0",
                               b"@DATA"),
    "LIST shorter than its sub-chunks": _wav(b"LIST" + struct.pack("<I", 12) + b"INFOISFT" + struct.pack("<I", 6)
                                             + b"dinos\0", b"@DATA"),
    "odd chunk with a printable pad byte": _wav(b"JUNK" + struct.pack("<I", 3) + b"abcx", b"@DATA"),
    "odd chunk without its pad byte": _wav(b"JUNK" + struct.pack("<I", 3) + b"abc", b"@DATA"),
    "bext shorter than its fields": _wav(b"bext" + struct.pack("<I", 8) + b"\0" * 8, b"@DATA"),
    "samples that start like an Ogg stream": _wav(b"@DATA", samples=b"OggS\1\0\2\0"),
    "five bytes after the last chunk": _wav(b"@DATA", b"data\2"),
    "more than 1,024 channels": b"RIFF" + struct.pack("<I", 4 + 24 + 8 + 2050) + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 1025, 8000, 8000 * 2050, 2050, 16) + b"data" + struct.pack("<I", 2050) + bytes(2050),
    "a rate of 2**31": b"RIFF" + struct.pack("<I", 4 + 24 + 16) + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 1, 2**31, 0, 2, 16) + b"data" + struct.pack("<I", 8) + b"\1\0\2\0\3\0\4\0",
    "a LIST of 0 bytes after data": _wav(b"@DATA", b"LIST\0\0\0\0OggS"),
    "an odd chunk after data, then 4 bytes": _wav(b"@DATA", b"JUNK\1\0\0\0a\0", b"data"),
    "an odd LIST whose last sub-chunk ends on its pad byte": _wav(b"LIST\x0b\0\0\0INFOabcd\0\0\0\0", b"@DATA"),
    "the same after data, hiding a second data chunk": _wav(
        b"@DATA", b"LIST\x0b\0\0\0INFOabcd\0\0\0\0", b"JUNK" + struct.pack("<I", 65) + b"\0data"
        + struct.pack("<I", 56) + b"\x7f" * 56 + b"\0", samples=bytes(range(1, 57))),
    "a non-printable marker before data": _wav(b"\1\2\3\4" + struct.pack("<I", 4) + b"\0" * 4, b"@DATA"),
    "a non-printable marker after data, off a 4-byte boundary": _wav(b"@DATA", b"\1\2\3\4" + b"\0" * 4,
                                                                     b"data" + struct.pack("<I", 4) + b"\7\0\7\0",
                                                                     samples=b"\1\0\2\0\3\0"),
}


@pytest.mark.parametrize("name", DECLINED)
def test_layouts_libsndfile_reads_another_way_are_left_to_it(tmp_path, name):
    blob = DECLINED[name]
    assert wav.read_bytes_header(blob) is None
    p = tmp_path / "x.wav"
    p.write_bytes(blob)
    ref = _soundfile(blob)
    if ref is None:  # soundfile's refusal is what the reader gives too
        with pytest.raises(AudioError, match="x.wav"):
            read_window(p, 0, 1)
    elif ref[2] == 0:  # libsndfile found no samples: a window is all padding, as soundfile's
        np.testing.assert_array_equal(read_window(p, 0, 4)[0], np.zeros(4, np.float32))
    else:
        np.testing.assert_array_equal(read_window(p, 0, ref[2], channel=None)[0], ref[5][:, 0])


def test_well_formed_chunks_around_data_keep_the_fast_path():
    """What real writers add (INFO tags with an odd text, fact, a broadcast-WAV bext with its coding
    history, JUNK before or after the samples) does not send a file to the slow path; nor do what
    libsndfile stops at (a non-printable marker on a 4-byte boundary after the samples) and up to 4
    bytes after the last chunk, which it ignores."""
    info = b"LIST" + struct.pack("<I", 4 + 8 + 6) + b"INFO" + b"ISFT" + struct.pack("<I", 5) + b"dinos\0"
    fact = b"fact" + struct.pack("<I", 4) + struct.pack("<I", 4)
    junk = b"JUNK" + struct.pack("<I", 3) + b"abc\0"
    bext = b"bext" + struct.pack("<I", 602 + 7) + b"\0" * 602 + b"A=PCM\r\n" + b"\0"  # odd coding history, padded
    stop = b"\1\2\3\4" + struct.pack("<I", 4) + b"\0" * 4  # after `data`, on a 4-byte boundary: libsndfile stops
    for blob in (_wav(info, b"@DATA"), _wav(fact, junk, b"@DATA", info), _wav(b"@DATA", junk), _wav(bext, b"@DATA"),
                 _wav(b"@DATA", stop, b"data" + struct.pack("<I", 4) + b"\7\0\7\0"), _wav(b"@DATA") + b"\0\0\0\0"):
        layout = wav.read_bytes_header(blob)
        assert layout is not None and layout.frames == 4
        ref = _soundfile(blob)
        assert ref is not None and ref[2] == 4
        np.testing.assert_array_equal(read_window(blob, 0, 4)[0], ref[5][:, 0])


def survey(first: int, stop: int) -> dict[str, int]:
    """The draws seeded `first` .. `stop - 1`: how many the fast path takes, and of those how many
    libsndfile refuses, reads with another header, or reads with other samples (all 0 is agreement)."""
    counts = {"draws": stop - first, "taken": 0, "refused by libsndfile": 0, "other header": 0, "other samples": 0}
    for i in range(first, stop):
        blob, _ = _random_wav(random.Random(i))
        layout = wav.read_bytes_header(blob)
        if layout is None:
            continue
        counts["taken"] += 1
        ref = _soundfile(blob)
        if ref is None:
            counts["refused by libsndfile"] += 1
        elif ref[:3] != (layout.samplerate, layout.channels, layout.frames) or ref[4] != "PCM_16":
            counts["other header"] += 1
        else:
            got = read_window(blob, 0, layout.frames, channel=None)[0]
            counts["other samples"] += not np.array_equal(got.reshape(layout.channels, -1).T if got.ndim == 2
                                                          else got[:, None], ref[5])
    return counts


if __name__ == "__main__":  # python -m tests.test_wav_layouts FIRST STOP
    import sys

    print(survey(int(sys.argv[1]), int(sys.argv[2])))
