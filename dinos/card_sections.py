"""Card sections any corpus shares, and the template renderer (used by `dinos.cards`).

`render_template(text, slots)` fills `{{ name }}` slots of a card template; `generic_slots(info, ...)`
gives the slots every `CorpusInfo` has (`name`, `pretty_name`, `homepage`, `license`, `sample_rate`,
`loading`, `schema`, `task_count`, `tasks`, `task_table`, `split_files`, `citation`). Facts come from their homes:
the `CorpusInfo`, `dinos.schema`, `dinos.tasks` and the shipped split files.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .corpus import CorpusInfo
from .errors import DinosError, LayoutError, ParseError

TEMPLATE_DIR = Path(__file__).resolve().parent / "card_templates"


def _optional_module(name: str):
    """The module, or None when it does not exist (any other import error propagates)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------
_SLOT = re.compile(r"\{\{(.*?)\}\}")
_SLOT_NAME = re.compile(r"^[a-z][a-z0-9_]*(?::[a-z][a-z0-9_]*)?$")
Slots = Mapping[str, "str | Callable[[], str]"]


def render_template(text: str, slots: Slots, *, source: str | os.PathLike | None = None) -> str:
    """Replace every `{{ name }}` of `text` by `slots[name]` (a string, or a callable returning one).

    Slot values are inserted as they are (never re-scanned). `ParseError` naming `source` and the line
    for a slot not in `slots`, a malformed slot, or a `{{`/`}}` that opens or closes no slot. Only the
    slots the template uses are computed.
    """
    out: list[str] = []
    pos = 0

    def literal(seg: str, start: int) -> str:
        for token in ("{{", "}}"):
            i = seg.find(token)
            if i >= 0:
                line = text.count("\n", 0, start + i) + 1
                raise ParseError(f"line {line}: unbalanced {token!r} (a slot is written {{{{ name }}}})", source)
        return seg

    for m in _SLOT.finditer(text):
        name = m.group(1).strip()
        line = text.count("\n", 0, m.start()) + 1
        if not _SLOT_NAME.match(name):
            raise ParseError(f"line {line}: malformed slot {m.group(0)!r}", source)
        if name not in slots:
            raise ParseError(f"line {line}: unknown slot {{{{ {name} }}}} (known: {', '.join(sorted(slots))})", source)
        value = slots[name]
        out.append(literal(text[pos:m.start()], pos))
        out.append(value() if callable(value) else value)
        pos = m.end()
    out.append(literal(text[pos:], pos))
    return "".join(out)


def template_path(info: CorpusInfo, template_dir: str | os.PathLike | None = None) -> Path:
    """The card template of a corpus: `CorpusInfo.card_template`, or `<name>.md`, under `template_dir`."""
    return Path(template_dir or TEMPLATE_DIR) / (info.card_template or f"{info.name}.md")


def read_template(info: CorpusInfo, template_dir) -> tuple[str, Path]:
    """(text, path) of a corpus' template; `LayoutError` naming the path when there is none."""
    path = template_path(info, template_dir)
    try:
        return path.read_text(encoding="utf-8"), path
    except FileNotFoundError:
        raise LayoutError(f"no card template for corpus {info.name!r} (add it to dinos/card_templates/)",
                          path) from None


# --------------------------------------------------------------------------------------------
# Generic sections (any CorpusInfo)
# --------------------------------------------------------------------------------------------
def table(head: list[str], rows: list[list]) -> str:
    """A Markdown table (`|` in cells escaped, newlines flattened)."""
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def fmt_int(x: int) -> str:
    """An integer with thousands separators (`74,149`)."""
    return f"{x:,}"


def default_config(info: CorpusInfo, configs: Sequence[str]) -> str:
    return info.default_config if info.default_config in configs else configs[0]


def _config_rows(info: CorpusInfo, configs: Mapping[str, Sequence[str]]) -> list[tuple[str, str, tuple]]:
    descs = {c.name: c.description for c in info.configs}
    return [(c, descs.get(c, ""), tuple(splits)) for c, splits in configs.items()]


def _loading_section(info: CorpusInfo, configs: Mapping[str, Sequence[str]]) -> str:
    if not configs:
        raise DinosError(f"corpus {info.name!r} has no hub configs to describe in its card")
    first = default_config(info, list(configs))
    split = configs[first][0]
    rows = _config_rows(info, configs)
    return f"""## Loading

From the raw corpus (the published folder layout) with the `dinos` library:

```python
import dinos
ds = dinos.load_dataset("{info.name}", "{first}", data_dir="/path/to/corpus", split="{split}")
```

From a Parquet export (`dinos export {info.name} {first} --data-dir ... --out DIR`, or the Hub
repository it was pushed to) with `dinos`: audio decoded with soundfile (no torchcodec) on every
access path (`ds[i]`, `iter`, `map`, `with_format("torch")`, a torch `DataLoader`):

```python
import datasets
import dinos
ds = dinos.load_dataset("DIR", "{first}", split="{split}")  # audio = {{"array", "sampling_rate", "path"}}
ds = dinos.decode_audio(datasets.load_dataset("DIR_OR_REPO", "{first}", split="{split}"))  # same, from the Hub
```

With stock `datasets` alone the `audio` column is the stored `{{"bytes", "path"}}` struct
(`Audio(decode=False)`: stock decoding would need torchcodec). Each row embeds its clip as a
complete audio file, so soundfile reads it:

```python
import io

import datasets
import soundfile as sf

ds = datasets.load_dataset("DIR_OR_REPO", "{first}", split="{split}")
row = ds[0]
array, sampling_rate = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")  # (frames,) or (frames, channels)
```

`dinos.decode(row)` returns the row with `audio` decoded exactly as `dinos.load_dataset` does:
(channels, frames) for several channels, and the per-recording normalisation of an export built
with `--normalize`.

Configs: {", ".join(f"`{c}`" for c, _, _ in rows)}.

{table(["config", "splits", "description"], [[f"`{c}`", ", ".join(s), d] for c, d, s in rows])}
"""


def _rate_words(sampling_rate: int | None) -> str:
    return "each file at its own sampling rate" if sampling_rate is None else f"sampling rate {sampling_rate} Hz"


def _schema_section(sampling_rate: int | None) -> str:
    from . import schema

    cats = schema.categorical_names()
    rows = []
    for name, doc in schema.field_docs().items():
        kind = "ClassLabel" if name in cats else ("Audio" if name == schema.AUDIO_COLUMN else "")
        if not kind:
            feat = schema.features()[name]
            if hasattr(feat, "dtype"):
                kind = f"Value({feat.dtype})"
            elif isinstance(feat, dict):
                kind = "struct {" + ", ".join(feat) + "}"
            else:
                kind = "list of {name, value, file_token}"
        rows.append([f"`{name}`", kind, doc])
    labels = [[f"`{k}`", ", ".join(f"{i}={n}" for i, n in enumerate(v))] for k, v in cats.items()]
    return f"""## Schema

Every corpus shares one row schema (`dinos.schema.Clip`), so rows of DINOS, MIMII DUE and DCASE
concatenate. The `audio` column is the Hugging Face `Audio` type ({_rate_words(sampling_rate)}
here, `decode=False`): a struct `{{bytes, path}}`.

{table(["field", "type", "meaning"], rows)}

ClassLabel codes (fixed; `corpus` and `machine` are open strings so that any corpus concatenates):

{table(["field", "codes"], labels)}
"""


def _split_files_section(corpus: str) -> str:
    root = Path(__file__).resolve().parents[1] / "splits"
    pkg = _optional_module("dinos.split_files")
    if pkg is not None and getattr(pkg, "__file__", None):
        root = Path(pkg.__file__).parent
    base = root / "real" / corpus  # split files of the real corpus (not those of the synthetic miniatures)
    files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
    text = """## Split files

Fixed split files are generated by `recipes/make_splits.py`, shipped in the package
(`dinos.split_files`, folder `splits/` of the repository) and checksummed. They name clips by
`clip_id` (`<path relative to the corpus root>#<start frame>`), so they apply to the raw corpus and
to any export alike.
"""
    if not files:
        return text + "\nNo split file is shipped for this corpus in this version of `dinos`.\n"
    rows = [[f"`{p.relative_to(root).as_posix()}`", fmt_int(p.stat().st_size), f"`{_sha(p)}`"] for p in files]
    return (
        text
        + "\nVerify a copy with `sha256sum` against this table (or `dinos validate`):\n\n"
        + table(["file", "bytes", "sha256"], rows)
        + "\n"
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tasks(corpus: str) -> list:
    from . import tasks

    return tasks.all_tasks(corpus)


def _task_table(corpus: str) -> str:
    """One row per registered task, with the paper's results."""
    rows = []
    for t in _tasks(corpus):
        res = ", ".join(f"{r.model} {r.mean:.4f} ± {r.std:.4f}" for r in t.paper_results) or "-"
        total = fmt_int(t.paper_total) if t.paper_total is not None else "-"
        rows.append([f"`{t.name}`", f"`{t.config}`", t.kind, t.metric, t.protocol, len(t.classes), total, res])
    head = ["task", "config", "kind", "metric", "protocol", "classes", "samples (paper)", "paper results (Table 3)"]
    return table(head, rows) + "\n"


def _tasks_grouped(corpus: str) -> str:
    """The registered tasks grouped by (config, kind, metric, protocol)."""
    found = _tasks(corpus)
    groups: dict[tuple, int] = {}
    for t in found:
        key = (t.config, t.kind, t.metric, t.protocol)
        groups[key] = groups.get(key, 0) + 1
    rows = [[f"`{c}`", n, k, m, p] for (c, k, m, p), n in groups.items()]
    return table(["config", "tasks", "kind", "metric", "protocol"], rows) + "\n"


def _citation_section(info: CorpusInfo) -> str:
    text = "\n".join(info.citations[k] for k in sorted(info.citations, key=lambda k: (k == "", k)))
    return f"## Citation\n\n```bibtex\n{text.strip()}\n```\n"


def generic_slots(info: CorpusInfo, configs: Mapping[str, Sequence[str]], sampling_rate: int) -> dict:
    """The slots every corpus' template may use (`configs`: config -> splits the card describes)."""
    return {
        "name": info.name,
        "pretty_name": info.pretty_name,
        "homepage": info.homepage,
        "license": info.license,
        "sample_rate": "any" if sampling_rate is None else fmt_int(sampling_rate),
        "loading": lambda: _loading_section(info, configs),
        "schema": lambda: _schema_section(sampling_rate),
        "task_count": lambda: str(len(_tasks(info.name))),
        "tasks": lambda: _tasks_grouped(info.name),
        "task_table": lambda: _task_table(info.name),
        "split_files": lambda: _split_files_section(info.name),
        "citation": lambda: _citation_section(info),
    }


def join_parts(parts: Sequence[str]) -> str:
    """Card parts separated by one blank line; runs of blank lines collapsed to one."""
    text = "\n\n".join(p.strip("\n") for p in parts) + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
