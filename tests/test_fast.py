"""`ClipBatches`: the fast batch path equals the dataset's own decode, orders (full and block shuffle)
are permutations computed once per epoch, and DataLoader workers return shared-memory batches."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dinos
from dinos.errors import DinosError
from dinos.fast import ClipBatches, _extract_fields

from .conftest import make_dinos_tree


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = make_dinos_tree(tmp_path_factory.mktemp("fast") / "dinos", datasets=("VF2",), per_class=1,
                           pretrain_seconds=6.5)
    cache = str(tmp_path_factory.mktemp("fast_cache"))
    return dinos.load_dataset("dinos", "pretraining", data_dir=root, split="train", segment="1s", tail="pad",
                              channel=0, cache_dir=cache)


def test_fast_batches_equal_the_datasets_own_decode(clips):
    assert _extract_fields(clips, "audio") is not None  # the fast path is the one under test
    batches = ClipBatches(clips, 5, shuffle=True, seed=1, columns=("clip_id",))
    for b in range(len(batches)):
        got, idx = batches[b], batches.indices(b)
        want = np.stack([a["array"] for a in clips[idx.tolist()]["audio"]])
        np.testing.assert_array_equal(got["waves"], want)
        assert got["clip_id"] == clips.with_format(None)[idx.tolist()]["clip_id"]
        assert (got["sampling_rate"] == 48_000).all()


def test_normalised_rows_go_through_the_fast_path_bit_identically(tmp_path):
    root = make_dinos_tree(tmp_path / "dinos", datasets=("VF2",), per_class=1, pretrain_seconds=3.0)
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=root, split="train", segment="1s", channel=0,
                            normalize="rms", cache_dir=str(tmp_path / "c"))
    fields = _extract_fields(ds, "audio")
    assert fields is not None and fields["stats"] is not None
    batches = ClipBatches(ds, 4, shuffle="block", block=2)
    for b in range(len(batches)):
        want = np.stack([a["array"] for a in ds[batches.indices(b).tolist()]["audio"]])
        np.testing.assert_array_equal(batches[b]["waves"], want)


@pytest.mark.parametrize("shuffle", [False, True, "block"])
def test_every_order_is_a_permutation_computed_once_per_epoch(clips, shuffle):
    batches = ClipBatches(clips, 4, shuffle=shuffle, block=3, seed=2)
    seen = np.concatenate([batches.indices(b) for b in range(len(batches))])
    assert sorted(seen.tolist()) == list(range(len(clips)))
    if shuffle:
        first = batches.order()
        assert batches.order() is first  # cached, not recomputed per batch
        batches.set_epoch(1)
        assert not np.array_equal(batches.order(), first)
        assert np.array_equal(batches.order(epoch=0), first)
    if shuffle == "block":  # whole blocks of 3 neighbouring rows, in a permuted block order
        order, pos, firsts = batches.order().tolist(), 0, []
        while pos < len(order):
            first = order[pos]
            assert first % 3 == 0
            block = list(range(first, min(first + 3, len(clips))))
            assert order[pos : pos + len(block)] == block
            firsts.append(first)
            pos += len(block)
        assert firsts != sorted(firsts)


def test_bad_options_are_errors(clips):
    with pytest.raises(DinosError, match="shuffle must be"):
        ClipBatches(clips, 4, shuffle="random")
    with pytest.raises(DinosError, match="batch_size"):
        ClipBatches(clips, 0)


def test_pickled_batches_rebuild_their_caches(clips):
    batches = ClipBatches(clips, 4, shuffle=True)
    first = batches[0]["waves"]
    clone = pickle.loads(pickle.dumps(batches))
    assert clone._fields_cache is None and clone._order_cache is None
    np.testing.assert_array_equal(clone[0]["waves"], first)


def test_generic_path_for_datasets_not_decoded_by_dinos(clips):
    from dinos.audio import AudioDecoder

    decoder = AudioDecoder(channel=0)
    wrapped = clips.with_format(None).with_transform(lambda batch: decoder(batch))  # not an AudioDecoder
    assert _extract_fields(wrapped, "audio") is None
    fast, generic = ClipBatches(clips, 4, shuffle=True), ClipBatches(wrapped, 4, shuffle=True)
    for b in range(len(fast)):
        np.testing.assert_array_equal(fast[b]["waves"], generic[b]["waves"])


def test_dataloader_workers_return_shared_batches_and_follow_set_epoch(clips):
    torch = pytest.importorskip("torch")
    batches = ClipBatches(clips, 4, shuffle=True, seed=5)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, sampler=batches.sampler(), num_workers=1,
                                         persistent_workers=True)
    for epoch in (0, 1):
        batches.set_epoch(epoch)
        got = [b["waves"] for b in loader]
        want = [torch.from_numpy(batches[(epoch, b)]["waves"]) for b in range(len(batches))]
        assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))
        # a view of a pooled worker buffer (never copied); past the pool's 8 buffers held at once,
        # a fresh shared-memory tensor
        assert _in_received_buffer(got[0]) and all(_in_received_buffer(g) or g.is_shared() for g in got)


@pytest.mark.parametrize("context, made", [("fork", "new"), ("spawn", "new"), ("fork", "deepcopy"),
                                           ("fork", "pickled")])
def test_set_epoch_reaches_persistent_workers_without_the_sampler(clips, context, made):
    """A plain `DataLoader(batches, batch_size=None, persistent_workers=True)`: the workers' copies
    share the epoch (shared memory), so each epoch is served in its own order, the one the main
    process computes; before, every epoch repeated epoch 0's order. Also for a deep copy or an
    unpickled `ClipBatches` (their epoch arrives as an int and is shared again)."""
    torch = pytest.importorskip("torch")
    batches = ClipBatches(clips, 4, shuffle=True, seed=5)
    if made == "deepcopy":
        batches = copy.deepcopy(batches)
    elif made == "pickled":
        batches = pickle.loads(pickle.dumps(batches))
    loader = torch.utils.data.DataLoader(batches, batch_size=None, num_workers=2, persistent_workers=True,
                                         multiprocessing_context=context)
    seen = []
    for epoch in (0, 1, 2):
        if epoch or made == "new":  # a copy's epoch is shared from the copy on, not from its first set_epoch
            batches.set_epoch(epoch)
        got = [b["waves"].clone() for b in loader]
        want = [torch.from_numpy(batches[(epoch, b)]["waves"]) for b in range(len(batches))]
        assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True)), epoch
        seen.append(torch.cat(got))
    assert not torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])


def test_epoch_attribute_copies_and_old_pickles(clips):
    pytest.importorskip("torch")
    batches = ClipBatches(clips, 4, shuffle=True, seed=5)
    batches.epoch = 1  # the attribute sets it too
    assert batches.epoch == 1 and np.array_equal(batches.order(), batches.order(1))
    for other in (copy.copy(batches), copy.deepcopy(batches), pickle.loads(pickle.dumps(batches))):
        assert other.epoch == 1
        other.set_epoch(7)  # copies have an epoch of their own
        assert other.epoch == 7 and batches.epoch == 1
    old = {k: v for k, v in batches.__getstate__().items() if k != "_epoch"} | {"epoch": 2}  # pickled at 0bd7182
    restored = object.__new__(ClipBatches)
    restored.__setstate__(old)
    assert restored.epoch == 2 and np.array_equal(restored.order(), batches.order(2))


def test_shared_epochs_cost_one_descriptor_per_1024(clips):
    pytest.importorskip("torch")
    before = len(os.listdir("/proc/self/fd"))
    kept = [ClipBatches(clips, 4, shuffle=True, seed=s) for s in range(1500)]
    for k, b in enumerate(kept):
        b.set_epoch(k)
    assert len(os.listdir("/proc/self/fd")) - before <= 2
    assert [b.epoch for b in kept] == list(range(1500))
    ready, go = os.pipe()
    pid = os.fork()  # a forked child makes its own: it must not take the slot the parent takes next
    if pid == 0:
        try:
            os.read(ready, 1)  # after the parent took its slot
            ClipBatches(clips, 4).set_epoch(99)
        finally:
            os._exit(0)
    mine = ClipBatches(clips, 4)
    os.write(go, b"x")
    os.waitpid(pid, 0)
    os.close(ready)
    os.close(go)
    assert mine.epoch == 0 and [b.epoch for b in kept] == list(range(1500))


def test_a_fork_while_the_epoch_lock_is_held_does_not_hang_the_child(clips):
    pytest.importorskip("torch")
    import time

    import dinos.fast

    with dinos.fast._EPOCH_LOCK:  # another thread in _shared_epoch at the moment of the fork
        pid = os.fork()
        if pid == 0:
            try:
                ClipBatches(clips, 4).set_epoch(1)
            finally:
                os._exit(0)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert done[0] == pid and done[1] == 0, "the forked child hung on the inherited lock"


def test_a_new_sharing_strategy_starts_a_new_epoch_pool(clips):
    """torch moves a tensor shared under "file_descriptor" into a new file when a loader sends it under
    "file_system": batches made after the change get a pool of their own, so the running workers of
    the earlier ones keep seeing their epochs."""
    torch = pytest.importorskip("torch")
    import dinos.fast

    before = torch.multiprocessing.get_sharing_strategy()
    first = ClipBatches(clips, 4, shuffle=True)
    try:
        torch.multiprocessing.set_sharing_strategy("file_system")
        second = ClipBatches(clips, 4, shuffle=True)
        assert second._epoch.pool is not first._epoch.pool
        assert dinos.fast._epoch_pool[3] == "file_system"
    finally:
        torch.multiprocessing.set_sharing_strategy(before)


def test_an_epoch_that_cannot_be_shared_warns_and_stays_an_int(clips, monkeypatch):
    torch = pytest.importorskip("torch")
    import dinos.fast

    def no_shm(self):
        raise RuntimeError("unable to open shared memory object")

    monkeypatch.setattr(dinos.fast, "_epoch_pool", [])
    monkeypatch.setattr(torch.Tensor, "share_memory_", no_shm)
    with pytest.warns(RuntimeWarning, match="sampler=batches.sampler"):
        batches = ClipBatches(clips, 4, shuffle=True, seed=5)
    assert type(batches._epoch) is int


def test_without_torch_nothing_imports_it_and_a_pickle_loads(clips, tmp_path):
    """A `ClipBatches` pickled where torch is loaded loads where torch cannot be imported; its epoch
    is an int there, and `set_epoch` keeps it one (torch is never imported by dinos.fast)."""
    pytest.importorskip("torch")
    batches = ClipBatches(clips, 4, shuffle=True, seed=5)
    batches.set_epoch(3)
    (tmp_path / "b.pkl").write_bytes(pickle.dumps(batches))
    code = ("import sys, pickle; sys.modules['torch'] = None\n"
            f"b = pickle.loads(open({str(tmp_path / 'b.pkl')!r}, 'rb').read())\n"
            "assert type(b._epoch) is int and b.epoch == 3, b._epoch\n"
            "b.set_epoch(4); assert type(b._epoch) is int and b.epoch == 4\n"
            "print(*b.order()[:5].tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [int(x) for x in out.stdout.split()] == batches.order(4)[:5].tolist()


def _in_received_buffer(tensor) -> bool:
    from dinos.fast import _RECEIVED

    ptr = tensor.data_ptr()
    return any(buf.ctypes.data <= ptr < buf.ctypes.data + buf.nbytes for _pid, buf, _flag in _RECEIVED.values())


def test_each_pooled_buffer_crosses_to_the_main_process_once(clips):
    """Later batches in a buffer the main process holds carry only its key (no descriptor passing)."""
    torch = pytest.importorskip("torch")

    from dinos.fast import _RECEIVED

    before = set(_RECEIVED)
    batches = ClipBatches(clips, 4, shuffle=True, seed=3)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, num_workers=1, prefetch_factor=2)
    got = [(b["waves"].clone(), b["sampling_rate"]) for b in loader]  # each batch dropped at once
    for b, (waves, rates) in enumerate(got):
        np.testing.assert_array_equal(waves.numpy(), batches[b]["waves"])
        assert isinstance(rates, torch.Tensor) and (rates == 48_000).all()
    assert 0 < len(set(_RECEIVED) - before) < len(batches)  # buffers reused: fewer crossings than batches


def test_a_reused_buffer_is_sent_as_its_key_only():
    torch = pytest.importorskip("torch")
    import gc
    from multiprocessing.reduction import ForkingPickler  # torch registers its tensor reductions here

    from dinos.fast import _receive_known, _SharedPool

    pool = _SharedPool()
    lease, view = pool.lease(torch, (2, 3))
    view[...] = 1.5
    assert pool.slots[lease.slot][3] is False
    got = ForkingPickler.loads(ForkingPickler.dumps(lease))  # first crossing: the buffer itself
    assert pool.slots[lease.slot][3] is True
    np.testing.assert_array_equal(got.numpy(), np.full((2, 3), 1.5, np.float32))
    again, _ = pool.lease(torch, (2, 3))
    assert again.slot != lease.slot  # still held by the receiver: not lent twice
    del got
    gc.collect()
    third, view3 = pool.lease(torch, (2, 3))
    assert third.slot == lease.slot  # handed back once the batch tensor was dropped
    view3[...] = -2.0
    func, args = third.__reduce__()
    assert func is _receive_known and args == ((pool.nonce, third.slot),)  # no buffer, no descriptor
    np.testing.assert_array_equal(func(*args).numpy(), np.full((2, 3), -2.0, np.float32))


def test_a_buffer_key_without_its_buffer_is_a_clear_error():
    from dinos.fast import _receive_known

    with pytest.raises(DinosError, match="never received"):
        _receive_known(("no-such-pool", 0))


def test_worker_buffers_are_reused_only_after_the_main_process_drops_them(clips):
    torch = pytest.importorskip("torch")
    batches = ClipBatches(clips, 4, shuffle=True, seed=7)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, num_workers=1, prefetch_factor=2)
    held = []
    for b, got in enumerate(loader):
        if b % 2 == 0:
            held.append((b, got["waves"][1:]))  # a view only: the batch stays alive through it
    for b, view in held:  # still the data of its own batch: never overwritten by a later batch
        np.testing.assert_array_equal(view.numpy(), batches[b]["waves"][1:])


def test_released_lease_flags_its_buffer_only_when_every_view_is_gone():
    torch = pytest.importorskip("torch")
    import gc

    from dinos.fast import _receive

    flag = torch.zeros(1, dtype=torch.int32)
    tensor = _receive(torch.ones(3, 5), flag)
    view = tensor[1]
    del tensor
    gc.collect()
    assert int(flag[0]) == 0
    del view
    gc.collect()
    assert int(flag[0]) == 1


def test_the_loading_path_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys, dinos, dinos.fast, dinos.decoder, dinos.wav\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def _index_over_files(folder, n_files: int, frames: int = 480):
    """A decoded dataset of one window per file over `n_files` small PCM_16 WAV files."""
    import datasets
    import pyarrow as pa
    import soundfile as sf

    from dinos.audio import AudioDecoder

    rng = np.random.default_rng(0)
    names = []
    for i in range(n_files):
        path = folder / f"f{i:04d}.wav"
        sf.write(path, rng.integers(-3000, 3000, frames, dtype=np.int16), 8_000, subtype="PCM_16")
        names.append(str(path))
    paths = pa.array(names)
    table = pa.table({
        "audio": pa.StructArray.from_arrays([pa.nulls(n_files, pa.binary()), paths], names=["bytes", "path"]),
        "start_frame": pa.array(np.zeros(n_files, np.int64)),
        "num_frames": pa.array(np.full(n_files, frames, np.int64)),
        "sample_rate": pa.array(np.full(n_files, 8_000, np.int32)),
        "channels": pa.array(np.ones(n_files, np.int32)),
    })
    return datasets.Dataset(datasets.table.InMemoryTable(table)).with_transform(AudioDecoder(channel=0))


def test_a_full_shuffle_opens_each_recording_once_when_the_limit_allows(tmp_path, monkeypatch):
    import resource

    import dinos.audio
    import dinos.fast as fast

    monkeypatch.setattr(fast, "_KEEPERS", {})
    monkeypatch.setattr(resource, "getrlimit", lambda _what: (20_000, 20_000))  # whatever the CI's limit
    ds = _index_over_files(tmp_path, 300)  # more recordings than the decoder's default 256 kept open
    opened = []
    real = dinos.audio._Source.__init__

    def counting(self, path, *args, **kwargs):
        opened.append(path)
        real(self, path, *args, **kwargs)

    monkeypatch.setattr(dinos.audio._Source, "__init__", counting)
    for open_files, reopened in ((None, False), (200, True)):  # 200: fewer than the 300 recordings
        batches = ClipBatches(ds, 16, shuffle=True, seed=4, open_files=open_files)
        for epoch in (0, 1):
            batches.set_epoch(epoch)
            reopens = 0
            for b in range(len(batches)):
                want = np.stack([a["array"] for a in ds[batches.indices(b).tolist()]["audio"]])
                opened.clear()  # the reference decode above opens files through the dataset's own decoder
                np.testing.assert_array_equal(batches[b]["waves"], want)
                reopens += len(opened)
            if epoch == 1:  # every recording was opened in epoch 0
                assert (reopens > 0) is reopened, (open_files, reopens)


def test_open_files_budget_follows_the_soft_limit(monkeypatch):
    import resource

    from dinos.fast import open_files_budget

    monkeypatch.setattr(resource, "getrlimit", lambda _what: (20_000, 20_000))
    assert open_files_budget(5_000) == 5_000
    assert open_files_budget(50_000) == 20_000 - 2_500  # 1/8 of the limit kept free
    assert open_files_budget(10) == 10  # no more than there are recordings
    monkeypatch.setattr(resource, "getrlimit", lambda _what: (1_024, 4_096))
    assert open_files_budget(50_000) == 512  # the common default: half of it kept free
    monkeypatch.setattr(resource, "getrlimit", lambda _what: (300, 4_096))
    assert open_files_budget(50_000) == 150  # a low limit is never overrun by a fixed floor


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors through /proc")
def test_a_finished_thread_closes_the_recordings_it_kept_open(tmp_path, monkeypatch):
    import gc
    import threading

    import dinos.fast as fast

    monkeypatch.setattr(fast, "_KEEPERS", {})
    ds = _index_over_files(tmp_path, 60)
    batches = ClipBatches(ds, 8, shuffle=True, seed=0)
    batches[0]  # noqa: B018 - the main thread's own kept files, opened before counting
    before = _open_fds()
    for _ in range(3):  # one prefetch thread per epoch, as a training loop might use
        t = threading.Thread(target=lambda: [batches[b] for b in range(len(batches))])
        t.start()
        t.join()
        gc.collect()
    assert _open_fds() <= before + 2  # each thread's kept-open recordings closed with it (was +60 each)


def test_running_out_of_descriptors_closes_kept_files_and_carries_on(tmp_path):
    """Under a low `ulimit -n`, a decoder that keeps more files open than fit gives half back and
    retries; batches stay bit-identical to the dataset's own decode."""
    ds_dir = tmp_path / "files"
    ds_dir.mkdir()
    code = f"""
import resource, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from tests.test_fast import _index_over_files
import numpy as np
from pathlib import Path
from dinos.fast import ClipBatches
ds = _index_over_files(Path({str(ds_dir)!r}), 400)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (300, hard))
batches = ClipBatches(ds, 16, shuffle=True, seed=1, open_files=390)  # more than the limit allows
for epoch in (0, 1):
    batches.set_epoch(epoch)
    for b in range(len(batches)):
        want = np.stack([np.asarray(a["array"]) for a in ds[batches.indices(b).tolist()]["audio"]])
        np.testing.assert_array_equal(batches[b]["waves"], want)
print("ok", batches.decoder.open_files if hasattr(batches, "decoder") else "")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok")


def test_batches_share_kept_open_files_and_split_the_budget(monkeypatch):
    import resource

    import dinos.fast as fast
    from dinos.audio import AudioDecoder

    monkeypatch.setattr(fast, "_KEEPERS", {})
    monkeypatch.setattr(resource, "getrlimit", lambda _what: (20_000, 20_000))
    first = fast._keeping_open(AudioDecoder(channel=0), 15_000, None)
    assert first.open_files == 15_000 and fast._keeping_open(AudioDecoder(channel=0), 15_000, None) is first
    other = fast._keeping_open(AudioDecoder(channel=1), 15_000, None)  # other settings: what is left
    assert other is not first and other.open_files == 17_500 - 15_000
    assert fast._keeping_open(AudioDecoder(channel=0, open_files=0), 15_000, None).open_files == 0  # keep none
    mine = fast._keeping_open(AudioDecoder(channel=0), 15_000, 7)
    assert mine.open_files == 7 and mine is not first and first.open_files == 15_000


@pytest.mark.parametrize("open_files", [0, 1, 4])
def test_a_batch_reading_more_files_than_are_kept_open(tmp_path, open_files):
    """The LRU may drop a source the current batch still reads; it is closed only after the batch."""
    ds = _index_over_files(tmp_path, 40)
    batches = ClipBatches(ds, 32, shuffle=True, seed=2, open_files=open_files)
    for b in range(len(batches)):
        want = np.stack([a["array"] for a in ds[batches.indices(b).tolist()]["audio"]])
        np.testing.assert_array_equal(batches[b]["waves"], want)
    before = _open_fds() if os.path.isdir("/proc/self/fd") else None
    batches[0]  # noqa: B018
    if before is not None:  # nothing beyond what the LRU keeps stays open after a batch
        assert _open_fds() <= before + max(open_files, 0) + 1
