"""The command line: one-line errors naming file and reason, usage errors (exit 2) for every bad
argument, and the output-folder guard of the commands that write."""

from __future__ import annotations

import argparse

import datasets
import pytest

from dinos.cli import build_parser, dinos_error, main
from dinos.commands import _args
from dinos.errors import AudioError, DinosError


# --------------------------------------------------------------------------------------------
# Errors: one line, no traceback (--debug shows it), the DinosError inside a wrapper
# --------------------------------------------------------------------------------------------
def _wrapped() -> Exception:
    """What `datasets` raises when a builder fails: DatasetGenerationError from the dinos error."""
    try:
        try:
            raise AudioError("zero-length file", "/data/x/a.wav")
        except AudioError as inner:
            raise datasets.exceptions.DatasetGenerationError("An error occurred while generating") from inner
    except Exception as exc:  # noqa: BLE001
        return exc


def test_dinos_error_unwraps_cause_and_context():
    exc = _wrapped()
    assert isinstance(dinos_error(exc), AudioError)
    try:
        try:
            raise DinosError("bad", "f.csv")
        except DinosError:
            raise RuntimeError("while handling") from None  # noqa: B904 - suppressed cause: context kept
    except RuntimeError as outer:
        assert dinos_error(outer).reason == "bad"
    assert dinos_error(ValueError("x")) is None


@pytest.fixture
def failing_command(monkeypatch):
    import dinos.commands.synth as synth

    def set_error(exc: BaseException):
        def run(args):
            raise exc
        monkeypatch.setattr(synth, "run", run)

    return set_error


def test_wrapped_error_prints_one_line_naming_file_and_reason(failing_command, tmp_path, capsys):
    failing_command(_wrapped())
    assert main(["synth", "dinos", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err == "dinos: error: /data/x/a.wav: zero-length file\n"
    assert main(["--debug", "synth", "dinos", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "DatasetGenerationError" in err
    assert err.endswith("dinos: error: /data/x/a.wav: zero-length file\n")


def test_os_error_and_unexpected_error_are_one_line(failing_command, tmp_path, capsys):
    failing_command(PermissionError(13, "Permission denied", "/srv/out/x.json"))
    assert main(["synth", "dinos", "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err == "dinos: error: /srv/out/x.json: Permission denied\n"
    failing_command(KeyError("oops"))
    assert main(["synth", "dinos", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected KeyError" in err and "--debug" in err


def test_interrupt_exits_130(failing_command, tmp_path, capsys):
    failing_command(KeyboardInterrupt())
    assert main(["synth", "dinos", "--out", str(tmp_path / "o")]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_a_real_data_error_end_to_end(tmp_path, capsys):
    from .conftest import make_dinos_tree

    tree = make_dinos_tree(tmp_path / "tree", datasets=("VF2",), per_class=1)
    (tree / "DINOS_Downstreams_train" / "VF2" / "9-exploded").mkdir()
    assert main(["validate", "dinos", "--data-dir", str(tree), "--quick"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dinos: error: ") and "9-exploded" in err and "Traceback" not in err


def test_help_documents_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "2    usage error" in out and "1    data error" in out and "--debug" in out
    assert main(["export", "--help"]) == 0
    assert "2    usage error" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# Bad arguments are usage errors (exit 2, the option named)
# --------------------------------------------------------------------------------------------
@pytest.fixture
def a_file(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    return f


BAD = [
    (["synth", "dinos", "--out", "{tmp}/o", "--scale", "0"], "--scale: must be a positive number"),
    (["synth", "dinos", "--out", "{tmp}/o", "--scale", "-1"], "--scale: must be a positive number"),
    (["synth", "dinos", "--out", "{tmp}/o", "--scale", "nan"], "--scale: 'nan' is not a finite number"),
    (["synth", "dinos", "--out", "{file}"], "--out: {file}: is a file, not a directory"),
    (["synth", "dinos", "--out", "{file}/sub"], "is a file, not a directory"),
    (["synth", "dino", "--out", "{tmp}/o"], "unknown corpus 'dino'; did you mean 'dinos'?"),
    (["export", "dino", "all", "--data-dir", "{tmp}", "--out", "{tmp}/o"],
     "unknown corpus 'dino'; did you mean 'dinos'?"),
    (["export", "dinos", "vf2", "--data-dir", "{tmp}", "--out", "{tmp}/o", "--max-shard-mb", "nan"],
     "--max-shard-mb: 'nan' is not a finite number"),
    (["export", "dinos", "vf2", "--data-dir", "{tmp}/missing", "--out", "{tmp}/o"], "no such directory"),
    (["export", "dinos", "vf2", "--data-dir", "{tmp}", "--out", "{tmp}/o", "--segment", "0"],
     "--segment: must be a positive duration"),
    (["export", "dinos", "vf2", "--data-dir", "{tmp}", "--out", "{tmp}/o", "--hop", "1 minute"],
     "cannot read a duration"),
    (["export", "dinos", "vf2", "--data-dir", "{tmp}", "--out", "{tmp}/o", "--normalize", "rsm"],
     "unknown normalization 'rsm'; did you mean 'rms'?"),
    (["export", "dinos", "vf3", "--data-dir", "{tmp}", "--out", "{tmp}/o"], "no config 'vf3'; did you mean 'vf2'?"),
    (["embed", "--corpus", "dinos", "--config", "vf2", "--data-dir", "{tmp}", "--out", "{tmp}/o",
      "--batch-size", "0"], "--batch-size: must be a positive integer"),
    (["embed", "--corpus", "dinos", "--config", "vf2", "--data-dir", "{tmp}", "--out", "{tmp}/o",
      "--device", "tpu9"], "unknown device 'tpu9'"),
    (["pretrain", "--out", "{tmp}/r", "--lr", "nan"], "--lr: 'nan' is not a finite number"),
    (["pretrain", "--out", "{tmp}/r", "--max-steps", "-5"], "--max-steps: must be a positive integer"),
    (["pretrain", "--out", "{tmp}/r", "--device", "tpu9"], "unknown device 'tpu9'"),
    (["pretrain", "--out", "{file}"], "is a file, not a directory"),
    (["benchmark", "--data-dir", "{tmp}", "--repeats", "0"], "--repeats: must be a positive integer"),
    (["demo", "--out", "{file}"], "is a file, not a directory"),
    (["validate", "export", "{file}"], "is a file, not a directory"),
    (["validate", "splits", "--splits-dir", "{tmp}/nonexistent"], "no such directory"),
    (["splits", "list", "--splits-dir", "{tmp}/nonexistent"], "no such directory"),
    (["splits", "tasks", "--corpus", "mimii"], "unknown corpus 'mimii'"),
    (["push", "{file}", "--repo-id", "org/x", "--dry-run"], "is a file, not a directory"),
    (["cards", "--cards-dir", "{file}"], "is a file, not a directory"),
    (["synth", "dinos", "--out", "{tmp}/o", "--year", "2023"], "--year does not apply to `dinos synth dinos`"),
    # the corpus argument (tests/test_cli_conventions.py), --scores checked before any build, argparse's own
    (["synth", "dinos", "--corpus", "mimii", "--out", "{tmp}/o"], "the corpus is given twice"),
    (["synth", "--out", "{tmp}/o"], "name the corpus: --corpus NAME"),
    (["synth", "--corpus", "dino", "--out", "{tmp}/o"], "unknown corpus 'dino'; did you mean 'dinos'?"),
    (["cite", "mimi"], "unknown corpus 'mimi'; did you mean 'mimii'?"),
    (["embed", "--corpus", "dino", "--config", "vf2", "--data-dir", "{tmp}", "--out", "{tmp}/o"], "did you mean 'dinos'"),
    (["benchmark", "--corpus", "folder", "--data-dir", "{tmp}"], "unknown corpus 'folder'"),
    (["export", "dinos", "--data-dir", "{tmp}", "--out", "{tmp}/o"], "name at least one CONFIG"),
    (["score", "asd", "--scores", "{tmp}/nope.csv", "--data-dir", "{tmp}"], "--scores: {tmp}/nope.csv: no such file"),
    (["score", "asd", "--scores", "{tmp}", "--data-dir", "{tmp}"], "is a directory, not a scores CSV"),
    (["score", "asd", "--scores", "{tmp}/s.csv", "--data-dir", "{tmp}", "--sweep", "5:0:1"], "needs finite LO <= HI"),
    (["score", "asd", "--scores", "{tmp}/s.csv", "--data-dir", "{tmp}", "--sweep", "a:b:c"], "is not LO:HI:STEP"),
    (["push", "{tmp}", "--repo-id", "bad", "--dry-run"], "repo id must read ORG/NAME"),  # before any network call
    (["score", "dcase", "--year", "2024", "--scores", "{tmp}/nope", "--data-dir", "{tmp}"], "no such directory"),
    (["push", "{tmp}", "--repo-id", "org/x", "--bogus"], "unrecognized arguments: --bogus"),
    (["pretrain"], "the following arguments are required: --out"),
    (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a[:2]) + ":" + m[:20] for a, m in BAD])
def test_bad_arguments_are_usage_errors(argv, message, tmp_path, a_file, capsys, monkeypatch):
    import dinos.api
    from dinos import metrics

    def never(*a, **k):
        raise AssertionError("built a dataset before checking the arguments")

    monkeypatch.setattr(dinos.api, "load_dataset", never)
    monkeypatch.setattr(metrics, "truth_from_corpus", never)
    fill = {"tmp": str(tmp_path), "file": str(a_file)}
    code = main([a.format(**fill) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message.format(**fill) in err and "usage: dinos" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing created


@pytest.mark.parametrize("fn, good, bad", [
    (_args.positive_int, ["1", "32"], ["0", "-1", "1.5", "x"]),
    (_args.nonnegative_int, ["0", "3"], ["-1", "nan"]),
    (_args.positive_float, ["0.5", "1e3"], ["0", "-2", "nan", "inf", "-inf", "x"]),
    (_args.finite_float, ["-1", "0"], ["nan", "inf"]),
    (_args.fraction, ["0", "0.4"], ["1", "-0.1", "nan"]),
    (_args.device, ["auto", "cpu", "cuda", "cuda:1", "mps"], ["tpu9", "cuda:", "gpu", ""]),
])
def test_validators(fn, good, bad):
    for text in good:
        fn(text)
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError):
            fn(text)


def test_every_numeric_option_is_validated():
    """No option of any command parses a number or a device with a bare int/float/str."""
    loose = []
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    stack = list(sub.choices.items())
    while stack:
        name, p = stack.pop()
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack += [(f"{name} {n}", q) for n, q in action.choices.items()]
            elif action.type in (int, float) or (action.dest == "device" and action.type is None):
                loose.append(f"{name} {action.option_strings or action.dest}")
    assert loose == [], loose


# --------------------------------------------------------------------------------------------
# Output folders of the commands that write
# --------------------------------------------------------------------------------------------
def test_demo_force_never_deletes_a_folder_it_did_not_write(tmp_path, capsys):
    thesis = tmp_path / "work"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("years of work")
    (thesis / "summary.md").write_text("my summary")  # once enough for --force to delete everything
    assert main(["demo", "--out", str(thesis), "--force", "--no-model", "--quiet"]) == 1
    assert "not written by `dinos demo`" in capsys.readouterr().err
    assert sorted(p.name for p in thesis.iterdir()) == ["summary.md", "thesis.tex"]


def test_cards_dir_guard(tmp_path, capsys):
    user = tmp_path / "mine"
    (user / "dinos").mkdir(parents=True)
    (user / "dinos" / "README.md").write_text("my own card")
    assert main(["cards", "--cards-dir", str(user), "--overwrite"]) == 1
    assert "not written by `dinos cards`" in capsys.readouterr().err
    assert (user / "dinos" / "README.md").read_text() == "my own card"

    out = tmp_path / "cards"
    assert main(["cards", "--cards-dir", str(out)]) == 0
    card = out / "dinos" / "README.md"
    assert card.is_file()
    assert main(["cards", "--cards-dir", str(out)]) == 1  # a rerun needs --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main(["cards", "--cards-dir", str(out), "--overwrite"]) == 0
    card.write_text(card.read_text() + "\nhand-edited\n")
    assert main(["cards", "--cards-dir", str(out), "--overwrite"]) == 1
    assert "was edited after `dinos cards` wrote it" in capsys.readouterr().err
    assert card.read_text().endswith("hand-edited\n")
    assert main(["cards", "--check", "--cards-dir", str(out)]) == 1  # the edit shows as drift


def test_demo_force_removes_only_what_the_previous_demo_wrote(tmp_path, monkeypatch, capsys):
    """The data steps are replaced by fakes: this checks the folder handling of `run_demo` only."""
    import dinos.demo as demo
    from dinos.synth import dcase, mimii_due
    from dinos.synth import dinos as synth_dinos

    def fake_write(out, **kw):
        from pathlib import Path

        Path(out).mkdir(parents=True)
        (Path(out) / "x.wav").write_bytes(b"RIFF")
        return "ok"

    for mod in (dcase, synth_dinos, mimii_due):
        monkeypatch.setattr(mod, "write", fake_write)
    monkeypatch.setattr(demo, "dinos_summary", lambda *a, **k: ("table", {}))
    monkeypatch.setattr(demo, "corpus_summary", lambda *a, **k: "row")

    out = tmp_path / "demo"
    demo.run_demo(out, model=False, progress=False)
    assert main(["demo", "--out", str(out), "--no-model", "--quiet"]) == 1
    assert "pass --force to replace it" in capsys.readouterr().err
    (out / "thesis.tex").write_text("mine")  # the user adds a file
    (out / "dinos" / "stale.wav").write_bytes(b"old")
    demo.run_demo(out, force=True, model=False, progress=False)
    assert (out / "thesis.tex").read_text() == "mine"
    assert not (out / "dinos" / "stale.wav").exists() and (out / "summary.md").is_file()
    (out / "summary.md").write_text("edited by hand")
    with pytest.raises(DinosError, match="summary.md: was edited"):
        demo.run_demo(out, force=True, model=False, progress=False)
    assert (out / "summary.md").read_text() == "edited by hand" and (out / "dinos" / "x.wav").exists()
