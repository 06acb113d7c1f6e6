"""CLI conventions, checked over every (nested) sub-command: help on every option, one help formatter
that keeps paragraphs and tables, the corpus given the same way everywhere, `--quiet` silencing the
progress bars, exit status 2 for usage errors, and one line naming the `[model]` extra when torch
is missing."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from dinos.cli import EXIT_CODES, FORMATTER, build_parser, main, missing_extra, subparsers
from dinos.commands import _args

from .conftest import write_tone


def _parsers():
    """(name, parser) of `dinos` and every sub-command at any depth."""
    out, stack = [], [("dinos", build_parser())]
    while stack:
        name, p = stack.pop()
        out.append((name, p))
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                stack += [(f"{name} {n}", q) for n, q in a.choices.items()]
    return out


def test_every_option_and_argument_has_help():
    missing = [f"{name} {a.option_strings or a.dest}" for name, p in _parsers() for a in p._actions
               if not isinstance(a, argparse._SubParsersAction) and not a.help]
    assert missing == []


def test_every_parser_keeps_line_breaks_and_states_the_exit_codes():
    parsers = _parsers()
    assert len(parsers) > 20 and len(list(subparsers(build_parser()))) == len(parsers) - 1
    for name, p in parsers:
        assert p.formatter_class is FORMATTER, name
        assert p.epilog and p.epilog.startswith("exit status:"), name
        assert p.description, name
        long = [line for line in p.description.splitlines() if len(line) > 120]
        assert long == [], name  # printed as written: the text carries its own line breaks


@pytest.mark.parametrize("argv, verbatim", [
    (["push", "--help"], "  dinos push DIR --repo-id ORG/NAME --dry-run          list what would be added, replaced, deleted\n"
                         "  dinos push DIR --repo-id ORG/NAME                     upload (re-run the same command to resume)\n"),
    (["validate", "--help"], "    dinos validate dinos --data-dir D [--strict] [--quick]   a local DINOS copy vs the paper's "
                             "Tables 1-2\n"),
    (["splits", "make", "--help"], EXIT_CODES),  # a nested sub-command: the same epilog, line breaks kept
    (["benchmark", "--help"], "DINOS (default): every Monte Carlo task, 10 repeats, linear probe / autoencoder head:\n"
                              "  dinos benchmark runs/impact --data-dir D --out results/\n"),
])
def test_help_prints_paragraphs_and_tables_as_written(argv, verbatim, capsys):
    assert main(argv) == 0
    assert verbatim in capsys.readouterr().out


def _corpus_arguments(p):
    return [a for a in p._actions if a.dest in ("corpus", "corpus_option") or "--corpus" in a.option_strings]


def test_the_corpus_is_given_the_same_way_in_every_command():
    """Wherever a command takes a corpus, it is `--corpus NAME`, validated by the one corpus type."""
    seen = []
    for name, p in _parsers():
        args = _corpus_arguments(p)
        if not args or name == "dinos":
            continue
        option = [a for a in args if "--corpus" in a.option_strings]
        assert len(option) == 1, name
        assert option[0].metavar == "NAME" and getattr(option[0].type, "__name__", "") in ("corpus", "corpus_name"), name
        seen.append(name.split()[1])
    assert {"synth", "export", "download", "cite", "embed", "benchmark", "pretrain", "splits", "score"} <= set(seen)


def test_positional_and_option_spellings_agree(capsys):
    assert main(["cite", "dcase_task2", "--year", "2023"]) == 0
    positional = capsys.readouterr().out
    assert main(["cite", "--corpus", "dcase", "--year", "2023"]) == 0  # the alias, as an option
    assert capsys.readouterr().out == positional and "@" in positional
    ns = build_parser().parse_args(["export", "--corpus", "dinos", "vf2", "yornew", "--data-dir", ".", "--out", "o"])
    configs = list(ns.configs)
    assert _args.corpus_of(ns, configs) == "dinos" and configs == ["vf2", "yornew"]
    ns = build_parser().parse_args(["export", "dinos", "vf2", "--data-dir", ".", "--out", "o"])
    configs = list(ns.configs)
    assert _args.corpus_of(ns, configs) == "dinos" and configs == ["vf2"]
    assert build_parser().parse_args(["score", "asd", "--scores", "s.csv", "--dataset", "mimii"]).dataset == "mimii"
    assert build_parser().parse_args(["pretrain", "--corpus", "dcase", "--out", "r"]).corpus == "dcase_task2"


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# Validators: one factory
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, good, bad, reason", [
    (_args.positive_int, ["1"], ["0", "-3"], "must be a positive integer"),
    (_args.nonnegative_int, ["0"], ["-1"], "must be an integer >= 0"),
    (_args.positive_float, ["1e-9"], ["0"], "must be a positive number"),
    (_args.nonnegative_float, ["0"], ["-0.1"], "must be a number >= 0"),
    (_args.unit_fraction, ["1", "0.1"], ["0", "1.01"], "must be in (0, 1]"),
    (_args.fraction, ["0", "0.99"], ["1", "-0.1"], "must be in [0, 1)"),
    (_args.number(int, low=2, high=8, high_open=True), ["2", "7"], ["8", "1"], "must be in [2, 8)"),
    (_args.number(float, high=3), ["-5", "3"], ["3.5"], "must be a number <= 3"),
])
def test_number_factory_bounds_and_reasons(fn, good, bad, reason):
    for text in good:
        fn(text)
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(reason)):
            fn(text)
    with pytest.raises(argparse.ArgumentTypeError, match="not a finite number|is not an integer"):
        fn("nan")


# --------------------------------------------------------------------------------------------
# --quiet silences the datasets progress bars
# --------------------------------------------------------------------------------------------
def _folder_corpus(root: Path) -> Path:
    for j, label in enumerate(("normal", "anomaly")):
        for k in range(3):
            write_tone(root / label / f"{label}_{k}.wav", seconds=0.2, sr=16_000, freq=300.0 + 50 * k + 1000 * j)
    return root


def test_quiet_silences_progress_bars(tmp_path, capfd):
    import datasets

    data = _folder_corpus(tmp_path / "data")
    base = ["splits", "make", "--corpus", "folder", "--data-dir", str(data), "--protocol", "holdout"]
    was = datasets.is_progress_bar_enabled()
    datasets.enable_progress_bars()
    try:
        assert main([*base, "--out", str(tmp_path / "a.json"), "--cache-dir", str(tmp_path / "c1")]) == 0
        loud = capfd.readouterr().err
        assert main([*base, "--out", str(tmp_path / "b.json"), "--cache-dir", str(tmp_path / "c2"), "--quiet"]) == 0
        quiet = capfd.readouterr().err
        assert datasets.is_progress_bar_enabled()  # restored after the command
    finally:
        (datasets.enable_progress_bars if was else datasets.disable_progress_bars)()
    assert "Generating" in loud or "%|" in loud, loud
    assert "Generating" not in quiet and "%|" not in quiet, quiet


def test_every_command_that_builds_a_corpus_has_quiet():
    building = {"export", "embed", "pretrain", "benchmark", "demo", "synth", "download", "push", "score",
                "splits verify", "splits make"}
    have = {name.removeprefix("dinos ") for name, p in _parsers() if any("--quiet" in a.option_strings for a in p._actions)}
    assert building <= have, building - have


# --------------------------------------------------------------------------------------------
# A model command without torch: one line naming the extra
# --------------------------------------------------------------------------------------------
HIDE_TORCH = '''
import sys
BLOCKED = {"torch", "safetensors", "matplotlib"}
class Hide:
    """Wraps every finder: the blocked packages are not found, as if not installed."""
    def __init__(self, inner):
        self.inner = inner
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return None
        return self.inner.find_spec(name, path, target)
    def __getattr__(self, attr):
        return getattr(self.inner, attr)
sys.meta_path[:] = [Hide(f) for f in sys.meta_path]
'''

RUN_ALL = '''
import sys
from dinos.cli import main
t = sys.argv[1]
for argv in (["embed", "--corpus", "dinos", "--config", "vf2", "--data-dir", t, "--out", t + "/e", "--model", "baseline"],
             ["pretrain", "--corpus", "dinos", "--data-dir", t, "--out", t + "/r"],
             ["benchmark", "--data-dir", t, "--out", t + "/b"],
             ["benchmark", "--corpus", "mimii_due", "--model", "mimii_due_ae", "--data-dir", t, "--out", t + "/b"]):
    code = main(argv)
    print(f"<<{argv[0]} exit {code}>>", file=sys.stderr, flush=True)
print("torch imported" if "torch" in sys.modules else "no torch")
'''


def test_model_commands_without_torch_print_one_line_naming_the_extra(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE_TORCH)
    work = tmp_path / "work"
    work.mkdir()
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", RUN_ALL, str(work)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "no torch"
    dist = metadata.packages_distributions()["dinos"][0]
    chunks = proc.stderr.split(">>\n")[:-1]
    assert len(chunks) == 4, proc.stderr
    for chunk in chunks:
        message, status = chunk.rsplit("<<", 1)
        assert status.endswith("exit 1"), chunk
        assert message.count("\n") == 1 and "Traceback" not in message, message
        assert f"torch is not installed: this command needs the [model] extra: pip install '{dist}[model]'" in message
    assert list(work.iterdir()) == []
    help_run = subprocess.run([sys.executable, "-m", "dinos", "--help"], capture_output=True, text=True, env=env,
                              timeout=120)
    assert help_run.returncode == 0 and "benchmark" in help_run.stdout  # the parser itself needs no torch


def test_missing_extra_only_for_the_extras_packages():
    assert "[model]" in missing_extra(ModuleNotFoundError("No module named 'torch'", name="torch"))
    assert "[model]" in missing_extra(ModuleNotFoundError("x", name="safetensors.torch"))
    assert missing_extra(ModuleNotFoundError("No module named 'nonexistent_pkg'", name="nonexistent_pkg")) is None
    assert missing_extra(ImportError("x")) is None


def test_another_missing_module_is_the_one_line_unexpected_error(monkeypatch, tmp_path, capsys):
    import dinos.commands.synth as synth

    def run(args):
        raise ModuleNotFoundError("No module named 'nonexistent_pkg'", name="nonexistent_pkg")

    monkeypatch.setattr(synth, "run", run)
    assert main(["synth", "dinos", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected ModuleNotFoundError" in err
