import typing

import datasets
import pytest
from pydantic import ValidationError

from dinos import schema


def _clip(**over):
    base = dict(
        clip_id="a/b.wav#0", corpus="dinos", machine="Yornew", sensor="microphone", section=-1,
        domain="source", label="normal", origin_split="train", task_class="T6", class_name="x",
        attributes=[{"name": "rpm", "value": "8000"}], recording_id="a/b", path="a/b.wav", offset=0.0,
        duration=1.0, start_frame=0, num_frames=48000, sample_rate=48000, channels=1,
    )
    base.update(over)
    return schema.Clip(**base)


def test_features_derive_from_the_pydantic_model():
    feats = schema.features()
    assert list(feats) == ["audio", *schema.Clip.model_fields]
    assert isinstance(feats["audio"], datasets.Audio) and feats["audio"].decode is False
    for name, names in schema.categorical_names().items():
        assert feats[name].names == list(names)
        assert tuple(typing.get_args(schema.Clip.model_fields[name].annotation)) == names
    assert feats["attributes"].feature == {k: datasets.Value("string") for k in schema.Attribute.model_fields}


def test_every_field_is_documented():
    docs = schema.field_docs()
    assert set(docs) == {"audio", *schema.Clip.model_fields}
    assert all(len(d) > 10 for d in docs.values())


@pytest.mark.parametrize(
    "field,value",
    [("corpus", ""), ("label", "broken"), ("domain", "both"), ("task_class", "T26"),
     ("machine", ""), ("duration", 0.0), ("section", -2)],
)
def test_invalid_values_are_rejected(field, value):
    with pytest.raises(ValidationError):
        _clip(**{field: value})


def test_unknown_fields_are_rejected():
    with pytest.raises(ValidationError):
        _clip(color="red")


def test_rows_from_different_corpora_concatenate():
    feats = schema.features()
    a = _clip()
    b = _clip(corpus="dcase_task2", machine="fan", section=0, domain="target", label="anomaly",
              task_class="none", sample_rate=16000, num_frames=160000, duration=10.0)
    ds_a = schema.dataset_from_rows([schema.clip_to_row(a, "/x/a.wav")])
    ds_b = schema.dataset_from_rows([schema.clip_to_row(b, "/x/b.wav")])
    both = datasets.concatenate_datasets([ds_a, ds_b])
    assert both.features == feats
    assert both["corpus"] == ["dinos", "dcase_task2"]
    assert both[1]["attributes"] == [{"name": "rpm", "value": "8000", "file_token": ""}]
