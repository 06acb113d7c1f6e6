"""One module (or package) per corpus: pure parsing of its names and CSVs, its `INFO` (a
`dinos.corpus.CorpusInfo`) and its builder (a `dinos.builder.ClipBuilder` subclass).

Shipped inside the wheel as `dinos.loaders`. Corpora are discovered: a module `dinos.loaders.<name>`
whose `INFO.name == <name>` is the corpus `<name>`, so adding a corpus never edits this file. Modules
are imported lazily, so `import dinos` stays light.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache


@lru_cache(maxsize=1)
def corpus_names() -> tuple[str, ...]:
    """Names of the corpora shipped with the package (module names, nothing imported)."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))


def corpus_module(corpus: str):
    """The loader module of a corpus; `DinosError` naming the known corpora otherwise."""
    if corpus not in corpus_names():
        from dinos.errors import DinosError

        raise DinosError(f"unknown corpus {corpus!r}; known: {', '.join(corpus_names())}")
    return importlib.import_module(f"{__name__}.{corpus}")


def corpus_info(corpus: str):
    """The `CorpusInfo` of a corpus."""
    return corpus_module(corpus).INFO


def builder_class(corpus: str):
    """The builder class of a corpus (the `ClipBuilder` subclass of its module whose INFO is the module's)."""
    mod = corpus_module(corpus)
    for value in vars(mod).values():
        if isinstance(value, type) and getattr(value, "INFO", None) is mod.INFO and value.__module__.startswith(mod.__name__):
            return value
    from dinos.errors import DinosError

    raise DinosError(f"loader module {mod.__name__} defines no builder class for its INFO")  # pragma: no cover
