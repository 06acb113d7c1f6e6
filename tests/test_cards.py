"""Dataset cards: committed cards are current, deterministic, and carry the facts they promise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from dinos import cards, schema
from dinos.errors import ParseError

ROOT = Path(__file__).resolve().parents[1]


def test_committed_cards_are_current():
    diffs = cards.make_cards(ROOT / "cards", check=True)
    assert diffs == [], "cards are stale: run `python recipes/make_cards.py`\n" + "".join(diffs)


def test_check_fails_with_a_diff_on_drift(tmp_path):
    cards.make_cards(tmp_path)
    card = cards.card_path("dinos", tmp_path)
    card.write_text(card.read_text().replace("| T17 |", "| T17x |"))
    res = subprocess.run([sys.executable, str(ROOT / "recipes/make_cards.py"), "--check", "--cards-dir", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert "-| T17x |" in res.stdout and "+| T17 |" in res.stdout
    (tmp_path / "mimii_due" / "README.md").unlink()
    assert any("missing" in d for d in cards.make_cards(tmp_path, check=True))


def test_rendering_is_deterministic():
    for corpus in cards.CARD_CORPORA:
        assert cards.render_card(corpus) == cards.render_card(corpus)


@pytest.mark.parametrize("corpus,rate", [("dinos", 48_000), ("mimii_due", 16_000), ("dcase_task2", 16_000)])
def test_header_configs_and_features(corpus, rate):
    header = cards.read_card_header(cards.render_card(corpus))
    assert header["task_categories"] == ["audio-classification"] and header["license"]
    names = [c["config_name"] for c in header["configs"]]
    assert names == cards.hub_configs(corpus)
    assert sum(bool(c.get("default")) for c in header["configs"]) <= 1
    for c in header["configs"]:
        for f in c["data_files"]:
            assert f["path"] == f"data/{c['config_name']}/{f['split']}-*.parquet"
    for info in header["dataset_info"]:
        feats = datasets.Features._from_yaml_list(info["features"])
        assert feats == schema.features(sampling_rate=rate)


def test_dinos_card_content():
    from dinos.loaders import dinos as D

    text = cards.render_card("dinos")
    for c in D.CLASSES:  # every class with its paper count (Table 2)
        assert f"| {c.task} | {c.dataset} | {c.name} |" in text and f"{c.paper_count:,}" in text
    assert "**T17 chatter.**" in text and "012-3.0_6.35_76.2_8000_chatter" in text
    assert "| T26 | `Yornew_anomaly` | 618 | 304 | matches |" in text
    assert "| Shop floor | microphone | 1,851 | 59 s |" in text
    assert "@article{han2025dinos" in text and "License: **unverified**" in text
    assert "15 % of the samples train" in text


def test_mimii_and_dcase_card_content():
    mimii = cards.render_card("mimii_due")
    assert "| pump | 01 | 1,000 | 100 + 100 | -12 | 3 | 100 + 100 | -18 | SNR variations between domains |" in mimii
    assert "Training clips: 30,122 source, 90 target." in mimii  # paper Table 1 totals
    assert "license_name: unverified" in mimii
    dcase = cards.render_card("dcase_task2")
    assert "| 2026 |" in dcase and "two channels" in dcase and "max_fpr=0.1" in dcase
    assert "Task registry (`dinos.tasks`)" in dcase


def test_read_card_header_errors():
    with pytest.raises(ParseError, match="no YAML header"):
        cards.read_card_header("# title\n")
    with pytest.raises(ParseError, match="not closed"):
        cards.read_card_header("---\na: 1\n")
    with pytest.raises(ParseError, match="does not parse"):
        cards.read_card_header("---\na: [\n---\n")


# --------------------------------------------------------------------------------------------
# Templates: the renderer, and rendering any CorpusInfo
# --------------------------------------------------------------------------------------------
def test_render_template_fills_slots_and_fails_loudly():
    used = []
    slots = {"a": "A", "b": lambda: used.append("b") or "B", "table:t": "{{ a }}", "unused": lambda: used.append("u")}
    assert cards.render_template("x {{a}} {{ b }} {{  table:t }}", slots) == "x A B {{ a }}"  # values not re-scanned
    assert used == ["b"]  # only the slots the template uses are computed
    with pytest.raises(ParseError, match=r"line 2: unknown slot \{\{ nope \}\}") as err:
        cards.render_template("ok\n{{ nope }}", slots, source="t.md")
    assert err.value.path == "t.md"
    with pytest.raises(ParseError, match="line 1: malformed slot"):
        cards.render_template("{{ a b }}", slots)
    for text in ("{{ a", "a }}", "{{ a }} {{", "x\n}} y"):
        with pytest.raises(ParseError, match="unbalanced"):
            cards.render_template(text, slots)


def _toy_info(**kw):
    from dinos.corpus import ConfigInfo, CorpusInfo

    base = dict(
        name="toy_corpus", pretty_name="Toy Corpus", description="A toy.", sample_rate=22_050, channels=1,
        license="CC BY 4.0 (checked)", license_id="cc-by-4.0", homepage="https://example.org/toy",
        citations={"": "@misc{toy, title={Toy}}"},
        configs=(ConfigInfo("small", "Small toy config.", ("train", "test")), ConfigInfo("big", "Big.", ("train",))),
        default_config="big", split_roles={"train": "train", "test": "test"}, hub_configs=("small", "big"),
        tags=("audio", "toy"), size_category="n<1K",
    )
    return CorpusInfo(**{**base, **kw})


TOY_TEMPLATE = """{{ pretty_name }} ({{ name }}) is sampled at {{ sample_rate }} Hz; see <{{ homepage }}>.

{{ loading }}

Task registry (`dinos.tasks`): {{ task_count }} tasks:

{{ tasks }}

{{ split_files }}

## License

{{ license }}

{{ schema }}

{{ citation }}
"""


def test_any_corpus_info_renders_from_its_template_alone(tmp_path):
    (tmp_path / "toy_corpus.md").write_text(TOY_TEMPLATE)
    text = cards.render_card(_toy_info(), template_dir=tmp_path)
    header = cards.read_card_header(text)
    assert header["pretty_name"] == "Toy Corpus" and header["license"] == "cc-by-4.0"
    assert header["tags"] == ["audio", "toy"] and header["size_categories"] == ["n<1K"]
    assert [(c["config_name"], c.get("default", False)) for c in header["configs"]] == [("small", False),
                                                                                         ("big", True)]
    assert [f["split"] for f in header["configs"][0]["data_files"]] == ["train", "test"]
    assert [i["config_name"] for i in header["dataset_info"]] == ["small", "big"]
    assert datasets.Features._from_yaml_list(header["dataset_info"][0]["features"]) == \
        schema.features(sampling_rate=22_050)
    assert "\n# Toy Corpus\n" in text and "Toy Corpus (toy_corpus) is sampled at 22,050 Hz" in text
    assert 'dinos.load_dataset("toy_corpus", "big", data_dir="/path/to/corpus", split="train")' in text
    assert "| `small` | train, test | Small toy config. |" in text
    assert "No split file is shipped for this corpus" in text and "Task registry (`dinos.tasks`): 0 tasks:" in text
    assert "CC BY 4.0 (checked)" in text and "@misc{toy, title={Toy}}" in text and "## Schema" in text
    assert "{{" not in text


def test_card_template_name_and_missing_or_foreign_slots(tmp_path):
    from dinos.errors import LayoutError

    (tmp_path / "custom.md").write_text("{{ loading }}\n")
    assert "## Loading" in cards.render_card(_toy_info(card_template="custom.md"), template_dir=tmp_path)
    with pytest.raises(LayoutError, match="no card template for corpus 'toy_corpus'") as err:
        cards.render_card(_toy_info(), template_dir=tmp_path)
    assert err.value.path == str(tmp_path / "toy_corpus.md")
    (tmp_path / "toy_corpus.md").write_text("{{ loading }}\n\n{{ table:classes }}\n")  # a DINOS-only table
    with pytest.raises(ParseError, match=r"line 3: unknown slot \{\{ table:classes \}\}"):
        cards.render_card(_toy_info(), template_dir=tmp_path)


def test_every_corpus_has_a_shipped_template():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["tool"]["setuptools"]["package-data"]["dinos.card_templates"] == ["*.md"]
    assert "dinos.card_templates" in data["tool"]["setuptools"]["packages"]
    from dinos.loaders import corpus_info, corpus_names

    assert cards.CARD_CORPORA == corpus_names()
    for corpus in corpus_names():
        path = cards.template_path(corpus_info(corpus))
        assert path.parent == ROOT / "dinos" / "card_templates" and path.is_file(), corpus
        assert "{{ loading }}" in path.read_text()


def test_make_cards_never_replaces_a_readme_it_did_not_write(tmp_path):
    from dinos.io import OutputError

    cards.make_cards(tmp_path, corpora=("dinos",))
    generated = cards.card_path("dinos", tmp_path)
    generated.write_text(generated.read_text() + "stale\n")  # an old generated card is replaced
    mine = cards.card_path("mimii_due", tmp_path)
    mine.parent.mkdir()
    mine.write_text("# my notes\n")
    with pytest.raises(OutputError, match="did not write") as err:
        cards.make_cards(tmp_path)
    assert err.value.path == str(mine) and mine.read_text() == "# my notes\n"
    assert generated.read_text().endswith("stale\n")  # refused before anything was written
    cards.make_cards(tmp_path, corpora=("dinos",))
    assert cards.make_cards(tmp_path, check=True, corpora=("dinos",)) == []


# --------------------------------------------------------------------------------------------
# The card of an export
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rows,label", [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (96, "n<1K"),
                                        (74_149, "10K<n<100K"), (100_000, "100K<n<1M"), (10**13, "n>1T")])
def test_size_category_bins(rows, label):
    assert cards.size_category(rows) == label


def _manifest(corpus="dinos", rows=(("vf2", "train", 40), ("vf2", "test", 56)), rate=48_000):
    from dinos.export import Manifest, Shard, SplitInfo, shard_glob

    configs: dict = {}
    for config, split, n in rows:
        shard = Shard(shard_glob(config, split).replace("*", "00000"), n, 1000 * n, "0" * 64)
        configs.setdefault(config, {})[split] = SplitInfo(n, 1000 * n, [shard])
    return Manifest(corpus, rate, configs, {"segment": 1.0}, "0.1.0")


def _parse_card(text: str):
    from huggingface_hub import DatasetCard

    card = DatasetCard(text)
    infos = datasets.info.DatasetInfosDict.from_dataset_card_data(card.data)
    return card, infos


def test_export_card_states_its_own_contents_and_size(tmp_path):
    text = cards.render_export_card(_manifest())  # no source dir: nothing says synthetic
    card, infos = _parse_card(text)
    assert card.data.size_categories == ["n<1K"]  # 96 rows, not the corpus' 10K<n<100K
    assert cards.SYNTHETIC_TAG not in card.data.tags and "synthetic" not in text.lower().split("## about")[0]
    assert card.data.pretty_name == "DINOS (Diverse INdustrial Operation Sounds)"
    assert [c["config_name"] for c in card.data.configs] == ["vf2"] and card.data.configs[0]["default"]
    assert {s: i.num_examples for s, i in infos["vf2"].splits.items()} == {"train": 40, "test": 56}
    assert infos["vf2"].features == schema.features(sampling_rate=48_000)
    assert "96 rows in 1 config (size category\n`n<1K`)" in text
    assert "| `vf2` | test | 56 | 1 | 56,000 |" in text and "`segment=1.0`" in text
    assert "not the\n96 rows of this export" in text  # the corpus description is labelled as such
    assert text.index("## This export") < text.index("74,149 recordings")

    big = _manifest(rows=(("yornew", "train", 9_000), ("yornew", "test", 3_000), ("vf2", "train", 1)))
    card, infos = _parse_card(cards.render_export_card(big, source_dir=tmp_path))  # tmp_path: no marker
    assert card.data.size_categories == ["10K<n<100K"] and list(infos) == ["yornew", "vf2"]
    assert [c["config_name"] for c in card.data.configs] == ["yornew", "vf2"]


def test_export_card_of_a_synthetic_source_says_so(tmp_path):
    from dinos.synth._write import SYNTHETIC_MARKER, prepare_out_dir

    root = prepare_out_dir(tmp_path / "tree")  # what every `dinos synth` writer calls first
    assert json.loads((root / SYNTHETIC_MARKER).read_text())["generator"] == "dinos synth"
    text = cards.render_export_card(_manifest("mimii_due", (("fan", "train", 6), ("fan", "test", 8)), 16_000),
                                    source_dir=root)
    card, infos = _parse_card(text)
    assert card.data.pretty_name == "MIMII DUE - synthetic (dinos synth)"
    assert card.data.tags[-1] == "synthetic" and card.data.size_categories == ["n<1K"]
    assert card.data.license == "other" and card.data.license_name == "unverified"
    assert "\n# MIMII DUE - synthetic (dinos synth)\n" in text and "> **Synthetic data.**" in text
    (root / SYNTHETIC_MARKER).write_text("{broken")
    with pytest.raises(ParseError, match="unreadable synthetic-data marker") as err:
        cards.render_export_card(_manifest(), source_dir=root)
    assert err.value.path == str(root / SYNTHETIC_MARKER)


@pytest.mark.slow
def test_synthetic_export_end_to_end_loads_with_stock_datasets(tmp_path):
    from huggingface_hub import DatasetCard

    from dinos.export import export, validate_export
    from dinos.synth import mimii_due as synth

    synth.write(tmp_path / "tree", scale=0.5)
    manifest = export("mimii_due", ["fan"], data_dir=tmp_path / "tree", out=tmp_path / "hub",
                      cache_dir=str(tmp_path / "cache"))
    assert validate_export(tmp_path / "hub") == []
    card = DatasetCard.load(tmp_path / "hub" / "README.md")
    rows = sum(i.num_rows for i in manifest.configs["fan"].values())
    assert rows < 1000 and card.data.size_categories == ["n<1K"] and "synthetic" in card.data.tags
    assert f"{rows} rows in 1 config" in card.text
    ds = datasets.load_dataset(str(tmp_path / "hub"), "fan", split="test", cache_dir=str(tmp_path / "c2"))
    assert len(ds) == manifest.configs["fan"]["test"].num_rows
    assert ds.features == schema.features(sampling_rate=16_000)
