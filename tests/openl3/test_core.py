"""Functional API with random weights: windowing, shapes, invariances, bad input."""

import warnings

import numpy as np
import pytest
import torch

from sk_avsc.exceptions import (
    AudioError,
    ImageError,
    ParameterError,
    RandomWeightsWarning,
    SkAvscWarning,
    WeightsError,
)
from sk_avsc.openl3 import (
    cut_audio_windows,
    embed_audio_windows,
    get_audio_embedding,
    get_image_embedding,
    load_audio_model,
    load_image_model,
    preprocess_image,
)
from sk_avsc.openl3 import _batching, _loading


@pytest.fixture(scope="module")
def audio_model():
    return load_audio_model("random", "mel128", "env", 512, random_state=1)


@pytest.fixture(scope="module")
def image_model():
    return load_image_model("random", "mel256", "env", 512, random_state=1)


def _openl3_n_windows(n_samples, hop_len, center):
    # openl3 0.4.2's _get_num_windows (independent oracle)
    if center:
        n_samples += 24000
    if n_samples <= 48000:
        return 1
    return 1 + int(np.ceil((n_samples - 48000) / float(hop_len)))


# ---------------------------------------------------------------------------- windowing

@pytest.mark.parametrize("n_samples", [1, 100, 23999, 24000, 24001, 47999, 48000, 48001,
                                       52800, 96000, 100001, 481234])
@pytest.mark.parametrize("hop_size", [0.1, 0.25, 0.5, 1.0, 1 / 3, 2.0])
@pytest.mark.parametrize("center", [True, False])
def test_windows_and_timestamps(n_samples, hop_size, center):
    audio = np.arange(1, n_samples + 1, dtype=np.float32)  # sample k has value k + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkAvscWarning)
        windows, ts = cut_audio_windows(audio, 48000, hop_size=hop_size, center=center)
    hop_len = int(hop_size * 48000)
    n = _openl3_n_windows(n_samples, hop_len, center)
    assert windows.shape == (n, 1, 48000) and windows.dtype == np.float32
    np.testing.assert_allclose(ts, np.arange(n) * hop_size, atol=1e-12)
    # window k starts at sample k * hop - 24000 (centre) or k * hop of the signal
    offset = 24000 if center else 0
    for k in {0, n // 2, n - 1}:
        first = k * hop_len - offset
        idx = np.arange(first, first + 48000)
        inside = (idx >= 0) & (idx < n_samples)
        np.testing.assert_array_equal(windows[k, 0, inside], idx[inside] + 1)
        np.testing.assert_array_equal(windows[k, 0, ~inside], 0)
    # every sample is in some window
    last_end = (n - 1) * hop_len - offset + 48000
    assert last_end >= n_samples


def test_audio_embedding_shapes_and_timestamps(audio_model):
    audio = np.random.default_rng(0).uniform(-1, 1, 72000).astype(np.float32)
    emb, ts = get_audio_embedding(audio, 48000, model=audio_model, hop_size=0.25)
    # 1.5 s + 0.5 s of centring pad = 2 s: 1 + (2 s - 1 s) / 0.25 s windows
    assert emb.shape == (5, 512) and emb.dtype == np.float32
    np.testing.assert_allclose(ts, [0, 0.25, 0.5, 0.75, 1.0])
    assert np.all(np.isfinite(emb))
    emb, ts = get_audio_embedding(audio, 48000, model=audio_model, hop_size=0.5, center=False)
    assert emb.shape == (2, 512)
    np.testing.assert_allclose(ts, [0, 0.5])


def test_batch_size_invariance_and_determinism(audio_model):
    audio = np.random.default_rng(1).uniform(-1, 1, 60000).astype(np.float32)
    a, _ = get_audio_embedding(audio, 48000, model=audio_model, hop_size=0.2, batch_size=1)
    b, _ = get_audio_embedding(audio, 48000, model=audio_model, hop_size=0.2, batch_size=3)
    c, _ = get_audio_embedding(audio, 48000, model=audio_model, hop_size=0.2, batch_size=3)
    assert a.shape == (5, 512)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(a).max())
    np.testing.assert_array_equal(b, c)


def test_random_weights_are_seeded():
    with pytest.warns(RandomWeightsWarning, match="meaningless"):
        a = load_audio_model("random", "mel128", "env", 512, random_state=7)
    b = load_audio_model("random", "mel128", "env", 512, random_state=7)
    c = load_audio_model("random", "mel128", "env", 512, random_state=8)
    assert a.weights_id == "random-7" and c.weights_id == "random-8"
    sa, sb, sc = (m.body.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["conv2a.weight"], sc["conv2a.weight"])
    assert set(sa) >= {"bn_input.weight", "conv1a.weight", "bn4a.running_var", "embedding.bias"}


def test_float64_stereo_multichannel_and_int16_input(audio_model):
    rng = np.random.default_rng(2)
    mono = rng.uniform(-0.5, 0.5, 50000).astype(np.float32)
    ref, _ = get_audio_embedding(mono, 48000, model=audio_model, hop_size=0.5)
    as64, _ = get_audio_embedding(mono.astype(np.float64), 48000, model=audio_model,
                                  hop_size=0.5)
    np.testing.assert_array_equal(as64, ref)
    # channels are averaged, whatever their number
    multi = np.stack([mono, 2 * mono, 0 * mono, mono], axis=1)
    emb, _ = get_audio_embedding(multi, 48000, model=audio_model, hop_size=0.5)
    np.testing.assert_array_equal(emb, ref)
    # int16 is scaled to [-1, 1]; the per-window dB normalisation makes the scale irrelevant
    pcm = (mono * 32767).astype(np.int16)
    emb16, _ = get_audio_embedding(pcm, 48000, model=audio_model, hop_size=0.5)
    scaled, _ = get_audio_embedding(pcm.astype(np.float32) / 32768, 48000, model=audio_model,
                                    hop_size=0.5)
    np.testing.assert_array_equal(emb16, scaled)
    raw, _ = get_audio_embedding(pcm.astype(np.float32), 48000, model=audio_model, hop_size=0.5)
    np.testing.assert_allclose(raw, emb16, rtol=1e-4, atol=1e-4 * np.abs(raw).max())


def test_lists_of_audio(audio_model):
    rng = np.random.default_rng(3)
    clips = [rng.uniform(-1, 1, 50000).astype(np.float32),
             rng.uniform(-1, 1, (40000, 2)).astype(np.float32)]
    embs, tss = get_audio_embedding(clips, [48000, 32000], model=audio_model, hop_size=0.5)
    assert isinstance(embs, list) and len(embs) == 2 and len(tss) == 2
    for clip, sr, emb, ts in zip(clips, [48000, 32000], embs, tss):
        alone, ts_alone = get_audio_embedding(clip, sr, model=audio_model, hop_size=0.5)
        np.testing.assert_allclose(emb, alone, rtol=1e-5, atol=1e-6 * np.abs(alone).max())
        np.testing.assert_array_equal(ts, ts_alone)
    embs, _ = get_audio_embedding(clips[:1], 48000, model=audio_model, hop_size=0.5)
    assert isinstance(embs, list) and len(embs) == 1
    with pytest.raises(ParameterError, match="2 audio arrays but 3 sample rates"):
        get_audio_embedding(clips, [48000] * 3, model=audio_model)


def test_list_handling_is_the_same_for_audio_and_images(audio_model, image_model):
    audio = np.ones(48000, np.float32)
    frames = np.ones((1, 224, 224, 3), np.uint8)
    with pytest.raises(AudioError, match="audio is an empty list"):
        get_audio_embedding([], 48000, model=audio_model)
    with pytest.raises(AudioError, match=r"audio\[1\]: .*empty"):
        get_audio_embedding([audio, np.zeros(0, np.float32)], 48000, model=audio_model)
    with pytest.raises(ImageError, match=r"image\[1\]: .*3 channels"):
        get_image_embedding([frames, frames[..., :2]], model=image_model)
    with pytest.raises(ParameterError, match="2 image arrays but 3 frame rates; pass one"):
        get_image_embedding([frames, frames], frame_rate=[1, 2, 3], model=image_model)


@pytest.mark.parametrize("start, stop", [(0, 3), (2, 7), (4, 5), (5, 9), (8, 20), (0, 9)])
def test_concat_slices_like_the_concatenated_array(start, stop):
    parts = [np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 100 * n for n in (3, 1, 5)]
    whole = np.concatenate(parts)
    concat = _batching.Concat(parts)
    assert concat.shape == whole.shape and concat.ndim == 2
    np.testing.assert_array_equal(concat[start:stop], whole[start:stop])
    np.testing.assert_array_equal(np.asarray(concat), whole)


def test_audio_results_do_not_depend_on_batch_size(audio_model):
    windows, _ = cut_audio_windows(
        np.random.default_rng(9).uniform(-1, 1, 96000).astype(np.float32), 48000, hop_size=0.5)
    one = embed_audio_windows(windows, audio_model, batch_size=1)
    many = embed_audio_windows(windows, audio_model, batch_size=3)
    np.testing.assert_allclose(one, many, rtol=1e-5, atol=1e-6 * np.abs(many).max())


def test_resampled_audio_matches_48k_version(audio_model):
    t = np.arange(44100) / 44100
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    emb, ts = get_audio_embedding(tone, 44100, model=audio_model, hop_size=0.5)
    t48 = np.arange(48000) / 48000
    tone48 = (0.5 * np.sin(2 * np.pi * 1000 * t48)).astype(np.float32)
    ref, _ = get_audio_embedding(tone48, 48000, model=audio_model, hop_size=0.5)
    assert emb.shape == ref.shape
    assert np.linalg.norm(emb - ref) / np.linalg.norm(ref) < 0.05


def test_silence_and_short_audio_warn_and_stay_finite(audio_model):
    with pytest.warns(SkAvscWarning, match="all zeros"):
        emb, _ = get_audio_embedding(np.zeros(48000, np.float32), 48000, model=audio_model,
                                     hop_size=0.5)
    assert np.all(np.isfinite(emb))
    np.testing.assert_allclose(emb, emb[:1].repeat(len(emb), 0), rtol=1e-6, atol=1e-6)
    with pytest.warns(SkAvscWarning, match="shorter than one window"):
        emb, ts = get_audio_embedding(np.ones(100, np.float32), 48000, model=audio_model)
    assert emb.shape == (1, 512) and list(ts) == [0.0]


def test_bf16_mode_is_close(audio_model):
    bf16 = load_audio_model("random", "mel128", "env", 512, random_state=1,
                            dtype=torch.bfloat16)
    audio = np.random.default_rng(4).uniform(-1, 1, 48000).astype(np.float32)
    a, _ = get_audio_embedding(audio, 48000, model=audio_model, center=False)
    b, _ = get_audio_embedding(audio, 48000, model=bf16, center=False)
    assert bf16.dtype == torch.bfloat16 and b.dtype == np.float32
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 3e-2


def test_inference_path_equals_plain_modules(audio_model):
    windows = torch.from_numpy(
        np.random.default_rng(5).uniform(-1, 1, (2, 1, 48000)).astype(np.float32))
    with torch.no_grad():
        fast = audio_model(windows)
        spec = audio_model.spectrogram(windows)
        plain = audio_model.body(spec)
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-5 * float(plain.abs().max()))


def test_pickle_and_deepcopy_keep_the_model(audio_model):
    import copy
    import pickle

    windows = np.random.default_rng(6).uniform(-1, 1, (1, 1, 48000)).astype(np.float32)
    ref = embed_audio_windows(windows, audio_model)
    for clone in (pickle.loads(pickle.dumps(audio_model)), copy.deepcopy(audio_model)):
        assert clone.weights_id == audio_model.weights_id
        np.testing.assert_array_equal(embed_audio_windows(windows, clone), ref)


def test_compile_needs_a_compiler(monkeypatch):
    monkeypatch.setattr(_loading.shutil, "which", lambda name: None)
    with pytest.raises(ParameterError, match="C\\+\\+ compiler"):
        load_audio_model("random", "mel128", "env", 512, compile=True)


# ---------------------------------------------------------------------------- bad audio

@pytest.mark.parametrize("audio, match", [
    (np.zeros(0, np.float32), "empty"),
    (np.zeros((0, 2), np.float32), "empty"),
    (np.ones((10, 2, 2), np.float32), "3 dimensions"),
    (np.array([0.1, np.nan, 0.2] * 100, np.float32), "NaN or infinite"),
    (np.array([0.1, np.inf] * 100), "NaN or infinite"),
    (np.ones(100, dtype=complex), "dtype"),
    ("not audio", "numpy array"),
])
def test_bad_audio(audio_model, audio, match):
    with pytest.raises(AudioError, match=match) as info:
        get_audio_embedding(audio, 48000, model=audio_model)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sr=0), "sr must be a positive"),
    (dict(sr=-44100), "sr must be a positive"),
    (dict(sr=float("nan")), "sr must be a positive"),
    (dict(hop_size=0), "hop_size must be a positive"),
    (dict(hop_size=-0.1), "hop_size must be a positive"),
    (dict(hop_size=1e-6), r"hop_size must be a positive number of seconds \(>= 1/48000\)"),
    (dict(center="yes"), "center must be True or False"),
    (dict(batch_size=0), "batch_size must be an int >= 1"),
    (dict(input_repr="mel64"), r"input_repr must be one of \('linear', 'mel128', 'mel256'\)"),
    (dict(content_type="speech"), r"content_type must be one of \('music', 'env'\)"),
    (dict(embedding_size=128), r"embedding_size must be one of \(6144, 512\)"),
    (dict(model="a keras model"), "AudioEmbeddingNetwork"),
])
def test_bad_audio_parameters(audio_model, kwargs, match):
    kwargs = {"sr": 48000, "model": audio_model, **kwargs}
    sr = kwargs.pop("sr")
    with pytest.raises(ParameterError, match=match) as info:
        get_audio_embedding(np.ones(48000, np.float32), sr, **kwargs)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_repr="mel"), "input_repr must be one of"),
    (dict(content_type="Music"), "content_type must be one of"),
    (dict(embedding_size=8192), r"embedding_size must be one of \(6144, 512\)"),
    (dict(weights=3), "weights must be None"),
    (dict(dtype=torch.float16), "dtype must be"),
    (dict(device="tpu:0"), "device"),
])
def test_bad_audio_model_parameters(kwargs, match):
    kwargs = {"weights": "random", **kwargs}
    with pytest.raises(ParameterError, match=match):
        load_audio_model(**kwargs)


def test_image_embedding_size_is_checked():
    with pytest.raises(ParameterError, match=r"\(8192, 512\)"):
        load_image_model("random", embedding_size=6144)


def test_weights_none_without_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", "http://127.0.0.1:9/nothing-here")
    with pytest.raises(WeightsError, match="openl3_audio_mel256_env"):
        load_audio_model(None, "mel256", "env", 512)


# ---------------------------------------------------------------------------- images

def test_preprocess_224_uint8_maps_to_minus_one_one(rng):
    img = rng.integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)
    np.testing.assert_allclose(preprocess_image(img), img / 255.0 * 2 - 1, atol=1e-6)
    single = preprocess_image(img[0])
    assert single.shape == (1, 224, 224, 3)


def test_preprocess_crop_only_keeps_raw_values_over_max(rng):
    img = rng.integers(0, 200, (2, 240, 300, 3)).astype(np.uint8)
    out = preprocess_image(img)
    crop = img[:, 8:232, 38:262].astype(np.float64)
    np.testing.assert_allclose(out, crop / img.max(), atol=1e-6)  # max over the whole array
    floats = rng.uniform(-1, 1, (1, 256, 256, 3)).astype(np.float32)
    np.testing.assert_array_equal(preprocess_image(floats), floats[:, 16:240, 16:240])


def test_preprocess_rescale_matches_scipy_zoom(rng):
    import scipy.ndimage as ndi

    img = rng.integers(0, 256, (1, 300, 400, 3), dtype=np.uint8)
    out = preprocess_image(img)
    # skimage.transform.rescale(order=1, anti_aliasing=False) is ndimage.zoom(grid_mode=True)
    x = img[0] / 255.0
    zoomed = ndi.zoom(x, (256 / 300, 341 / 400, 1), order=1, mode="grid-constant",
                      grid_mode=True)
    assert zoomed.shape[:2] == (256, 341)
    ref = zoomed[16:240, 58:282]
    np.testing.assert_allclose(out[0], ref, atol=1e-6)
    assert out.min() >= 0  # uint8 frames that are rescaled stay in [0, 1]


def test_image_embedding_shapes_timestamps_lists(image_model, rng):
    frames = rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    emb = get_image_embedding(frames, model=image_model)
    assert isinstance(emb, np.ndarray) and emb.shape == (3, 512) and emb.dtype == np.float32
    emb2, ts = get_image_embedding(frames, frame_rate=4, model=image_model, batch_size=2)
    np.testing.assert_allclose(emb2, emb, rtol=1e-5, atol=1e-6 * np.abs(emb).max())
    np.testing.assert_allclose(ts, [0, 0.25, 0.5])
    embs = get_image_embedding([frames[:1], frames[1:]], model=image_model)
    assert [e.shape for e in embs] == [(1, 512), (2, 512)]
    embs, tss = get_image_embedding([frames[:1], frames[1:]], frame_rate=[1, 2],
                                    model=image_model)
    np.testing.assert_allclose(tss[1], [0, 0.5])


@pytest.mark.parametrize("image, match", [
    (np.zeros((2, 224, 224, 4), np.uint8), "3 channels"),
    (np.zeros((2, 224, 224, 1), np.uint8), "3 channels"),
    (np.ones((2, 223, 300, 3), np.uint8), "at least 224x224"),
    (np.ones((224, 3), np.uint8), "2 dimensions"),
    (np.ones((1, 1, 224, 224, 3), np.uint8), "5 dimensions"),
    (np.zeros((0, 224, 224, 3), np.uint8), "empty"),
    ([], "empty list"),
    (np.full((1, 224, 224, 3), np.nan, np.float32), "NaN"),
    ("frame.png", "numpy array"),
])
def test_bad_images(image_model, image, match):
    with pytest.raises(ImageError, match=match) as info:
        get_image_embedding(image, model=image_model)
    assert isinstance(info.value, ValueError)


def test_all_zero_image_warns(image_model):
    with pytest.warns(SkAvscWarning, match="all zeros"):
        emb = get_image_embedding(np.zeros((224, 224, 3), np.uint8), model=image_model)
    assert np.all(np.isfinite(emb))


def test_bad_frame_rate_and_model(image_model):
    frames = np.ones((1, 224, 224, 3), np.uint8)
    with pytest.raises(ParameterError, match="frame_rate"):
        get_image_embedding(frames, frame_rate=0, model=image_model)
    with pytest.raises(ParameterError, match="ImageEmbeddingNetwork"):
        get_image_embedding(frames, model=object())


def test_embed_audio_windows_checks_shape(audio_model):
    with pytest.raises(AudioError, match=r"\(n_windows, 1, 48000\)"):
        embed_audio_windows(np.zeros((2, 48000), np.float32), audio_model)


def test_frontend_device_choice(audio_model):
    windows = torch.from_numpy(
        np.random.default_rng(7).uniform(-1, 1, (1, 1, 48000)).astype(np.float32))
    with torch.no_grad():
        exact = audio_model(windows)
        audio_model.frontend_device = None  # on the model's device (CPU here): same path
        try:
            same = audio_model(windows)
        finally:
            audio_model.frontend_device = "cpu"
    torch.testing.assert_close(exact, same, rtol=0, atol=0)
