"""The loader contract, run the same way over every registered corpus (mirdata/soundata style).

A corpus is a module `dinos.loaders.<name>` with `INFO` (a `dinos.corpus.CorpusInfo`), a builder class
and a synth module (`INFO.synth_module`) that writes a miniature copy in the published layout. For every
registered corpus this module checks: the facts are complete and consistent; every config builds on a
tiny synthetic tree; every row validates against the one schema; the splits built are the config's
documented splits and the `train`/`test` aliases join exactly the splits of that role; the citation and
license are present; every file-name grammar round-trips (`parse(format(x)) == x`); the card renders.

Adding a corpus adds it here automatically (nothing in this file names a corpus).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import dinos
from dinos import cards, schema
from dinos.corpus import SPLIT_ROLES, CorpusInfo
from dinos.loaders import builder_class, corpus_info, corpus_module, corpus_names

CORPORA = corpus_names()


def test_every_shipped_loader_is_registered():
    assert set(CORPORA) >= {"dinos", "mimii_due", "dcase_task2"}
    assert dinos.corpora() == list(CORPORA)


@pytest.mark.parametrize("corpus", CORPORA)
def test_corpus_info_is_complete_and_consistent(corpus):
    info = corpus_info(corpus)
    assert isinstance(info, CorpusInfo)
    assert info.name == corpus
    assert info.pretty_name and info.description and info.homepage.startswith("https://")
    assert (info.sample_rate is None or info.sample_rate > 0) and (info.channels is None or info.channels > 0)
    assert info.license and info.license_id
    assert info.citation().lstrip().startswith("@"), "corpus-wide BibTeX missing"
    for cfg in info.configs:
        year_bib = info.citation(cfg.year) if cfg.year is not None else info.citation()
        assert year_bib.lstrip().startswith("@")
    names = info.config_names
    assert len(set(names)) == len(names) and names
    assert info.default_config in names
    assert set(info.hub_configs) <= set(names)
    assert set(info.split_roles.values()) <= set(SPLIT_ROLES)
    for cfg in info.configs:
        assert cfg.description
        assert cfg.splits and set(cfg.splits) <= set(info.split_roles), (cfg.name, cfg.splits)
    cls = builder_class(corpus)
    assert [c.name for c in cls.BUILDER_CONFIGS] == list(names)
    assert cls.DEFAULT_CONFIG_NAME == info.default_config
    synth = importlib.import_module(info.synth_module)
    assert "scale" in inspect.signature(synth.write).parameters


@pytest.mark.parametrize("corpus", CORPORA)
def test_name_grammars_round_trip(corpus):
    """`name_round_trips()` yields (value, parse(format(value))) pairs from the loader's own grammars."""
    mod = corpus_module(corpus)
    pairs = list(mod.name_round_trips())
    assert pairs, f"{corpus}: name_round_trips() yielded nothing"
    for original, parsed in pairs:
        assert parsed == original


@pytest.mark.parametrize("corpus", CORPORA)
def test_card_renders_from_corpus_info(corpus):
    info = corpus_info(corpus)
    text = cards.render_card(corpus)
    assert text.startswith("---\n")
    assert info.pretty_name in text
    assert info.citation().strip().splitlines()[0] in text
    for name in info.hub_configs or info.config_names:
        assert f"config_name: {name}" in text


# ------------------------------------------------------------------------------------------------
# Building every config on a tiny synthetic tree
# ------------------------------------------------------------------------------------------------
def _variants(corpus: str) -> list[dict]:
    """Synth options for tiny trees: the synth module's `TINY_VARIANTS`, else one small tree."""
    synth = importlib.import_module(corpus_info(corpus).synth_module)
    return list(getattr(synth, "TINY_VARIANTS", [{"scale": 0.1}]))


def _configs_of_variant(info: CorpusInfo, variant: dict) -> list[str]:
    year = variant.get("year")
    return [c.name for c in info.configs if year is None or c.year in (None, year)]


_CASES = [
    pytest.param(corpus, i, id=f"{corpus}-{i}")
    for corpus in CORPORA
    for i, _ in enumerate(_variants(corpus))
]


@pytest.fixture(scope="module")
def tiny_trees(tmp_path_factory):
    made: dict[tuple[str, int], Path] = {}

    def tree(corpus: str, i: int) -> Path:
        if (corpus, i) not in made:
            out = tmp_path_factory.mktemp(f"{corpus}-{i}") / "data"
            synth = importlib.import_module(corpus_info(corpus).synth_module)
            opts = {"seed": 0, "progress": False, **_variants(corpus)[i]}
            synth.write(out, **opts)
            made[(corpus, i)] = out
        return made[(corpus, i)]

    return tree


def _row_as_clip(ds, row: dict) -> schema.Clip:
    import datasets

    fields = dict(row)
    fields.pop(schema.AUDIO_COLUMN)
    for name, feat in ds.features.items():
        if isinstance(feat, datasets.ClassLabel) and isinstance(fields.get(name), int):
            fields[name] = feat.int2str(fields[name])
    return schema.Clip(**fields)


@pytest.mark.slow
@pytest.mark.parametrize(("corpus", "variant"), _CASES)
def test_every_config_builds_rows_validate_and_aliases_join_roles(corpus, variant, tiny_trees, tmp_path):
    import warnings

    info = corpus_info(corpus)
    root = tiny_trees(corpus, variant)
    cache = str(tmp_path / "cache")
    built_any = False
    for config in _configs_of_variant(info, _variants(corpus)[variant]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                dd = dinos.load_dataset(corpus, config, data_dir=root, cache_dir=cache, decode=False)
            except dinos.LayoutError as exc:
                # a config whose machines the tiny tree does not hold (e.g. a machine only in the
                # full release) may find no files; anything else is a failure
                assert "no audio files" in str(exc), exc
                continue
        built_any = True
        documented = set(info.config(config).splits)
        assert set(dd) <= documented, (config, sorted(dd), sorted(documented))
        features = schema.features()
        for split, ds in dd.items():
            assert ds.features == features, (config, split)
            assert len(ds) > 0
            for row in (ds[0], ds[len(ds) - 1]):
                clip = _row_as_clip(ds, row)
                assert clip.corpus == corpus
                assert clip.clip_id == schema.make_clip_id(clip.path, clip.start_frame)
        for role, members in info.split_aliases.items():
            present = [s for s in members if s in dd]
            if not present:
                continue
            joined = dinos.load_dataset(corpus, config, data_dir=root, cache_dir=cache, decode=False, split=role)
            assert len(joined) == sum(len(dd[s]) for s in present), (config, role)
    assert built_any, f"{corpus}: no config built on the tiny tree"
