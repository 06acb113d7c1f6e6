"""The build's columnar fast path (`ClipBuilder._generate_tables`: one `schema.Clip` per file, windows
as numpy/pyarrow columns, one open per file) against the reference: one `schema.Clip` per window,
`schema.clip_to_row` + `schema.rows_to_table`, the way rows were built before. The Arrow tables must be
identical (values, types, schema metadata) on every synthetic corpus, segmented or not."""

from __future__ import annotations

import os
import struct

import numpy as np
import pyarrow as pa
import pytest

from dinos import schema
from dinos.api import get_builder
from dinos.audio import _check_riff, check_info, probe
from dinos.build_rows import SourceGuard, probe_file, riff_verdict
from dinos.errors import AudioError, LayoutError, UnsafePathError
from dinos.paths import check_source
from dinos.segment import parse_seconds, window_arrays, window_frames

from .conftest import make_dinos_tree, write_tone


def reference_table(builder, files, root: str):
    """The rows of `files` built one `schema.Clip` per window (no skips: every file is valid here)."""
    rows = []
    length = parse_seconds(builder.config.segment)
    for src in files:
        full = os.path.join(root, src.path)
        check_source(root, src.path)
        info = probe(full)
        check_info(info, full, sample_rate=src.sample_rate, channels=src.channels)
        stats = builder._stats(full)
        if length is None:
            windows = [(0, info.frames)]
        else:
            windows = window_frames(info.frames, info.sample_rate, length, parse_seconds(builder.config.hop),
                                    builder.config.tail)
        for start, n in windows:
            clip = schema.Clip(
                clip_id=schema.make_clip_id(src.path, start), path=src.path,
                recording_id=src.path.rsplit(".", 1)[0], offset=start / info.sample_rate,
                duration=n / info.sample_rate, start_frame=start, num_frames=n, sample_rate=info.sample_rate,
                channels=info.channels, stats=stats, **dict(src.fields),
            )
            rows.append(schema.clip_to_row(clip, full))
    return schema.rows_to_table(rows, builder.info.features)


def fast_table(builder, files, root: str):
    tables = [t for _, t in builder._generate_tables(files, root)]
    return pa.concat_tables(tables) if tables else None


def assert_identical(corpus: str, config: str | None, data_dir, **options) -> int:
    builder = get_builder(corpus, config, data_dir=data_dir, **options)
    root = str(builder._data_root())
    n = 0
    for split, files in builder.scan(builder._data_root()).items():
        if not files:
            continue
        want = reference_table(builder, files, root)
        got = fast_table(builder, files, root)
        assert got.schema.equals(want.schema, check_metadata=True), split
        assert got.num_rows == want.num_rows, split
        assert got.equals(want), (split, next(
            (c for c in want.column_names if not got.column(c).equals(want.column(c))), None))
        n += got.num_rows
    assert n > 0
    return n


@pytest.mark.parametrize("options", [
    {"segment": "1s"},
    {"segment": "1s", "hop": "0.25s", "tail": "pad"},
    {"segment": "0.7s", "tail": "keep"},
    {"segment": "0.7s", "tail": "drop"},
    {},
])
def test_dinos_segmented_pretraining_matches_per_row_clips(tmp_path, options):
    root = make_dinos_tree(tmp_path / "d", datasets=("VF2",), per_class=1, pretrain_seconds=3.5)
    assert_identical("dinos", "pretraining", root, **options)


@pytest.mark.slow  # the synthetic DINOS writer takes ~20 s
def test_dinos_synthetic_clips_and_recordings_match(tmp_path):
    from dinos.synth import dinos as synth

    synth.write(tmp_path / "d", scale=0.02, progress=False, pretrain_recordings=1, pretrain_seconds=2.5)
    assert_identical("dinos", "all", tmp_path / "d")  # every 1-s clip file, one row each
    assert_identical("dinos", "pretraining", tmp_path / "d", segment="1s", normalize="rms")


def test_mimii_due_matches(tmp_path):
    from dinos.synth import mimii_due as synth

    synth.write(tmp_path / "m", scale=0.2)
    assert_identical("mimii_due", "all", tmp_path / "m")
    assert_identical("mimii_due", "all", tmp_path / "m", segment="1s", hop="0.5s", tail="keep")


def test_dcase_task2_matches(tmp_path):
    from dinos.synth import dcase as synth

    synth.write(tmp_path / "t", year=2023, scale=0.2)
    assert_identical("dcase_task2", "2023-all", tmp_path / "t")
    assert_identical("dcase_task2", "2023-all", tmp_path / "t", segment="2s", tail="pad")


def test_folder_matches(tmp_path):
    from dinos.synth import folder as synth

    synth.write(tmp_path / "f", scale=0.25, pump_seconds=2.5)
    assert_identical("folder", None, tmp_path / "f" / "drill")
    assert_identical("folder", None, tmp_path / "f" / "pump", segment="1s", tail="keep")


def test_multichannel_and_other_rates_match(tmp_path):
    root = tmp_path / "own" / "normal"
    write_tone(root / "a.wav", seconds=2.3, sr=16_000, channels=2, subtype="PCM_24")
    write_tone(root / "b.wav", seconds=1.1, sr=44_100, subtype="FLOAT")
    write_tone(root / "c.wav", seconds=0.4, sr=8_000)  # shorter than one window: dropped
    assert_identical("folder", None, tmp_path / "own", segment="0.5s", hop="0.3s", tail="drop")
    assert_identical("folder", None, tmp_path / "own", segment="0.5s", tail="pad")


@pytest.mark.parametrize("total,sr,length,hop,tail", [
    (0, 10, 1.0, None, "drop"), (9, 10, 1.0, None, "drop"), (10, 10, 1.0, None, "keep"),
    (25, 10, 1.0, None, "pad"), (25, 10, 1.0, 0.3, "keep"), (25, 10, 1.0, 0.3, "drop"),
    (12, 10, 0.5, 1.0, "keep"), (48_000 * 59, 48_000, 1.0, None, "drop"), (100, 7, 0.9, 0.2, "pad"),
])
def test_window_arrays_is_window_frames(total, sr, length, hop, tail):
    starts, lengths = window_arrays(total, sr, length, hop, tail)
    assert starts.dtype == lengths.dtype == np.int64
    expected, start = [], 0  # the loop window_frames was written as
    win, step = round(length * sr), round((hop or length) * sr)
    while start + win <= total:
        expected.append((start, win))
        start += step
    if start < total and (not expected or expected[-1][0] + win < total) and tail != "drop":
        expected.append((start, win if tail == "pad" else total - start))
    assert window_frames(total, sr, length, hop, tail) == expected
    assert list(zip(starts.tolist(), lengths.tolist(), strict=True)) == expected


def _riff(chunks: list[tuple[bytes, int, bytes]], big: bool = False) -> bytes:
    fmt = ">I" if big else "<I"
    body = b"".join(cid + struct.pack(fmt, size) + payload for cid, size, payload in chunks)
    return (b"RIFX" if big else b"RIFF") + struct.pack(fmt, 4 + len(body)) + b"WAVE" + body


@pytest.mark.parametrize("data", [
    b"", b"RIFF", b"RIFF\0\0\0\0WAVE", b"OggS" + b"\0" * 40, _riff([(b"fmt ", 16, b"\0" * 16)]),
    _riff([(b"fmt ", 16, b"\0" * 16), (b"data", 8, b"\0" * 8)]),
    _riff([(b"fmt ", 16, b"\0" * 16), (b"data", 80, b"\0" * 8)]),
    _riff([(b"fmt ", 16, b"\0" * 16), (b"data", 0, b"\0" * 8)]),
    _riff([(b"fmt ", 16, b"\0" * 16), (b"data", 0xFFFFFFFF, b"\0" * 8)]),
    _riff([(b"fmt ", 16, b"\0" * 16), (b"LIST", 3, b"abc\0"), (b"data", 4, b"\0" * 4)]),
    _riff([(b"fmt ", 16, b"\0" * 16), (b"data", 4, b"\0" * 4)], big=True),
    _riff([(b"LIST", 6000, b"x" * 6000), (b"data", 4, b"\0" * 4)]),  # data chunk beyond the head
])
def test_riff_verdict_agrees_with_check_riff(tmp_path, data):
    path = tmp_path / "x.wav"
    path.write_bytes(data)
    try:
        _check_riff(path, len(data))
        reference = True
    except AudioError:
        reference = False
    verdict = riff_verdict(data[:4096], len(data))
    assert verdict in (reference, None)
    assert (verdict is None) == (len(data) > 4096)


@pytest.mark.parametrize("make", ["missing", "empty", "truncated", "text", "nosamples", "late_data"])
def test_probe_file_is_probe(tmp_path, make):
    path = tmp_path / "x.wav"
    write_tone(path, seconds=0.5)
    raw = path.read_bytes()
    if make == "missing":
        path.unlink()
    elif make == "empty":
        path.write_bytes(b"")
    elif make == "truncated":
        path.write_bytes(raw[:-100])
    elif make == "text":
        path.write_text("not audio")
    elif make == "nosamples":
        path.write_bytes(_riff([(b"fmt ", 16, raw[20:36]), (b"data", 0, b"")]))
    elif make == "late_data":  # a long chunk before `data`: the head does not settle it, probe() does
        path.write_bytes(raw[:36] + b"LIST" + struct.pack("<I", 6000) + b"x" * 6000 + raw[36:])
    _assert_probe_file_is_probe(path)


def test_source_guard_raises_what_check_source_raises(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    write_tone(root / "a" / "ok.wav")
    outside = write_tone(tmp_path / "outside.wav")
    (root / "a" / "link_out.wav").symlink_to(outside)
    (root / "a" / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    (root / "out").symlink_to(tmp_path, target_is_directory=True)
    guard = SourceGuard(root)
    guard("a/ok.wav")
    for rel, err in [("a/link_out.wav", UnsafePathError), ("a/dangling.wav", AudioError),
                     ("a/missing.wav", AudioError), ("out/outside.wav", UnsafePathError),
                     ("a/\udcff.wav", LayoutError)]:
        with pytest.raises(err) as want:
            check_source(root, rel)
        with pytest.raises(err) as got:
            guard(rel)
        assert str(got.value) == str(want.value)


def test_duplicate_groups_sample_then_full_hash(tmp_path):
    from dinos.builder import SAMPLE_BYTES, duplicate_groups

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, 3 * SAMPLE_BYTES, dtype=np.uint8).tobytes()
    files = {
        "a.wav": base,
        "b.wav": base,  # identical copy
        "c.wav": base[:-1] + b"\x00" if base[-1] else base[:-1] + b"\x01",  # same samples, differs at the end
        "d.wav": bytes(len(base)),  # same size, other samples
        "e.wav": base + b"x",  # other size
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    os.link(tmp_path / "d.wav", tmp_path / "d_link.wav")
    names = [*files, "d_link.wav"]
    assert duplicate_groups(tmp_path, names) == [["a.wav", "b.wav"], ["d.wav", "d_link.wav"]]


def test_duplicate_warning_names_a_big_group_by_its_first_paths():
    from dinos.builder import warn_duplicates

    with pytest.warns(UserWarning) as caught:
        warn_duplicates([[f"f{i}.wav" for i in range(1000)]])
    message = str(caught[0].message)
    assert "f0.wav = f1.wav = f2.wav = f3.wav = f4.wav = ... (1000 paths)" in message
    assert "f5.wav" not in message


def test_source_files_of_one_folder_validate_once_and_equal_fresh_validation():
    from dinos.builder import SourceFile
    from dinos.errors import ParseError

    base = {"corpus": "dinos", "machine": "m", "sensor": "microphone", "section": -1, "domain": "source",
            "label": "normal", "origin_split": "train", "task_class": "T3", "class_name": "c",
            "attributes": [{"name": "a", "value": "1", "file_token": ""}]}
    dicts = [
        {**base, "group_id": "g1"}, {**base, "group_id": "g2"}, base, {**base, "group_id": "g3"},
        {**base, "sensor": "stethoscope", "group_id": "g3"}, {**base, "sensor": "stethoscope"},
        {**base, "attributes": [{"name": "a", "value": "2", "file_token": ""}], "group_id": "g1"},
    ]
    for i, d in enumerate(dicts):
        got = SourceFile(f"f{i}.wav", d).fields
        want = schema.FileFields(**d)
        assert got.model_dump() == want.model_dump(), i
    SourceFile("ok.wav", {**base, "group_id": "g1"})
    with pytest.raises(ParseError, match="bad.wav.*group_id"):  # a non-string group_id is validated, not reused
        SourceFile("bad.wav", {**base, "group_id": 7})
    with pytest.raises(ParseError, match="bad2.wav.*sensor"):
        SourceFile("bad2.wav", {**base, "sensor": "laser", "group_id": "g1"})


def test_dinos_downstream_clips_match(tmp_path):
    root = make_dinos_tree(tmp_path / "d", per_class=2, pretrain_seconds=1.5)
    assert_identical("dinos", "all", root)
    assert_identical("dinos", "yornew", root, segment="0.5s", tail="keep")


# -- the libsndfile-free header read of plain PCM_16 WAVs (`pcm16_info`) ----------------------------
def _probe_variants():
    from .test_wav import FAST, SLOW, SUBTYPES

    out = [(f"fast-{k}", "bytes", (v, False)) for k, v in FAST.items()]
    out += [(f"slow-{k}", "bytes", (v[0], k == "partial-frame")) for k, v in SLOW.items()]
    out += [(f"sf-{c}-{s}", "soundfile", (c, s)) for c, s in SUBTYPES]
    return out


@pytest.mark.parametrize(("name", "kind", "spec"), _probe_variants(), ids=[v[0] for v in _probe_variants()])
@pytest.mark.parametrize("channels", [1, 2])
def test_probe_file_equals_probe_on_every_layout_and_subtype(tmp_path, monkeypatch, name, kind, spec, channels):
    """`probe_file` (the header parser for plain PCM_16, libsndfile for the rest) returns what
    `audio.probe` (libsndfile) returns, field by field, and the fast path is taken exactly when
    `dinos.wav.parse_header` takes the file; libsndfile is not opened on the fast path."""
    import soundfile as sf

    from dinos import build_rows, wav

    from .test_wav import _ints, _wav_bytes

    path = tmp_path / "x.wav"
    if kind == "bytes":
        kwargs, cut = spec
        blob = _wav_bytes(_ints(3000, channels), 16000, **kwargs)
        path.write_bytes(blob[:-1] if cut else blob)
    else:
        container, subtype = spec
        sf.write(str(path), np.zeros((3000, channels), np.float32), 16000, format=container, subtype=subtype)
    with open(path, "rb") as fh:
        fast = wav.read_file_header(fh.fileno(), path.stat().st_size) is not None
    if fast:  # the fast path must not need libsndfile at all
        want = probe(path)
        with monkeypatch.context() as m:
            m.setattr(build_rows.sf, "SoundFile", None)
            assert probe_file(str(path)) == want
    _assert_probe_file_is_probe(path)
    blob = path.read_bytes()
    assert (build_rows.pcm16_info(blob[:build_rows.HEAD_BYTES], len(blob), lambda off, n: blob[off:off + n])
            is not None) == fast
    if name in ("fast-plain", "fast-extensible", "sf-WAV-PCM_16", "sf-WAVEX-PCM_16"):
        assert fast  # the corpora's own files take the fast path


@pytest.mark.parametrize("make", ["fmt-beyond-head", "data-beyond-head", "short-data"])
def test_pcm16_info_leaves_what_its_head_does_not_settle_to_libsndfile(tmp_path, make):
    """A head that does not hold the `fmt ` and `data` chunk headers, or a `data` chunk larger than
    the file, gets None from `pcm16_info`; `probe_file` then answers (or raises) as `probe` does."""
    from dinos import build_rows

    from .test_wav import _ints, _wav_bytes

    path = tmp_path / "x.wav"
    big = [(b"LIST", b"x" * 6000)]
    if make == "fmt-beyond-head":
        blob = _wav_bytes(_ints(100, 1), 16000)
        blob = blob[:12] + b"junk" + struct.pack("<I", 6000) + b"y" * 6000 + blob[12:]
        blob = blob[:4] + struct.pack("<I", len(blob) - 8) + blob[8:]
    elif make == "data-beyond-head":
        blob = _wav_bytes(_ints(100, 1), 16000, before=big)
    else:
        blob = _wav_bytes(_ints(100, 1), 16000)[:-20]  # the header promises more samples than the file holds
    path.write_bytes(blob)
    assert build_rows.pcm16_info(blob[:build_rows.HEAD_BYTES], len(blob)) is None
    _assert_probe_file_is_probe(path)


def _assert_probe_file_is_probe(path) -> None:
    """`probe_file(path)` returns what `probe(path)` returns, or raises its error, naming the file."""
    try:
        want = probe(path)
    except AudioError as exc:
        with pytest.raises(AudioError) as got:
            probe_file(str(path))
        assert str(got.value) == str(exc) and str(path) in str(got.value)
    else:
        assert probe_file(str(path)) == want


def test_pcm16_header_memo_answers_only_for_the_same_header_bytes_and_size(tmp_path):
    """`pcm16_info` reuses the last answer only for a file of the same size whose head starts with the
    same header bytes, whose samples end the file: another rate, another length, a header promising
    more than the file holds (an error naming the file, as `probe` says), samples starting like an Ogg
    stream, or a chunk after the samples are read afresh."""
    from .test_wav import _ints, _wav_bytes

    def write(name: str, blob: bytes):
        path = tmp_path / name
        path.write_bytes(blob)
        return path

    base = write("a.wav", _wav_bytes(_ints(3000, 1), 16000))
    same = write("b.wav", _wav_bytes(_ints(3000, 1, seed=1), 16000))  # other samples, same header
    rate = write("c.wav", _wav_bytes(_ints(3000, 1), 22050))
    longer = write("d.wav", _wav_bytes(_ints(3001, 1), 16000))
    short = write("e.wav", _wav_bytes(_ints(3000, 1), 16000)[:-2])  # same header bytes, one frame missing
    ogg = _ints(3000, 1, seed=2)
    ogg[:2, 0] = np.frombuffer(b"OggS", "<i2")  # same header bytes, samples libsndfile refuses as PCM
    ogg = write("f.wav", _wav_bytes(ogg, 16000))
    # same header bytes and size, a chunk after the samples: a JUNK chunk, then a second `data` (which
    # this libsndfile refuses)
    junk = write("g.wav", _wav_bytes(_ints(3000, 1), 16000, after=[(b"JUNK", b"\7\0\7\0")]))
    twice = write("h.wav", _wav_bytes(_ints(3000, 1), 16000, after=[(b"data", b"\7\0\7\0")]))
    for path in (base, same, rate, base, longer, base, short, base, ogg, base, junk, twice, junk):
        _assert_probe_file_is_probe(path)
    assert probe_file(str(rate)).sample_rate == 22050 and probe_file(str(longer)).frames == 3001
    assert probe_file(str(junk)).frames == 3000
    # samples that begin past the head read (HEAD_BYTES): the head is all of the key it has, so no memo
    big = _wav_bytes(_ints(4, 1), 16000, before=[(b"JUNK", b"\0" * 4064)])
    at = big.index(b"data")
    from dinos import build_rows

    assert at + 8 > build_rows.HEAD_BYTES
    big_a = write("i.wav", big)
    big_b = write("j.wav", big[:at + 4] + struct.pack("<I", 4) + big[at + 8:at + 12] + b"\0" * 4)
    for path in (big_a, big_b, big_a):
        _assert_probe_file_is_probe(path)
    assert probe_file(str(big_a)).frames == 4 and probe_file(str(big_b)).frames == 2
    with pytest.raises(AudioError, match="h.wav"):  # libsndfile's answer, not the first chunk's 3000 frames
        probe_file(str(twice))


def test_fields_dump_is_reused_only_when_group_id_alone_differs():
    """`_dump_fields` gives `model_dump()` of every fields object; the last dump is reused (with
    `group_id` replaced) only for a copy that shares every other value."""
    from dinos.builder import _dump_fields

    first = schema.FileFields(corpus="dinos", machine="vf2", sensor="stethoscope", label="normal",
                              origin_split="train", task_class="T3", class_name="on", group_id="g1", section=-1, domain="source",
                              attributes=[{"name": "a", "value": "1", "file_token": ""}])
    dump = _dump_fields(first, None, {})
    assert dump == first.model_dump()
    for other in (first.model_copy(update={"group_id": "g2"}), first.model_copy(update={"sensor": "microphone"}),
                  schema.FileFields(**{**first.model_dump(), "group_id": "g3"})):  # equal values, not shared
        got = _dump_fields(other, first, dump)
        assert got == other.model_dump()
        assert (got["sensor"], got["group_id"]) == (other.sensor, other.group_id)


def test_wav_entries_lists_what_sorted_rglob_lists(tmp_path):
    """`wav_entries` (one `scandir` per folder) gives the files the pathlib listing gave, in its order
    (by path components: `a/b.wav` before `a-c.wav`), with symlinks (dangling ones too) and without
    entering symlinked folders; `file_stem` is `PurePosixPath.stem`."""
    from pathlib import Path, PurePosixPath

    from dinos.build_rows import file_stem, wav_entries

    top = tmp_path / "class"
    for rel in ("b.wav", "a-c.wav", "a/b.wav", "a/x y/mic_1.WAV", "a.b/c.wav", ".wav", "a..wav", "n.wav.txt",
                "deep/er/st.Wav"):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(b"x")
    (top / "dir.wav").mkdir()
    (top / "link.wav").symlink_to(top / "b.wav")
    (top / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    (top / "dirlink.wav").symlink_to(top / "a")  # listed (a symlink named .wav), not entered
    (top / "linked").symlink_to(top / "deep")  # a symlinked folder: not entered
    want = sorted(p for p in top.rglob("*") if (p.is_file() or p.is_symlink()) and p.suffix.lower() == ".wav")
    got = wav_entries(str(top))
    assert [e.path for e in got] == [str(p) for p in want]
    assert len(got) == 10
    for name in ("a.b/c.wav", ".wav", "a..wav", "x.", "noext", "a/.hidden.wav", "clip 17.wav"):
        assert file_stem(name) == PurePosixPath(name).stem
    assert Path(got[0].path).name == got[0].name
