"""The openl3 0.4.2 drop-in: openl3's names, signatures, errors, warnings and file API.

The behaviours are those openl3's own ``tests/test_core.py`` checks, run against
``import sk_avsc.openl3 as openl3`` with the random reference weights.
"""

import inspect
import os
import shutil

import numpy as np
import pytest

import sk_avsc.openl3 as openl3
import sk_avsc.openl3.models  # noqa: F401  (as openl3 users write it)
from sk_avsc.embedders import read_video_audio
from sk_avsc.exceptions import AudioError, ImageError, MediaError, ParameterError, SkAvscWarning
from sk_avsc.openl3 import _loading, files
from sk_avsc.openl3.openl3_exceptions import OpenL3Error
from sk_avsc.openl3.openl3_warnings import OpenL3Warning

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# openl3 0.4.2's signatures (openl3/core.py, openl3/models.py at tag v0.4.2)
OPENL3_SIGNATURES = {
    "get_audio_embedding": (
        "audio, sr, model=None, input_repr=None, content_type='music', embedding_size=6144, "
        "center=True, hop_size=0.1, batch_size=32, frontend='kapre', verbose=True"),
    "get_image_embedding": (
        "image, frame_rate=None, model=None, input_repr='mel256', content_type='music', "
        "embedding_size=8192, batch_size=32, verbose=True"),
    "preprocess_audio": "audio, sr, hop_size=0.1, input_repr=None, center=True, **kw",
    "process_audio_file": (
        "filepath, output_dir=None, suffix=None, model=None, input_repr=None, "
        "content_type='music', embedding_size=6144, center=True, hop_size=0.1, "
        "batch_size=32, overwrite=False, frontend='kapre', verbose=True"),
    "process_image_file": (
        "filepath, output_dir=None, suffix=None, model=None, input_repr='mel256', "
        "content_type='music', embedding_size=8192, batch_size=32, overwrite=False, "
        "verbose=True"),
    "process_video_file": (
        "filepath, output_dir=None, suffix=None, audio_model=None, image_model=None, "
        "input_repr=None, content_type='music', audio_embedding_size=6144, "
        "audio_center=True, audio_hop_size=0.1, image_embedding_size=8192, "
        "audio_batch_size=32, image_batch_size=32, audio_frontend='kapre', "
        "overwrite=False, verbose=True"),
    "get_output_path": "filepath, suffix, output_dir=None",
    "models.load_audio_embedding_model": (
        "input_repr, content_type, embedding_size, frontend='kapre'"),
    "models.load_audio_embedding_model_from_path": (
        "model_path, input_repr, embedding_size, frontend='kapre'"),
    "models.get_audio_embedding_model_path": "input_repr, content_type",
    "models.load_image_embedding_model": "input_repr, content_type, embedding_size",
    "models.load_image_embedding_model_from_path": "model_path, embedding_size",
    "models.get_image_embedding_model_path": "input_repr, content_type",
}


def _function(dotted):
    obj = openl3
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _params(signature):
    return str(signature)[1:-1].replace('"', "'")


@pytest.mark.parametrize("name", sorted(OPENL3_SIGNATURES))
def test_openl3_names_have_openl3_signatures(name):
    func = _function(name)
    # strip annotations: compare names, kinds and defaults
    sig = inspect.signature(func)
    plain = sig.replace(parameters=[p.replace(annotation=inspect.Parameter.empty)
                                    for p in sig.parameters.values()],
                        return_annotation=inspect.Signature.empty)
    assert _params(plain) == OPENL3_SIGNATURES[name]


def test_package_level_names_and_version():
    for name in ("OpenL3Error", "get_audio_embedding", "get_image_embedding", "get_output_path",
                 "process_audio_file", "process_image_file", "process_video_file",
                 "preprocess_audio", "FRONTENDS"):
        assert hasattr(openl3, name), name
        if name != "FRONTENDS":
            assert getattr(openl3.core, name) is getattr(openl3, name)
    assert openl3.__version__ == "0.4.2"
    assert openl3.FRONTENDS == ("kapre", "kapre-0.1.4", "librosa")
    assert openl3.core.OpenL3Warning is OpenL3Warning
    assert openl3.models.VALID_INPUT_REPRS == ("linear", "mel128", "mel256")


def test_error_and_warning_classes():
    from sk_avsc.exceptions import SkAvscError

    assert issubclass(OpenL3Error, SkAvscError)
    assert issubclass(OpenL3Warning, SkAvscWarning)
    assert openl3.OpenL3Error is OpenL3Error


# ------------------------------------------------------------------ functional API errors

@pytest.fixture(scope="module")
def audio_model():
    return openl3.load_audio_model("random", "mel128", "env", 512, random_state=2)


@pytest.fixture(scope="module")
def image_model():
    return openl3.load_image_model("random", "mel256", "env", 512, random_state=2)


_AUDIO = np.random.default_rng(0).uniform(-1, 1, 48000).astype(np.float32)


@pytest.mark.parametrize("args, kwargs, sk_class", [
    (("invalid", 48000), {}, AudioError),
    ((_AUDIO, 48000), dict(model="invalid"), ParameterError),
    ((_AUDIO, [48000, 48000]), {}, ParameterError),
    ((_AUDIO, "invalid"), {}, ParameterError),
    ((_AUDIO, -1), {}, ParameterError),
    ((_AUDIO, 48000), dict(input_repr="invalid"), ParameterError),
    ((_AUDIO, 48000), dict(content_type="invalid"), ParameterError),
    ((_AUDIO, 48000), dict(embedding_size=42), ParameterError),
    ((_AUDIO, 48000), dict(embedding_size="invalid"), ParameterError),
    ((_AUDIO, 48000), dict(hop_size=0), ParameterError),
    ((_AUDIO, 48000), dict(hop_size=-1), ParameterError),
    ((_AUDIO, 48000), dict(verbose=-1), ParameterError),
    ((_AUDIO, 48000), dict(verbose="invalid"), ParameterError),
    ((_AUDIO, 48000), dict(center="invalid"), ParameterError),
    ((np.ones((10, 10, 10)), 48000), {}, AudioError),
    ((np.zeros(0), 48000), {}, AudioError),
    ((_AUDIO, 48000), dict(frontend="invalid"), ParameterError),
    ((_AUDIO, 48000), dict(frontend="librosa"), ParameterError),  # model has kapre
])
def test_get_audio_embedding_errors_are_openl3_and_sk_avsc(audio_model, args, kwargs,
                                                           sk_class):
    kwargs = {"model": audio_model, "verbose": False, **kwargs}
    with pytest.raises(OpenL3Error) as info:
        openl3.get_audio_embedding(*args, **kwargs)
    assert isinstance(info.value, sk_class) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("image, kwargs, sk_class", [
    ("invalid", {}, ImageError),
    (None, dict(model="invalid"), ParameterError),
    (None, dict(frame_rate=[1, 2]), ParameterError),
    (None, dict(frame_rate="invalid"), ParameterError),
    (None, dict(frame_rate=-1), ParameterError),
    (None, dict(input_repr="invalid"), ParameterError),
    (None, dict(content_type="invalid"), ParameterError),
    (None, dict(embedding_size=42), ParameterError),
    (None, dict(verbose="invalid"), ParameterError),
    (None, dict(verbose=-1), ParameterError),
    (np.ones((0, 0, 0)), {}, ImageError),
    (np.ones((0, 0, 0, 0)), {}, ImageError),
    (np.ones((10,)), {}, ImageError),
    (np.ones((10, 10)), {}, ImageError),
    (np.ones((10, 10, 10)), {}, ImageError),
    (np.ones((10, 10, 10, 10)), {}, ImageError),
    (np.ones((10, 10, 10, 10, 10)), {}, ImageError),
    (np.ones((100, 120, 3)), {}, ImageError),  # smaller than 224 px
])
def test_get_image_embedding_errors_are_openl3_and_sk_avsc(image_model, image, kwargs,
                                                           sk_class):
    image = np.zeros((224, 224, 3), np.uint8) + 7 if image is None else image
    kwargs = {"model": image_model, "verbose": False, **kwargs}
    with pytest.raises(OpenL3Error) as info:
        openl3.get_image_embedding(image, **kwargs)
    assert isinstance(info.value, sk_class)


def test_verbose_accepts_openl3_values(audio_model, capsys):
    for verbose in (0, 1, False, True):
        emb, ts = openl3.get_audio_embedding(_AUDIO, 48000, model=audio_model, hop_size=0.5,
                                             verbose=verbose)
        assert emb.shape == (2, 512)
    err = capsys.readouterr().err
    assert "OpenL3 audio" in err  # the progress bar of verbose=1/True


def test_openl3_warnings(audio_model, image_model):
    with pytest.warns(OpenL3Warning, match="shorter than one window"):
        emb, ts = openl3.get_audio_embedding(_AUDIO[:48], 48000, model=audio_model,
                                             center=False, verbose=False)
    assert emb.shape == (1, 512) and ts.tolist() == [0]
    with pytest.warns(OpenL3Warning, match="all zeros"):
        openl3.get_audio_embedding(np.zeros(48000), 48000, model=audio_model, verbose=False)
    with pytest.warns(OpenL3Warning, match="all zeros"):
        openl3.get_image_embedding(np.zeros((224, 224, 3), np.uint8), model=image_model,
                                   verbose=False)


# ----------------------------------------------------------------- front-end plumbing

def test_model_none_loads_the_requested_frontend(official_weights):
    audio = _AUDIO
    embeddings = {}
    for frontend in ("kapre", "kapre-0.1.4"):
        embeddings[frontend], _ = openl3.get_audio_embedding(
            audio, 48000, input_repr="mel128", content_type="env", embedding_size=512,
            hop_size=0.5, frontend=frontend, verbose=False)
        model = _loading.cached_model("audio", "mel128", "env", 512, frontend)
        assert model.frontend == frontend
        expected, _ = openl3.get_audio_embedding(audio, 48000, model=model, frontend=frontend,
                                                 hop_size=0.5, verbose=False)
        np.testing.assert_array_equal(embeddings[frontend], expected)
    # the two front-ends are different computations (relative L2 0.05-0.11 measured)
    diff = np.linalg.norm(embeddings["kapre"] - embeddings["kapre-0.1.4"])
    assert diff > 1e-3 * np.linalg.norm(embeddings["kapre"])
    assert _loading.cached_model("audio", "mel128", "env", 512, "kapre").frontend == "kapre"


def test_load_audio_model_and_models_loaders_take_frontend(official_weights):
    for frontend in openl3.FRONTENDS:
        model = openl3.models.load_audio_embedding_model("mel128", "env", 512,
                                                         frontend=frontend)
        assert model.frontend == frontend and model.spectrogram.frontend == frontend
    path = openl3.models.get_audio_embedding_model_path("mel128", "music")
    assert path == str(official_weights / "openl3_audio_mel128_music.h5")
    model = openl3.models.load_audio_embedding_model_from_path(path, "mel128", 512)
    assert (model.content_type, model.frontend, model.embedding_size) == ("music", "kapre", 512)
    image = openl3.models.load_image_embedding_model_from_path(
        openl3.models.get_image_embedding_model_path("linear", "env"), 8192)
    assert (image.input_repr, image.content_type, image.embedding_size) == (
        "linear", "env", 8192)
    with pytest.raises(OpenL3Error):
        openl3.models.load_audio_embedding_model("mel128", "env", 512, frontend="tf")
    with pytest.raises(OpenL3Error) as info:
        openl3.models.load_audio_embedding_model_from_path(
            official_weights / "openl3_image_mel128_env.h5", "mel128", 512)
    assert "image" in str(info.value)


def test_load_audio_embedding_model_matches_load_audio_model(official_weights):
    a = openl3.models.load_audio_embedding_model("mel128", "env", 512)
    b = openl3.load_audio_model(official_weights / "openl3_audio_mel128_env.h5", "mel128",
                                "env", 512)
    assert a.weights_id == b.weights_id
    ea, _ = openl3.get_audio_embedding(_AUDIO, 48000, model=a, verbose=False)
    eb, _ = openl3.get_audio_embedding(_AUDIO, 48000, model=b, verbose=False)
    np.testing.assert_array_equal(ea, eb)


# ------------------------------------------------------------------- preprocess_audio

def test_preprocess_audio_has_openl3_shapes(media_dir):
    from sk_avsc.embedders import read_audio

    audio, sr = read_audio(media_dir / "chirp_mono.wav")  # 2 s at 48 kHz
    x = openl3.preprocess_audio(audio, sr)
    assert x.shape == (16, 1, 48000)
    windows, _ = openl3.cut_audio_windows(audio, sr)
    np.testing.assert_array_equal(x, windows)
    # openl3's test_core INPUT_REPR_SIZES: (n, freq, time, 1)
    for input_repr, shape in {"linear": (257, 197), "mel128": (128, 199),
                              "mel256": (256, 199)}.items():
        spec = openl3.preprocess_audio(audio, sr, input_repr=input_repr)
        assert spec.shape == (16, *shape, 1)
    with pytest.raises(OpenL3Error):
        openl3.preprocess_audio(audio, sr, input_repr="asdfadsasdfasdfaasdf")


def test_preprocess_audio_spectrograms_are_the_librosa_models_input(audio_model):
    # the librosa front-end's spectrogram, laid out as openl3's librosa model input
    import torch

    model = openl3.load_audio_model("random", "mel128", "env", 512, random_state=2,
                                    frontend="librosa")
    spec = openl3.preprocess_audio(_AUDIO, 48000, input_repr="mel128")
    with torch.no_grad():
        via_body = model.body(torch.from_numpy(spec).permute(0, 3, 1, 2)).numpy()
    emb, _ = openl3.get_audio_embedding(_AUDIO, 48000, model=model, frontend="librosa",
                                        verbose=False)
    # the plain body against the folded inference path: float rounding only
    assert np.linalg.norm(via_body - emb) < 1e-5 * np.linalg.norm(emb)


def test_preprocess_audio_kwargs(rng):
    audio = rng.uniform(-1, 1, 52800)
    ref = openl3.preprocess_audio(audio, 48000, input_repr="linear")
    same = openl3.preprocess_audio(audio, 48000, input_repr="linear", n_fft=512,
                                   hop_length=242, db_amin=1e-10, db_ref=1.0,
                                   dynamic_range=80.0)
    np.testing.assert_array_equal(ref, same)
    with pytest.raises(ParameterError, match="dynamic_range must be 80.0"):
        openl3.preprocess_audio(audio, 48000, input_repr="mel128", dynamic_range=60)
    with pytest.raises(ParameterError, match="unexpected keyword"):
        openl3.preprocess_audio(audio, 48000, window="hamming")
    with pytest.raises(OpenL3Error):
        openl3.preprocess_audio([audio], 48000)


# ------------------------------------------------------------------- get_output_path

def test_get_output_path():
    path = "/path/to/the/test/file/audio.wav"
    assert openl3.get_output_path(path, "embedding.npz", "/tmp/test/output/dir") == \
        "/tmp/test/output/dir/audio_embedding.npz"
    assert openl3.get_output_path(path, "embedding.npz") == \
        "/path/to/the/test/file/audio_embedding.npz"
    assert openl3.get_output_path(path, ".npz") == "/path/to/the/test/file/audio.npz"


# ------------------------------------------------------------------ process_*_file

def _written(path, text="this is a test file"):
    with open(path, "w") as f:
        f.write(text)


def _content(path):
    with open(path, "rb") as f:
        return f.read()


def test_process_audio_file(media_dir, tmp_path, audio_model):
    sub = tmp_path / "subdir"
    sub.mkdir()
    src = media_dir / "chirp_1s.wav"
    shutil.copy(src, sub / "chirp_1s.wav")
    (sub / "invalid.wav").write_text("This is not an audio file.")
    out = str(tmp_path)
    run = dict(model=audio_model, hop_size=0.5, verbose=False)
    openl3.process_audio_file(str(src), output_dir=out, **run)
    openl3.process_audio_file(str(src), output_dir=out, suffix="suffix", **run)
    openl3.process_audio_file(str(sub / "chirp_1s.wav"), **run)
    for path in (tmp_path / "chirp_1s.npz", tmp_path / "chirp_1s_suffix.npz",
                 sub / "chirp_1s.npz"):
        assert path.is_file()
    with np.load(tmp_path / "chirp_1s.npz") as data:
        assert sorted(data.files) == ["embedding", "timestamps"]
        embedding, timestamps = data["embedding"], data["timestamps"]
    from sk_avsc.embedders import read_audio

    expected, ts = openl3.get_audio_embedding(*read_audio(src), **run)
    np.testing.assert_array_equal(embedding, expected)
    np.testing.assert_array_equal(timestamps, ts)
    with pytest.raises(OpenL3Error) as info:
        openl3.process_audio_file(str(sub / "invalid.wav"), **run)
    assert isinstance(info.value, MediaError)

    target = tmp_path / "chirp_1s.npz"
    _written(target)
    openl3.process_audio_file(str(src), output_dir=out, overwrite=False, **run)
    assert _content(target) == b"this is a test file"
    openl3.process_audio_file(str(src), output_dir=out, overwrite=True, **run)
    assert _content(target) != b"this is a test file"
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p or p.startswith(".")]


def test_process_audio_file_batches_several_files(media_dir, tmp_path, audio_model, capsys):
    paths = []
    for name in ("chirp_1.wav", "chirp_2.wav", "chirp_3.wav"):
        shutil.copy(media_dir / "chirp_1s.wav", tmp_path / name)
        paths.append(str(tmp_path / name))
    openl3.process_audio_file(paths[:2], output_dir=str(tmp_path), batch_size=4,
                              model=audio_model, suffix="x", verbose=True)
    stdout = capsys.readouterr().out
    assert "openl3: Processing" in stdout and "(2/2)" in stdout and "openl3: Saved" in stdout
    with np.load(tmp_path / "chirp_1_x.npz") as a, np.load(tmp_path / "chirp_2_x.npz") as b:
        np.testing.assert_array_equal(a["embedding"], b["embedding"])
        assert a["embedding"].ndim == 2 and a["timestamps"].ndim == 1
    (tmp_path / "chirp_2_x.npz").unlink()
    _written(tmp_path / "chirp_3_x.npz")
    openl3.process_audio_file(paths, output_dir=str(tmp_path), batch_size=1000,
                              model=audio_model, suffix="x", verbose=False)
    assert (tmp_path / "chirp_2_x.npz").is_file()  # pending when the last file was skipped
    assert _content(tmp_path / "chirp_3_x.npz") == b"this is a test file"


@pytest.mark.parametrize("filepath", ["/fake/directory/asdf.wav", None, 3, ["a.wav", 4]])
def test_process_file_bad_paths(filepath, audio_model, image_model):
    for func, model in ((openl3.process_audio_file, dict(model=audio_model)),
                        (openl3.process_image_file, dict(model=image_model)),
                        (openl3.process_video_file, dict(audio_model=audio_model,
                                                         image_model=image_model))):
        with pytest.raises(OpenL3Error):
            func(filepath, verbose=False, **model)


def test_process_audio_file_loads_its_model(media_dir, tmp_path, official_weights):
    openl3.process_audio_file(str(media_dir / "chirp_1s.wav"), output_dir=str(tmp_path),
                              input_repr="mel128", content_type="env", embedding_size=512,
                              frontend="kapre-0.1.4", verbose=False)
    model = _loading.cached_model("audio", "mel128", "env", 512, "kapre-0.1.4")
    assert model.frontend == "kapre-0.1.4"
    with np.load(tmp_path / "chirp_1s.npz") as data:
        assert data["embedding"].shape[1] == 512


def test_process_image_file(media_dir, tmp_path, image_model):
    sub = tmp_path / "subdir"
    sub.mkdir()
    src = media_dir / "daisy.jpg"
    shutil.copy(src, sub / "daisy.jpg")
    (sub / "invalid.jpg").write_text("This is not an image file.")
    out = str(tmp_path)
    openl3.process_image_file(str(src), output_dir=out, model=image_model, verbose=False)
    openl3.process_image_file(str(src), output_dir=out, suffix="suffix", model=image_model,
                              verbose=False)
    openl3.process_image_file(str(sub / "daisy.jpg"), model=image_model, verbose=False)
    for path in (tmp_path / "daisy.npz", tmp_path / "daisy_suffix.npz", sub / "daisy.npz"):
        assert path.is_file()
    with np.load(tmp_path / "daisy.npz") as data:
        assert data.files == ["embedding"]
        embedding = data["embedding"]
    from PIL import Image

    expected = openl3.get_image_embedding(np.asarray(Image.open(src)), model=image_model,
                                          verbose=False)
    np.testing.assert_array_equal(embedding, expected)
    assert embedding.shape == (1, 512)
    with pytest.raises(OpenL3Error) as info:
        openl3.process_image_file(str(sub / "invalid.jpg"), model=image_model, verbose=False)
    assert isinstance(info.value, MediaError)
    with pytest.raises(OpenL3Error) as info:  # RGBA, 110x120: alpha dropped, then too small
        openl3.process_image_file(str(media_dir / "smol.png"), model=image_model,
                                  verbose=False)
    assert isinstance(info.value, ImageError) and "224" in str(info.value)

    _written(tmp_path / "daisy.npz")
    openl3.process_image_file(str(src), output_dir=out, model=image_model, verbose=False)
    assert _content(tmp_path / "daisy.npz") == b"this is a test file"
    openl3.process_image_file(str(src), output_dir=out, model=image_model, overwrite=True,
                              verbose=False)
    assert _content(tmp_path / "daisy.npz") != b"this is a test file"
    # several files, batch of 1
    shutil.copy(src, sub / "daisy_2.jpg")
    openl3.process_image_file([str(sub / "daisy.jpg"), str(sub / "daisy_2.jpg")],
                              output_dir=out, batch_size=1, model=image_model, verbose=False)
    with np.load(tmp_path / "daisy_2.npz") as data:
        np.testing.assert_array_equal(data["embedding"], embedding)


@pytest.mark.filterwarnings("ignore:audio lasts:sk_avsc.openl3.openl3_warnings.OpenL3Warning")
def test_process_video_file(media_dir, tmp_path, audio_model, image_model):
    src = str(media_dir / "bento.mp4")
    models = dict(audio_model=audio_model, image_model=image_model, verbose=False)
    openl3.process_video_file(src, output_dir=str(tmp_path), suffix="suffix", **models)
    with np.load(tmp_path / "bento_audio_suffix.npz") as audio, \
            np.load(tmp_path / "bento_image_suffix.npz") as image:
        assert sorted(audio.files) == sorted(image.files) == ["embedding", "timestamps"]
        assert audio["embedding"].ndim == 2 and audio["timestamps"].ndim == 1
        n_frames = image["embedding"].shape[0]
        assert image["embedding"].shape[1] == 512
        # bento.mp4: 1.1 s at 10 frames/s
        assert 10 <= n_frames <= 12
        np.testing.assert_allclose(image["timestamps"], np.arange(n_frames) / 10)
        # openl3's _get_num_windows on the decoded 48 kHz track, centred, hop 0.1
        n_samples = read_video_audio(src).shape[0]
        assert 0.9 < n_samples / 48000 < 1.2
        expected = 1 + int(np.ceil((n_samples + 24000 - 48000) / 4800))
        assert audio["embedding"].shape == (expected, 512)
        np.testing.assert_allclose(audio["timestamps"], np.arange(expected) * 0.1)
    (tmp_path / "invalid.mp4").write_text("This is not a video file.")
    with pytest.raises(OpenL3Error) as info:
        openl3.process_video_file(str(tmp_path / "invalid.mp4"), **models)
    assert isinstance(info.value, MediaError)


def test_process_video_file_naming_and_partial_overwrite(tmp_path, audio_model, image_model,
                                                         monkeypatch):
    # the decoding is tested above; here a stand-in keeps the skipping logic fast
    calls = []

    def fake_read_video(path):
        calls.append(path)
        return (np.random.default_rng(0).uniform(-1, 1, (48000, 2)).astype(np.float32),
                np.full((2, 256, 256, 3), 100, np.uint8), 10)

    def fake_embedding(data, rates, model, **kwargs):
        # the real embedding is tested above: a cheap stand-in with the right shapes
        embeddings = [np.full((len(x), model.embedding_size), i, np.float32)
                      for i, x in enumerate(data)]
        return embeddings, [np.arange(len(x)) / np.broadcast_to(rates, len(data))[i]
                            for i, x in enumerate(data)]

    monkeypatch.setattr(files, "_read_video", fake_read_video)
    monkeypatch.setattr(files, "get_audio_embedding", fake_embedding)
    monkeypatch.setattr(files, "get_image_embedding", fake_embedding)
    sub = tmp_path / "subdir"
    sub.mkdir()
    for name in ("bento.mp4", "bento_1.mp4", "bento_2.mp4"):
        (sub / name).write_bytes(b"stand-in")
    models = dict(audio_model=audio_model, image_model=image_model, verbose=False)
    out = str(tmp_path)
    openl3.process_video_file(str(sub / "bento.mp4"), output_dir=out, **models)
    openl3.process_video_file(str(sub / "bento.mp4"), **models)
    audio_out, image_out = tmp_path / "bento_audio.npz", tmp_path / "bento_image.npz"
    assert audio_out.is_file() and image_out.is_file()
    assert (sub / "bento_audio.npz").is_file() and (sub / "bento_image.npz").is_file()
    n_calls = len(calls)
    openl3.process_video_file(str(sub / "bento.mp4"), output_dir=out, **models)
    assert len(calls) == n_calls  # both outputs exist: not even decoded
    _written(audio_out)
    image_out.unlink()
    openl3.process_video_file(str(sub / "bento.mp4"), output_dir=out, **models)
    assert _content(audio_out) == b"this is a test file" and image_out.is_file()
    _written(image_out)
    audio_out.unlink()
    openl3.process_video_file(str(sub / "bento.mp4"), output_dir=out, **models)
    assert _content(image_out) == b"this is a test file" and audio_out.is_file()
    openl3.process_video_file(str(sub / "bento.mp4"), output_dir=out, overwrite=True, **models)
    assert _content(image_out) != b"this is a test file"
    with np.load(image_out) as data:
        np.testing.assert_array_equal(data["timestamps"], [0.0, 0.1])  # 2 frames at 10 fps
    openl3.process_video_file([str(sub / "bento_1.mp4"), str(sub / "bento_2.mp4")],
                              output_dir=out, audio_batch_size=4, image_batch_size=4,
                              **models)
    for name in ("bento_1_audio", "bento_2_audio", "bento_1_image", "bento_2_image"):
        with np.load(tmp_path / f"{name}.npz") as data:
            assert sorted(data.files) == ["embedding", "timestamps"]
    with np.load(tmp_path / "bento_2_image.npz") as data:
        assert data["embedding"][0, 0] == 1  # the second video of one batch
