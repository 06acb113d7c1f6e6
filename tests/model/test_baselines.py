"""Unit tests of the seeds' baselines: shapes and exact parameter counts derived from the sources."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("one_torch_thread")]
torch = pytest.importorskip("torch")

from dinos.model.baselines import features as F  # noqa: E402
from dinos.model.baselines.autoencoder import AE_PRESETS, FrameAutoencoder  # noqa: E402
from dinos.model.baselines.trainer import Clip, FitConfig, fit, parameter_count, score  # noqa: E402


def tone_clips(n: int, sr: int = 16_000, seconds: float = 0.5, freq: float = 440.0, seed: int = 0,
               **kw) -> list[Clip]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    return [Clip(wave=(0.3 * np.sin(2 * np.pi * freq * (1 + 0.01 * i) * t)
                       + 0.01 * rng.standard_normal(t.size)).astype(np.float32), sample_rate=sr, file=f"c{i}.wav",
                 **kw) for i in range(n)]


# ------------------------------------------------------------------------------------------------
# Front end
# ------------------------------------------------------------------------------------------------
def test_frontend_native_rate_sizes():
    """64 ms / 32 ms at 16 kHz is n_fft 1024 / hop 512; 1 s gives 1 + 16000 // 512 = 32 frames (centred)."""
    fe = F.FrameLogMel(F.LogMelSpec(), 16_000)
    assert (fe.n_fft, fe.hop_length) == (1024, 512)
    spec = fe(torch.zeros(2, 16_000) + 0.1 * torch.randn(2, 16_000))
    assert spec.shape == (2, 128, 32)
    fe48 = F.FrameLogMel(F.LogMelSpec(), 48_000)  # the same preset at another rate scales in samples
    assert (fe48.n_fft, fe48.hop_length) == (3072, 1536)


def test_frontend_matches_librosa():
    """The torch front end equals librosa's melspectrogram + 10 log10(x + eps) (the DCASE baseline's)."""
    import sys

    import librosa

    rng = np.random.default_rng(1)
    x = rng.standard_normal(8000).astype(np.float32) * 0.1
    ours = F.FrameLogMel(F.LogMelSpec(), 16_000)(torch.from_numpy(x)[None])[0].numpy()
    mel = librosa.feature.melspectrogram(y=x, sr=16_000, n_fft=1024, hop_length=512, n_mels=128, power=2.0,
                                         pad_mode="constant")
    ref = 10 * np.log10(mel + sys.float_info.epsilon)
    np.testing.assert_allclose(ours, ref, atol=2e-3)


def test_stack_frames_layout():
    """Vector t = frames t..t+n-1, one frame's bands after the other: (T - n + 1, n * mels)."""
    spec = torch.arange(3 * 6, dtype=torch.float32).reshape(3, 6)  # 3 mels x 6 frames
    v = F.stack_frames(spec, 5)
    assert v.shape == (2, 15)
    assert v[1].tolist() == [spec[m, f].item() for f in range(1, 6) for m in range(3)]
    with pytest.raises(ValueError, match="fewer"):
        F.stack_frames(spec, 7)


def test_mixed_rates_refused():
    from dinos.errors import AudioError

    clips = tone_clips(1) + tone_clips(1, sr=8000)
    with pytest.raises(AudioError, match="mixed sample rates"):
        F.clip_rate(clips)


# ------------------------------------------------------------------------------------------------
# Frame-stacked autoencoders
# ------------------------------------------------------------------------------------------------
def test_mimii_due_ae_parameters():
    """MIMII DUE §4: 5 x 128 log-Mel = 640 inputs; 4 x FC 128, bottleneck 8, 4 x FC 128, FC 640.

    weights + biases per layer:
      640->128: 640*128 + 128 = 82,048
      3 x 128->128: 3 * (128*128 + 128) = 49,536
      128->8: 1,024 + 8 = 1,032;  8->128: 1,024 + 128 = 1,152
      3 x 128->128: 49,536
      128->640: 81,920 + 640 = 82,560
    total 82,048 + 49,536 + 1,032 + 1,152 + 49,536 + 82,560 = 265,864.
    With batch_norm (the DCASE 2021 Keras code): + 2 * (8 * 128 + 8) = 2,064 trainable -> 267,928
    (Keras counts the 2,064 moving statistics too: 269,992, the figure its model summary prints).
    """
    ae = FrameAutoencoder("mimii_due_ae")
    assert ae.config.input_dim == 640
    assert parameter_count(ae) == 265_864
    assert parameter_count(FrameAutoencoder("mimii_due_ae", batch_norm=True)) == 267_928
    linears = [m for m in ae.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (640, 128), (128, 128), (128, 128), (128, 128), (128, 8),
        (8, 128), (128, 128), (128, 128), (128, 128), (128, 640)]
    assert isinstance(ae.net[-1], torch.nn.Linear)  # no ReLU on the output
    assert sum(isinstance(m, torch.nn.ReLU) for m in ae.net) == 9
    fit_cfg = AE_PRESETS["mimii_due_ae"].fit
    assert (fit_cfg.epochs, fit_cfg.batch_size, fit_cfg.lr) == (100, 512, 1e-3)


def test_blog_ae_parameters():
    """AWS blog code: 64 mels x 5 frames = 320 inputs; Dense 64-64-8-64-64 -> 320.

    320->64: 20,480 + 64 = 20,544; 64->64: 4,160; 64->8: 520; 8->64: 576; 64->64: 4,160;
    64->320: 20,480 + 320 = 20,800; total 50,760. Same class as the MIMII DUE AE (a preset).
    """
    ae = FrameAutoencoder("blog_ae")
    assert type(ae) is FrameAutoencoder and ae.config.input_dim == 320
    assert parameter_count(ae) == 50_760
    assert ae.config.fit.batch_size == 128
    ae.bind(16_000)
    assert (ae.frontend.n_fft, ae.frontend.hop_length) == (2048, 512)


def test_ae_fit_score_deterministic_and_separates():
    """Two fits with one seed give identical scores; a tone unlike the training tones scores higher."""
    train = tone_clips(4)
    odd = tone_clips(2, freq=3000.0, seed=5)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        ae = FrameAutoencoder("tiny")
        rep = fit(ae, train, FitConfig(epochs=30, batch_size=64, lr=3e-3, seed=3))
        runs.append(score(ae, train[:2] + odd))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert rep.losses[-1] < rep.losses[0]
    s = runs[0]
    assert s.shape == (4,) and min(s[2:]) > max(s[:2])


def test_score_refuses_other_rate():
    ae = FrameAutoencoder("tiny")
    fit(ae, tone_clips(2), ae.config.fit)
    with pytest.raises(ValueError, match="16000 Hz"):
        score(ae, tone_clips(1, sr=8000))


# ------------------------------------------------------------------------------------------------
# MobileNetV2
# ------------------------------------------------------------------------------------------------
def mobilenet_v2_count(width_in: int, classes: int) -> int:
    """Parameters of MobileNetV2 1.0 from its Table 2, counted by formula (BN: 2 per channel).

    stem 3x3 conv: 9 * in * 32 + 2 * 32; block (c_in, t, c_out): expansion 1x1 c_in * h + 2h
    (h = t * c_in, skipped when t = 1), depthwise 9h + 2h, projection h * c_out + 2 c_out;
    last 1x1: 320 * 1280 + 2 * 1280; classifier 1280 * k + k.
    """
    rows = [(1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1)]
    total = 9 * width_in * 32 + 64
    c = 32
    for t, out, n in rows:
        for _ in range(n):
            h = t * c
            total += (c * h + 2 * h if t != 1 else 0) + 11 * h + h * out + 2 * out
            c = out
    return total + 320 * 1280 + 2 * 1280 + 1280 * classes + classes


def test_mobilenet_v2_parameter_count():
    """1.0 width, RGB, 1000 classes: 3,504,872 (the published 3.4-3.5 M); the 1-channel, 3-section
    MIMII DUE classifier drops 2 * 9 * 32 = 576 stem weights and 997 * 1281 classifier weights."""
    from dinos.model.baselines.mobilenet import MobileNetV2

    assert mobilenet_v2_count(3, 1000) == 3_504_872
    net = MobileNetV2(1000, in_channels=3)
    assert parameter_count(net) == 3_504_872
    assert parameter_count(MobileNetV2(3)) == mobilenet_v2_count(1, 3) == 3_504_872 - 576 - 997 * 1281
    assert parameter_count(net.features) == 3_504_872 - 1_281_000  # 2,223,872 without the classifier


def test_mobilenet_v2_structure():
    """17 inverted residual blocks (1+2+3+4+3+3+1), 10 with an identity shortcut; 32x downsampling."""
    from dinos.model.baselines.mobilenet import InvertedResidual, MobileNetV2, round_channels

    net = MobileNetV2(3)
    blocks = [m for m in net.features if isinstance(m, InvertedResidual)]
    assert len(blocks) == 17 and sum(b.residual for b in blocks) == 10
    assert net.features(torch.zeros(2, 1, 64, 128)).shape == (2, 1280, 2, 4)
    assert net(torch.zeros(2, 1, 64, 128)).shape == (2, 3)
    assert [round_channels(c * 0.35) for c in (32, 16, 24, 96, 320)] == [16, 8, 8, 32, 112]
    assert MobileNetV2(3, width=0.35).last_channels == 1280


def test_section_classifier_negative_logit_score():
    """Score = mean over patches of log(1 - p) - log(p) for the true section; 2 sections needed."""
    from dinos.model.baselines.mobilenet import SectionClassifier

    clips = tone_clips(2, section=0) + tone_clips(2, freq=1500.0, section=3)
    model = SectionClassifier("tiny")
    fit(model, clips)
    assert model.sections == [0, 3]
    ex = model.examples(clips[:1], train=False)
    assert ex.x.shape[1:] == (1, 32, 32)
    with torch.no_grad():
        p = torch.softmax(model(ex.x), 1)[:, 0].double()
    expected = float((torch.log1p(-p) - torch.log(p)).mean())
    assert score(model, clips[:1])[0] == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="two sections"):
        fit(SectionClassifier("tiny"), tone_clips(2, section=0))


# ------------------------------------------------------------------------------------------------
# The thesis' MAE-ViT, error-map CNN and CAE
# ------------------------------------------------------------------------------------------------
def test_mae_vit_paper_sizes():
    """496 x 496, patch 16 -> 31 x 31 = 961 patches, 961 - floor(0.75 * 961) = 241 visible.

    patch embedding 16*16*256 + 256 = 65,792; positions 961 * 256 = 246,016 (encoder and decoder);
    a pre-norm layer (D 256, MLP 1024): attention 4 * 256^2 + 4 * 256 = 263,168, MLP 2 * 256 * 1024
    + 1024 + 256 = 525,568, two LayerNorms 1,024 -> 789,760; encoder 8 layers 6,318,080 + LN 512;
    mask token 256; decoder 4 layers 3,159,040 + LN 512; head 256 * 256 + 256 = 65,792.
    Total 65,792 + 2 * 246,016 + 6,318,080 + 512 + 256 + 3,159,040 + 512 + 65,792 = 10,102,016.
    """
    from dinos.model.baselines.mae import MAE_PRESETS, MaeViT

    c = MAE_PRESETS["paper"]
    assert (c.patches, c.visible) == (961, 241)
    mae = MaeViT("paper")
    assert parameter_count(mae) == 10_102_016
    assert parameter_count(mae.encoder.layers[0]) == 789_760


def test_error_map_cnn_and_cae_paper_sizes():
    """CNN: 496 -> 248 -> 124 -> 62 after three pools: 64 x 62 x 62 = 246,016 features -> FC 128 -> 1.
    convs 160 + 4,640 + 18,496; FC 246,016 * 128 + 128 = 31,490,176; FC 129; total 31,513,601.
    CAE: stride-2 convs 496 -> 248 -> 124 -> 62 -> 31: code 128 x 31 x 31 = 123,008;
    encoder 160 + 4,640 + 18,496 + 73,856 = 97,152; decoder (transposed, mirrored)
    73,792 + 18,464 + 4,624 + 145 = 97,025; classifier 123,008 * 128 + 128 + 129 = 15,745,281;
    total 15,939,458.
    """
    from dinos.model.baselines.mae import ConvAutoencoder, ErrorMapCNN

    cnn = ErrorMapCNN(496)
    assert parameter_count(cnn) == 31_513_601
    assert cnn.head[1].in_features == 246_016
    cae = ConvAutoencoder(496)
    assert cae.code_shape == (128, 31, 31)
    assert parameter_count(cae.encoder) == 97_152 and parameter_count(cae.decoder) == 97_025
    assert parameter_count(cae) == 15_939_458
    recon, logit = ConvAutoencoder(64)(torch.rand(2, 1, 64, 64))
    assert recon.shape == (2, 1, 64, 64) and logit.shape == (2,)


def test_mae_masking_and_loss():
    from dinos.model.baselines.mae import MaeViT

    mae = MaeViT("tiny")  # 32 x 32, patch 8: 16 patches, 4 visible
    img = torch.rand(3, 1, 32, 32)
    pred, mask = mae(img)
    assert pred.shape == (3, 16, 64) and mask.shape == (3, 16)
    assert mask.sum(1).tolist() == [12, 12, 12]
    assert torch.equal(mae.unpatchify(mae.patchify(img)), img)
    assert mae.error_map(img).shape == img.shape
    assert float(mae.masked_loss(img).detach()) > 0


def test_thesis_pipeline_tiny_fit():
    """MAE on normal clips, then the error-map CNN and the supervised CAE on labelled clips."""
    from dinos.model.baselines.mae import CaeAnomaly, ErrorMapClassifier, MaeAnomaly

    normal = tone_clips(4, label="normal")
    anomalous = tone_clips(2, freq=2500.0, seed=3, label="anomaly")
    mae = MaeAnomaly("tiny")
    rep = fit(mae, normal)
    assert len(rep.losses) == 2 and all(np.isfinite(rep.losses))
    s = score(mae, normal + anomalous)
    assert s.shape == (6,) and np.all(s > 0)
    cnn = ErrorMapClassifier(mae)
    fit(cnn, normal + anomalous)
    assert float(cnn.pos_weight) == 2.0  # 4 normal / 2 anomalous
    assert all(not p.requires_grad for p in cnn.mae.parameters())
    assert score(cnn, anomalous).shape == (2,)
    cae = CaeAnomaly("tiny", supervised=True)
    fit(cae, normal + anomalous)
    assert score(cae, normal).shape == (4,)
    with pytest.raises(ValueError, match="both classes"):
        fit(CaeAnomaly("tiny", supervised=True), normal)


# ------------------------------------------------------------------------------------------------
# The drill study (seed 002): waveform VAE and the AlexNet stand-in
# ------------------------------------------------------------------------------------------------
def test_wave_vae_paper_sizes():
    """1,999 samples padded to 2,000 (a multiple of 2^4): code 128 x 125 = 16,000; latent 2.

    encoder (Conv1d k4 + residual block of two k3 convs with affine InstanceNorm, 2c each):
      1->16: 80 + 2*(16*16*3 + 16) + 64 = 1,712;  16->32: 2,080 + 6,336 = 8,416
      32->64: 8,256 + 24,960 = 33,216;            64->128: 32,896 + 99,072 = 131,968  -> 175,312
    to mean/log-variance 16,000 * 4 + 4 = 64,004; from latent 2 * 16,000 + 16,000 = 48,000
    decoder (residual block with BN, then ConvTranspose1d k4): 99,072 + 32,832 + 24,960 + 8,224
      + 6,336 + 2,064 + 1,632 + 65 = 175,185.   Total 462,501.
    """
    from dinos.model.baselines.drill import WaveVAE

    vae = WaveVAE("paper")
    assert vae.code == (128, 125) and vae.config.latent == 2
    assert parameter_count(vae) == 462_501
    with torch.no_grad():
        recon, mu, logvar = vae(torch.rand(2, 1999))
    assert recon.shape == (2, 1999) and mu.shape == logvar.shape == (2, 2)
    assert float(recon.min()) > 0 and float(recon.max()) < 1


def test_wave_vae_fit_and_synthesize():
    from dinos.model.baselines.drill import WaveVAE, synthesize

    clips = tone_clips(6, seconds=0.05)
    vae = WaveVAE("tiny")
    rep = fit(vae, clips, FitConfig(epochs=5, batch_size=4, lr=3e-3))
    assert rep.losses[-1] < rep.losses[0]
    new = synthesize(vae, 3, seed=1)
    assert len(new) == 3 and new[0].shape == (256,) and all(np.abs(w).max() <= 1 for w in new)
    np.testing.assert_array_equal(new[0], synthesize(vae, 3, seed=1)[0])
    with pytest.raises(ValueError, match="fit the VAE"):
        synthesize(WaveVAE("tiny"), 1)


def test_mel_image_cnn_and_user_backbone():
    """3 x [conv 3x3 (no bias) + BN + ReLU + max-pool] 16/32/64 + linear 64 -> 2:
    144 + 32 + 4,608 + 64 + 18,432 + 128 + 130 = 23,538."""
    from dinos.model.baselines.drill import MelImageClassifier, MelImageCNN

    assert parameter_count(MelImageCNN(2)) == 23_538
    clips = tone_clips(3, label="normal") + tone_clips(3, freq=2500.0, seed=4, label="anomaly")
    cnn = MelImageClassifier(image=32, fit_config=FitConfig(epochs=3, batch_size=6, lr=1e-2))
    fit(cnn, clips)
    assert cnn.classes == ["anomaly", "normal"]
    s = score(cnn, clips)
    assert s.shape == (6,) and np.all((s >= 0) & (s <= 1))
    own = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 32, 2))
    mine = MelImageClassifier(image=32, backbone=own)
    fit(mine, clips, FitConfig(epochs=1))
    assert mine.net is own


def test_training_batches_never_hold_one_example():
    """A trailing batch of one is merged into the one before (BatchNorm cannot train on it)."""
    from dinos.model.baselines.trainer import _batches

    sizes = [len(b) for b in _batches(65, 32, torch.Generator().manual_seed(0))]
    assert sizes == [32, 33]
    assert sorted(torch.cat(_batches(65, 32, torch.Generator().manual_seed(0))).tolist()) == list(range(65))
    assert [len(b) for b in _batches(65, 32, None)] == [32, 32, 1]  # scoring keeps them as they are


# ------------------------------------------------------------------------------------------------
# MIMII DUE Table 4: one home (the task registry), read by the baselines
# ------------------------------------------------------------------------------------------------
def test_mimii_due_table4_in_task_registry():
    """Table 4 is reachable per task (`Task.reference_results`): 5 machines x sections 00-02 x 2 domains x
    2 models = 60 values, none for the evaluation sections 03-05; `reference.py` reads the same values."""
    from dinos import tasks as T
    from dinos.model.baselines.reference import MIMII_DUE_COLUMNS, mimii_due_reference

    tasks = T.all_tasks("mimii_due")
    refs = [(t.name, r) for t in tasks for r in t.reference_results]
    assert len(refs) == 60
    assert {t.name.rsplit("_", 1)[-1] for t in tasks if t.reference_results} == {"00", "01", "02"}
    fan0 = T.get_task("mimii_due/fan/section_00")
    assert fan0.reference("AE", "source").value == 0.667 and fan0.reference("AE", "target").value == 0.697
    assert T.get_task("mimii_due/valve/section_01").reference("MobileNetV2", "target").value == 0.686
    assert T.get_task("mimii_due/slider/section_02").reference("AE", "target").value == 0.462  # "slide rail"
    assert T.get_task("mimii_due/fan/section_03").reference("AE", "source") is None
    assert fan0.to_dict()["reference_results"][0] == {"model": "AE", "domain": "source", "value": 0.667,
                                                      "metric": "AUC", "source": "MIMII DUE paper Table 4"}
    for name, r in refs:
        machine, section = name.split("/")[1], int(name.rsplit("_", 1)[-1])
        ours = {v: k for k, v in MIMII_DUE_COLUMNS.items()}[r.model]
        assert mimii_due_reference(ours, machine, section, r.domain) == r.value
    assert mimii_due_reference("mae_vit", "fan", 0, "source") is None
    assert mimii_due_reference("mimii_due_ae", "fan", 4, "source") is None


def test_log_mel_stats_row_shape():
    """The "Log-Mel stats" row (ours; not in any source paper): 128 bands x (mean, std, std of the deltas)
    = 384 numbers per clip, as many as IMPACT's d, and nothing trained (0 parameters)."""
    from dinos.model.baseline import LogMelStats

    m = LogMelStats()
    assert m.dim == 384 and parameter_count(m) == 0 and sum(p.numel() for p in m.parameters()) == 0
    wave = torch.from_numpy(np.stack([c.wave for c in tone_clips(2, sr=48_000, seconds=1.0)]))
    x = m(wave)
    assert x.shape == (2, 384)
    spec = m.frontend(wave)[:, 0]
    torch.testing.assert_close(x[:, :128], spec.mean(-1))  # the first 128: the mean log-Mel spectrum
    assert torch.all(x[:, 128:] >= 0)  # standard deviations
