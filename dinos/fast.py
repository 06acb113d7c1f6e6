"""Batched access to decoded clips for training loops: whole batches decoded into one buffer.

`ClipBatches(ds, batch_size)` is a map-style sequence of batches over a decoded clip dataset (what
`dinos.load_dataset(..., segment="1s")` returns): item `b` is `{"waves": (B, frames) float32,
"sampling_rate": (B,) int64, <other columns>: lists}`.

Per batch it costs the same at 4 k rows as at 4 M: the row order is computed once per epoch (and
cached), the row fields the decoder needs (path, window, recorded rate and channels, statistics)
are taken from the Arrow table once per process as flat arrays, and each batch is decoded
straight into one preallocated `(B, frames)` buffer by the dataset's own `AudioDecoder` settings
(reads grouped by recording; recordings kept open between batches, as many as the process'
descriptor limit allows: see `ClipBatches(open_files=)`). Inside a torch `DataLoader` worker that buffer is a shared-memory tensor,
so the batch crosses to the main process without a second copy. torch is never imported here:
the shared-memory path is taken only when torch is already loaded and this runs in a worker.

Orders (`shuffle=`):

- `False`: rows in dataset order (the windows of a recording are neighbours: sequential reads).
- `True` / `"full"`: a uniform random permutation of all rows per epoch (seeded by `seed`, epoch).
- `"block"`: the rows are cut into blocks of `block` consecutive rows (neighbouring windows, mostly
  of one recording) and the blocks are permuted; a batch then reads `batch_size / block`
  recordings, `block` neighbouring windows each, in one grouped read per recording. Every row
  still appears exactly once per epoch, but rows of one block always share a batch: less random
  than `"full"` (use it when reads, not compute, bound the epoch).
"""

from __future__ import annotations

import os
import sys
import threading
import warnings

import numpy as np

from .errors import AudioError, DinosError

_SHUFFLES = (False, True, "full", "block")


class ClipBatches:
    """Batches of decoded clips; the order is a seeded permutation per epoch when `shuffle`.

    Every clip of a batch must decode to the same 1-D shape (mono, fixed window), else `AudioError`
    naming the first clip that differs. Pick a channel (`channel=0`) for multi-channel corpora.
    `ds` is a dataset decoded by `dinos` (its transform an `AudioDecoder`); any other dataset whose
    `column` yields `{"array", "sampling_rate"}` dicts works too, through `ds[indices]`.

    `worker_buffers` (default True): inside a torch DataLoader worker, `"waves"` is decoded into a
    pooled shared-memory tensor and wrapped in a lease that unpickles in the main process as that
    tensor (the buffer returns to the worker's pool once every reference to it is gone). So pass
    `ClipBatches` itself to `DataLoader(..., batch_size=None)`; with `worker_buffers=False` a worker
    returns a plain numpy array (torch then copies it into shared memory).

    `open_files`: how many recordings the decoder keeps open between batches (per process). None
    (default): as many as the dataset has recordings, up to what the process' file-descriptor limit
    leaves free (`open_files_budget`), never fewer than the decoder's own `open_files` (and 0 there,
    "keep none", is respected). A full shuffle over 20 k recordings then reopens a file only on its
    first visit instead of on nearly every window. Every `ClipBatches` of a process whose decoder
    has the same settings shares that one set of open files (held until the process exits).
    """

    def __init__(
        self,
        ds,
        batch_size: int,
        *,
        shuffle: bool | str = False,
        seed: int = 0,
        drop_last: bool = False,
        column: str = "audio",
        columns: tuple[str, ...] = (),
        block: int = 8,
        worker_buffers: bool = True,
        open_files: int | None = None,
    ):
        if batch_size <= 0:
            raise DinosError(f"batch_size must be positive, got {batch_size}")
        if shuffle not in _SHUFFLES:
            raise DinosError(f"shuffle must be one of {_SHUFFLES}, got {shuffle!r}")
        if block <= 0:
            raise DinosError(f"block must be positive, got {block}")
        self.ds = ds
        self.batch_size = int(batch_size)
        self.shuffle = "full" if shuffle is True else shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.column = column
        self.columns = tuple(columns)
        self.block = int(block)
        self.worker_buffers = worker_buffers
        self.open_files = None if open_files is None else int(open_files)
        self._epoch = _shared_epoch(0)
        self._n = len(ds)
        self._order_cache: tuple | None = None
        self._fields_cache: tuple | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_order_cache"] = state["_fields_cache"] = None  # rebuilt in the receiving process
        return state

    def __setstate__(self, state: dict) -> None:
        if "epoch" in state:  # pickled before the epoch was shared (an int attribute then)
            state = {k: v for k, v in state.items() if k != "epoch"} | {"_epoch": state["epoch"]}
        self.__dict__.update(state)
        if isinstance(self._epoch, int):  # plain pickle, deepcopy: an epoch of its own, shared from here on
            self._epoch = _shared_epoch(self._epoch)

    def __copy__(self) -> ClipBatches:
        """A copy with an epoch of its own (the shared-memory epoch is shared with DataLoader
        workers, not with copies: `set_epoch` on a copy leaves this one as it is)."""
        new = object.__new__(type(self))
        new.__setstate__(self.__getstate__() | {"_epoch": self.epoch})
        return new

    @property
    def epoch(self) -> int:
        """The epoch whose permutation `__getitem__` serves (shuffle only); see `set_epoch`."""
        return int(self._epoch)

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self.set_epoch(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose permutation `__getitem__` serves (shuffle only).

        The epoch reaches DataLoader workers, persistent ones included: in a process where torch is
        loaded (when this `ClipBatches` is made, or at the first `set_epoch`, before the loader's
        first iteration starts its workers), the epoch lives in a shared-memory tensor that the
        workers' copies share. Without torch loaded by then it is a plain int of each copy; then pass
        `sampler=batches.sampler()`, whose `(epoch, batch)` keys carry it (docs/performance.md).
        Call it between epochs, before `iter(loader)`: workers read the shared epoch as they make
        each batch, so a change while an epoch is being served mixes two orders in it (the sampler's
        keys fix each epoch's order when its iteration starts)."""
        epoch = int(epoch)
        if isinstance(self._epoch, int):
            self._epoch = _shared_epoch(epoch)
        else:
            self._epoch.set(epoch)

    def sampler(self) -> _EpochKeys:
        """A torch-compatible sampler yielding `(epoch, b)` keys, the epoch read when each epoch's
        iteration starts: `set_epoch` then reaches persistent workers even when the epoch could not
        be shared (torch not loaded when this `ClipBatches` was made and first `set_epoch` ran)."""
        return _EpochKeys(self)

    def __len__(self) -> int:
        n = self._n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def order(self, epoch: int | None = None) -> np.ndarray | None:
        """The epoch's row order (None: dataset order), computed once per epoch and cached."""
        if not self.shuffle:
            return None
        epoch = self.epoch if epoch is None else int(epoch)
        key = (self.seed, epoch, self.shuffle, self.block, self._n)
        if self._order_cache is None or self._order_cache[0] != key:
            rng = np.random.default_rng([self.seed, epoch])
            if self.shuffle == "full":
                order = rng.permutation(self._n)
            else:
                blocks = rng.permutation(-(-self._n // self.block))
                order = (blocks[:, None] * self.block + np.arange(self.block)).ravel()
                order = order[order < self._n]
            self._order_cache = (key, order)
        return self._order_cache[1]

    def indices(self, b: int, epoch: int | None = None) -> np.ndarray:
        """Row indices of batch `b` in the current epoch (or `epoch`)."""
        if not 0 <= b < len(self):
            raise IndexError(f"batch {b} out of range (0..{len(self) - 1})")
        lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, self._n)
        order = self.order(epoch)
        return np.arange(lo, hi) if order is None else order[lo:hi]

    def __getitem__(self, key) -> dict:
        epoch, b = key if isinstance(key, tuple) else (None, key)
        idx = self.indices(int(b), epoch)
        fields = self._fields()
        if fields is None:
            out = self._generic(idx)
        else:
            out = self._fast(idx, fields)
        for col in self.columns:
            out[col] = self._rows(idx, col)
        return _Batch(out) if isinstance(out["waves"], _Lease) else out

    def __iter__(self):
        for b in range(len(self)):
            yield self[b]

    # -- internals --------------------------------------------------------------------------------
    def _rows(self, idx: np.ndarray, column: str | None = None):
        """`ds[idx]` (a contiguous slice when `idx` is a range: the cheapest Arrow read)."""
        ds = self.ds if column is None else self.ds.with_format(None).select_columns([column])
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        rows = ds[lo:hi] if hi - lo == len(idx) and (np.diff(idx) == 1).all() else ds[idx.tolist()]
        return rows if column is None else rows[column]

    def _generic(self, idx: np.ndarray) -> dict:
        """Any decoded dataset: decode through `ds[idx]`, then copy into the batch buffer."""
        audios = self._rows(idx)[self.column]
        first = np.asarray(audios[0]["array"])
        for a in audios:
            if a["array"].shape != first.shape or a["array"].ndim != 1:
                raise AudioError(
                    f"clip of shape {a['array'].shape} in a batch of {first.shape} clips: batches need "
                    "mono windows of one length (use segment=, tail='pad'/'drop' and channel=0)",
                    a.get("path"),
                )
        waves, view = _batch_buffer((len(audios), first.shape[0]), self.worker_buffers)
        for k, a in enumerate(audios):
            view[k] = a["array"]
        rates = np.asarray([a["sampling_rate"] for a in audios], dtype=np.int64)
        return {"waves": waves, "sampling_rate": rates}

    def _fields(self):
        """Per process, once: the decoder and flat arrays of the row fields it needs (None when the
        dataset is not decoded by a `dinos` decoder, or its rows embed bytes)."""
        if self._fields_cache is None:
            fields = _extract_fields(self.ds, self.column)
            if fields is not None:
                fields["decoder"] = _keeping_open(fields["decoder"], len(fields["paths"]), self.open_files)
            self._fields_cache = (fields,)
        return self._fields_cache[0]

    def _fast(self, idx: np.ndarray, fields: dict) -> dict:
        dec = fields["decoder"]
        counts = fields["num_frames"][idx]
        chans = fields["channels"][idx] if fields["channels"] is not None else None
        rates = fields["sample_rate"][idx] if fields["sample_rate"] is not None else None
        mono = isinstance(dec.channel, int) or (chans is not None and (chans == 1).all())
        resampled = dec.sampling_rate is not None and (rates is None or (rates != dec.sampling_rate).any())
        if not mono or resampled or (counts != counts[0]).any():
            return self._generic(idx)  # shape known only after decoding: the general path says why
        n = len(idx)
        names = fields["paths"]
        audios = [{"bytes": None, "path": names[c]} for c in fields["path_codes"][idx].tolist()]
        none = [None] * n
        stats = none
        if fields["stats"] is not None:
            mode, mean, std, rms, valid = (a[idx] for a in fields["stats"])
            stats = [{"mode": m, "mean": a, "std": s, "rms": r} if v else None
                     for m, a, s, r, v in zip(mode.tolist(), mean.tolist(), std.tolist(), rms.tolist(),
                                              valid.tolist(), strict=True)]
        waves, view = _batch_buffer((n, int(counts[0])), self.worker_buffers)
        got = dec.decode_rows(audios, fields["start_frame"][idx].tolist(), counts.tolist(), stats,
                              none if rates is None else rates.tolist(), none if chans is None else chans.tolist(),
                              out=view)
        srs = np.fromiter((g["sampling_rate"] for g in got), dtype=np.int64, count=n)
        return {"waves": waves, "sampling_rate": srs}


def open_files_budget(recordings: int) -> int:
    """How many recordings a decoder may keep open in this process: `recordings`, capped by the soft
    `RLIMIT_NOFILE` less a margin (1/8 of it, at least 1,024) for everything else that needs a
    descriptor (DataLoader pipes, shared-memory batches received, the user's own files): 1/8 of the
    limit, and at least half of a small limit (up to 1,024 descriptors). Reads the limit only: it is
    the user's to raise (`ulimit -n`). A decoder that still runs out closes half of its kept files
    and retries once (`AudioError` naming the file if that is not enough)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # no `resource` module (Windows): the default
        return 256
    if soft == getattr(resource, "RLIM_INFINITY", -1) or soft < 0:
        soft = 1 << 20
    # a margin of 1/8 of the limit, and at least half of a small one (up to 1,024); never more than
    # the limit allows, so a low `ulimit -n` (300) is not overrun by a fixed floor
    keep = soft - max(soft // 8, min(1024, soft // 2))
    return max(1, min(int(recordings), max(keep, min(256, soft // 4))))


#: The decoders `ClipBatches` made to keep files open in this process, by their settings: batches
#: over the same decoder settings share one (one set of open files), and every new one is granted
#: only what the others left of the process' descriptor budget (at least the decoder default).
#: Held for the life of the process (the decoder closes its files at exit): a dropped decoder's
#: raw descriptors would otherwise stay open unowned, and a new `ClipBatches` per epoch would
#: run the process out of descriptors.
_KEEPERS: dict = {}


def _keeping_open(dec, recordings: int, open_files: int | None):
    """`dec`, or a decoder with its settings (a copy: `copy` drops the open files) that keeps up to
    the chosen number of recordings open; shared by every `ClipBatches` of this process whose
    decoder has the same settings."""
    import copy

    if open_files is not None or dec.open_files <= 0:  # a number chosen by the user, or "keep none"
        if open_files is None or int(open_files) == dec.open_files:
            return dec
        own = copy.copy(dec)  # through __getstate__/__setstate__: a fresh per-thread file cache
        own.open_files = int(open_files)
        return own
    key = repr(sorted(dec.__getstate__().items()))
    shared = _KEEPERS.get(key)
    others = sum(d.open_files for k, d in _KEEPERS.items() if k != key)
    keep = max(1, min(open_files_budget(recordings), open_files_budget(1 << 62) - others))
    keep = max(keep, shared.open_files) if shared is not None else keep
    if shared is None:
        if keep == dec.open_files:
            return dec
        shared = copy.copy(dec)
        _KEEPERS[key] = shared
    shared.open_files = keep
    return shared


class _SharedEpoch:
    """A `ClipBatches` epoch in one slot of a shared-memory int64 torch tensor (`_EPOCH_SLOTS` slots
    per tensor, so one file descriptor serves many `ClipBatches`). DataLoader workers share it: a
    forked worker maps the same memory, and a spawned one receives the tensor through torch's
    multiprocessing pickler (registered below for `ForkingPickler`, which DataLoader workers use). A
    plain `pickle` or `copy.deepcopy` stores the int (no torch needed to load it), and the receiving
    `ClipBatches` takes a slot of its own there."""

    __slots__ = ("pool", "slot")

    def __init__(self, pool, slot: int):
        self.pool, self.slot = pool, slot

    def __int__(self) -> int:
        return int(self.pool[self.slot])

    def set(self, epoch: int) -> None:
        self.pool[self.slot] = epoch

    def __reduce__(self):
        return int, (int(self),)


_EPOCH_SLOTS = 1024
#: [tensor, slots used, pid, torch sharing strategy]: slots are handed out by the process that made
#: it, under the strategy it was made with (torch moves a tensor made under "file_descriptor" into a
#: new file when it is sent under "file_system", away from the workers that mapped it)
_epoch_pool: list = []
_EPOCH_LOCK = threading.Lock()


def _new_epoch_lock() -> None:
    global _EPOCH_LOCK
    _EPOCH_LOCK = threading.Lock()  # a fork while another thread held it must not hang the child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_epoch_lock)


def _sharing_strategy(torch) -> str | None:
    mp = getattr(torch, "multiprocessing", None)
    return mp.get_sharing_strategy() if mp is not None and hasattr(mp, "get_sharing_strategy") else None


def _share_epoch(obj: _SharedEpoch):
    return _SharedEpoch, (obj.pool, obj.slot)  # the tensor goes by descriptor (torch's reducer)


def _shared_epoch(epoch: int):
    """`epoch` in a slot of this process' shared-memory epoch tensor when torch is loaded (never
    imported here), else the int itself (each worker's copy then has its own)."""
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "zeros"):
        return epoch
    strategy = _sharing_strategy(torch)
    with _EPOCH_LOCK:
        # a forked child inherits the list: it must not hand out the parent's next slots
        if not _epoch_pool or _epoch_pool[1] == _EPOCH_SLOTS or _epoch_pool[2:] != [os.getpid(), strategy]:
            try:
                pool = torch.zeros(_EPOCH_SLOTS, dtype=torch.int64).share_memory_()
            except (RuntimeError, OSError) as exc:  # no shared memory (/dev/shm full, no descriptors)
                warnings.warn(f"ClipBatches: the epoch cannot be shared with DataLoader workers ({exc}); "
                              "pass sampler=batches.sampler() to the DataLoader", RuntimeWarning, stacklevel=3)
                return epoch
            from multiprocessing.reduction import ForkingPickler

            ForkingPickler.register(_SharedEpoch, _share_epoch)
            _epoch_pool[:] = [pool, 0, os.getpid(), strategy]
        pool, slot = _epoch_pool[0], _epoch_pool[1]
        _epoch_pool[1] += 1
    shared = _SharedEpoch(pool, slot)
    shared.set(epoch)
    return shared


class _EpochKeys:
    """Sampler of `(epoch, batch)` keys for `DataLoader(..., batch_size=None, sampler=...)`."""

    def __init__(self, batches: ClipBatches):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        epoch = self.batches.epoch
        return iter([(epoch, b) for b in range(len(self.batches))])


def _batch_buffer(shape: tuple[int, int], shared: bool = True):
    """`(returned object, float32 numpy view)`: a reused shared-memory buffer inside a torch
    DataLoader worker (the batch then crosses to the main process without a copy), else a new
    numpy array."""
    torch = sys.modules.get("torch")  # never imported here: only used when the caller loaded it
    if shared and torch is not None and torch.utils.data.get_worker_info() is not None:
        return _SHARED.lease(torch, shape)
    arr = np.empty(shape, dtype=np.float32)
    return arr, arr


class _SharedPool:
    """Shared-memory batch buffers of one DataLoader worker, each reused once the main process has
    dropped every reference to the batch it carried.

    A new shared-memory buffer costs a page fault per 4 KiB page on first write (tmpfs has no huge
    pages), which on a busy machine costs more than decoding the batch; reusing buffers avoids it.
    Each buffer has a one-int shared flag: 0 while lent out; the main process sets it to 1 from a
    finalizer on the batch tensor's storage, which runs when the batch tensor and every view of it
    are gone. At most `MAX` buffers per shape are pooled; past that a batch gets a fresh one.

    A buffer crosses to the main process once (torch passes its file descriptor through the
    worker's resource-sharer thread: a socket round trip per tensor, during which the main process
    waits for that thread to get the worker's GIL); the main process keeps it (`_RECEIVED`), and
    later batches in the same buffer send only its key `(pool nonce, slot)`.
    """

    MAX = 8

    def __init__(self):
        self.slots: list[list] = []  # [tensor, flag tensor, flag view, sent to the main process]
        self.pid = None
        self.nonce = ""

    def lease(self, torch, shape):
        if self.pid != os.getpid():  # a pool is never inherited across a fork
            self.pid, self.slots, self.nonce = os.getpid(), [], os.urandom(8).hex()
        for k, (tensor, _flag, view, _sent) in enumerate(self.slots):
            if tuple(tensor.shape) == shape and view[0] == 1:
                view[0] = 0
                return _Lease(self, k), tensor.numpy()
        tensor = _new_shared(torch, shape)
        if sum(tuple(s[0].shape) == shape for s in self.slots) >= self.MAX:
            return tensor, tensor.numpy()  # every pooled buffer still held by the main process
        flag = torch.zeros(1, dtype=torch.int32).share_memory_()
        self.slots.append([tensor, flag, flag.numpy(), False])
        return _Lease(self, len(self.slots) - 1), tensor.numpy()


_SHARED = _SharedPool()


def _new_shared(torch, shape):
    count = shape[0] * shape[1]
    new_shared = getattr(torch.UntypedStorage, "_new_shared", None)
    if new_shared is None:
        return torch.empty(shape, dtype=torch.float32).share_memory_()
    storage = new_shared(count * 4)  # shared from birth: `share_memory_()` would copy the new buffer
    return torch.empty(0, dtype=torch.float32).set_(storage, 0, shape, (shape[1], 1))


class _Lease:
    """A pooled batch buffer on its way to the main process; unpickles there as a tensor over that
    buffer, with a finalizer that hands the buffer back to the worker's pool."""

    __slots__ = ("pool", "slot")

    def __init__(self, pool: _SharedPool, slot: int):
        self.pool, self.slot = pool, slot

    def __reduce__(self):
        entry = self.pool.slots[self.slot]
        key = (self.pool.nonce, self.slot)
        if entry[3]:  # the main process holds this buffer already: its key is enough
            return _receive_known, (key,)
        entry[3] = True
        return _receive, (entry[0], entry[1], key, self.pool.pid)


class _Batch:
    """A worker's batch whose `waves` is a pooled buffer: pickled as one object, so no other array
    of it becomes a torch shared-memory tensor of its own (each of those would cost a descriptor
    round trip too). Unpickles in the main process as the batch dict, `waves` and `sampling_rate`
    tensors as `default_convert` would have made them. Returned only inside DataLoader workers."""

    __slots__ = ("batch",)

    def __init__(self, batch: dict):
        self.batch = batch

    def __reduce__(self):
        return _receive_batch, (self.batch,)


def _receive_batch(batch: dict) -> dict:
    import torch

    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}


#: Main process: pooled worker buffers received so far, `(pool nonce, slot) -> (worker pid, buffer
#: as a numpy array, flag view)`; entries of workers that have exited are dropped when a new buffer
#: arrives (non-persistent workers start a new pool every epoch).
_RECEIVED: dict[tuple[str, int], tuple[int, np.ndarray, np.ndarray]] = {}


def _receive(tensor, flag, key: tuple[str, int] | None = None, pid: int | None = None):
    """A pooled buffer's first crossing: `tensor` and `flag` arrive through torch's shared-memory
    reduction. Without `key` (the form of older pickles) the tensor itself is the batch."""
    if key is None:
        return _tracked(tensor, flag.numpy())
    for old in [k for k, v in _RECEIVED.items() if not _alive(v[0])]:
        del _RECEIVED[old]
    _RECEIVED[key] = (int(pid), tensor.numpy(), flag.numpy())
    return _receive_known(key)


def _receive_known(key: tuple[str, int]):
    """A batch in a buffer the main process already holds: a new tensor over it (its own storage,
    so the finalizer tracks this batch's references, not the buffer's)."""
    import torch

    entry = _RECEIVED.get(key)
    if entry is None:
        raise DinosError("a DataLoader worker sent a batch in a shared buffer this process never received; "
                         "pass ClipBatches(..., worker_buffers=False)")
    return _tracked(torch.from_numpy(entry[1].view()), entry[2])


def _tracked(tensor, flag: np.ndarray):
    import weakref

    def release(flag=flag) -> None:
        flag[0] = 1

    weakref.finalize(tensor.untyped_storage(), release)  # runs when the tensor and all views are gone
    return tensor


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def _extract_fields(ds, column: str) -> dict | None:
    """The row fields `AudioDecoder.decode_rows` needs, as flat arrays over all rows of `ds`."""
    from .audio import AudioDecoder

    fmt = getattr(ds, "format", None) or {}
    kwargs = fmt.get("format_kwargs") or {}
    dec = kwargs.get("transform")
    if fmt.get("type") == "dinos" and column == "audio" and kwargs.get("output") != "custom":
        # a `dinos.load_dataset` result (dinos.formatting) with no user transform on top
        from .formatting import decoder_for

        dec = decoder_for(kwargs.get("decode") or {})
    if not isinstance(dec, AudioDecoder) or dec.column != column:
        return None
    names = set(ds.column_names)
    if not {column, "start_frame", "num_frames"} <= names:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    want = [column, "start_frame", "num_frames"] + [c for c in ("sample_rate", "channels") if c in names]
    use_stats = dec.normalize and "stats" in names
    table = ds.select_columns(want + (["stats"] if use_stats else [])).with_format("arrow")[:]
    audio = table.column(column).combine_chunks()
    if audio.null_count or pc.struct_field(audio, "bytes").null_count != len(audio):
        return None  # embedded bytes (an export) or missing audio: the general path handles them
    num = table.column("num_frames")
    if num.null_count:
        return None
    paths = pc.struct_field(audio, "path")
    if paths.null_count:
        return None
    encoded = paths.dictionary_encode()

    def ints(name):
        if name not in table.column_names or table.column(name).null_count:
            return None
        return table.column(name).to_numpy().astype(np.int64, copy=False)

    stats = None
    if use_stats:
        col = table.column("stats").combine_chunks()
        if col.null_count != len(col):
            valid = col.is_valid().to_numpy(zero_copy_only=False)
            parts = [pc.struct_field(col, f).fill_null(pa.scalar(0.0) if f != "mode" else pa.scalar(""))
                     for f in ("mode", "mean", "std", "rms")]
            stats = (np.asarray(parts[0].to_pylist(), dtype=object),
                     *(p.to_numpy(zero_copy_only=False).astype(np.float64) for p in parts[1:]), valid)
    return {
        "decoder": dec,
        "paths": encoded.dictionary.to_pylist(),
        "path_codes": encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
        "start_frame": table.column("start_frame").fill_null(0).to_numpy().astype(np.int64, copy=False),
        "num_frames": num.to_numpy().astype(np.int64, copy=False),
        "sample_rate": ints("sample_rate"),
        "channels": ints("channels"),
        "stats": stats,
    }
