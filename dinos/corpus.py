"""Typed corpus facts: one `CorpusInfo` per loader, the single home of what a corpus is.

Each loader module defines `INFO: CorpusInfo` (name, rates, channels, configs with their splits, split
roles and aliases, citation, license, homepage, archives with checksums, card template). Cards, Hub
configs, `dinos.load_dataset`'s split aliases, `dinos score`, `dinos download` and the benchmark read it;
none of them restates a corpus fact. This module is a leaf: it imports nothing heavy and nothing of the
rest of the package, so any module may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: What a builder split is used for. `train`/`test` roles define the `train`/`test` aliases.
SPLIT_ROLES = ("train", "test", "supplemental", "pretrain")


@dataclass(frozen=True)
class Archive:
    """One downloadable file of a corpus' official release.

    `part` groups archives (`dev`, `eval`, `additional`, ...); `year` is set for per-year corpora.
    `md5`/`size` are the publisher's figures where published ('' / None otherwise: unverified).
    `unpack_to` is the folder (relative to the download root) the archive's content belongs in, so
    that the result is exactly the layout the loader reads.
    """

    url: str
    filename: str
    part: str = ""
    year: int | None = None
    machine: str = ""
    md5: str = ""
    size: int | None = None
    unpack_to: str = ""


@dataclass(frozen=True)
class ConfigInfo:
    """One builder config: its name, a one-line description, the splits a full copy yields, and its year."""

    name: str
    description: str
    splits: tuple[str, ...]
    year: int | None = None
    machine: str | None = None


@dataclass(frozen=True)
class CorpusInfo:
    """The facts of one corpus. `split_roles` maps each builder split to a role in `SPLIT_ROLES`;
    the aliases `train`/`test`/... join every split of that role (DCASE `test` = `dev_test` + `eval_test`).
    `citations` maps a key ('' for the corpus, or a year) to BibTeX."""

    name: str
    pretty_name: str
    description: str
    sample_rate: int | None  # None: any rate (a user's own recordings); rows carry each file's rate
    channels: int | None
    license: str  # human-readable, with its verification status
    license_id: str  # Hugging Face license id (`unknown`, `other`, `cc-by-nc-sa-4.0`, ...)
    homepage: str
    citations: Mapping[str, str]
    configs: tuple[ConfigInfo, ...]
    default_config: str | None
    split_roles: Mapping[str, str]
    hub_configs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    size_category: str = ""
    card_template: str = ""  # file name under dinos/card_templates/ ('' = <name>.md)
    archives: tuple[Archive, ...] = ()
    synth_module: str = ""  # dotted module with write(out, ...) for `dinos synth`
    notes: Mapping[str, str] = field(default_factory=dict)

    # -- derived views (no new facts) -------------------------------------------------------
    @property
    def config_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.configs)

    def config(self, name: str) -> ConfigInfo:
        for c in self.configs:
            if c.name == name:
                return c
        from .errors import DinosError

        raise DinosError(f"unknown {self.name} config {name!r}; known: {', '.join(self.config_names)}")

    @property
    def split_aliases(self) -> dict[str, tuple[str, ...]]:
        """Role -> builder splits of that role, for every role that some split has under another name."""
        out: dict[str, list[str]] = {}
        for split, role in self.split_roles.items():
            out.setdefault(role, []).append(split)
        return {role: tuple(splits) for role, splits in out.items() if tuple(splits) != (role,)}

    def splits_of_role(self, role: str, available) -> list[str]:
        """The splits of `available` that play `role` (a split named like the role counts too)."""
        return [s for s in available if self.split_roles.get(s, s) == role]

    def citation(self, key: str | int = "") -> str:
        """BibTeX for `key` (a year for per-year corpora); the corpus-wide entry when there is none."""
        return self.citations.get(str(key)) or self.citations.get("", "")
