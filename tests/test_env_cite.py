"""`dinos env` and `dinos cite`."""

from __future__ import annotations

import json

from dinos import cli
from dinos.loaders import corpus_info, corpus_names


def test_env_lists_versions(capsys):
    assert cli.main(["env", "--json"]) == 0
    env = json.loads(capsys.readouterr().out)
    import dinos

    assert env["dinos"] == dinos.__version__ and env["python"] and env["datasets"] != "not installed"


def test_env_says_which_pcm16_scaling_runs(capsys, monkeypatch):
    from dinos import wav

    assert cli.main(["env", "--json"]) == 0
    said = json.loads(capsys.readouterr().out)["PCM_16 scaling"]
    assert said.startswith("native" if wav.NATIVE else "numpy")
    if wav._native_read is not None:  # the loop the module picked for one channel is named, also
        from dinos import _pcm16  # while a test or benchmark has switched to another

        assert f"{_pcm16.LOOPS[-1]} loop" in said and _pcm16.kernel() == _pcm16.LOOPS[-1]
        with wav.mono_loop(_pcm16.LOOPS[0]):
            assert cli.main(["env", "--json"]) == 0
            assert json.loads(capsys.readouterr().out)["PCM_16 scaling"] == said
    monkeypatch.setattr(wav, "NATIVE", False)
    assert cli.main(["env", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["PCM_16 scaling"].startswith("numpy")


def test_cite_every_corpus_and_per_year_for_dcase(capsys):
    for name in corpus_names():
        assert cli.main(["cite", name]) == 0
        assert capsys.readouterr().out.lstrip("% \n").strip()
    assert cli.main(["cite", "dcase_task2", "--year", "2021"]) == 0
    out = capsys.readouterr().out
    assert "DCASE} 2021 Challenge Task 2" in out and corpus_info("dcase_task2").citations["2021"].strip() in out
    assert cli.main(["cite", "dcase_task2", "--year", "2019"]) == 1
    assert "known years" in capsys.readouterr().err
