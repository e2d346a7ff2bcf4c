"""The HEAR 2021 API (sk_avsc.hear): the contract hearvalidator checks, on tiny inputs."""

import numpy as np
import pytest
import torch

from sk_avsc import hear, openl3
from sk_avsc.exceptions import AudioError, ParameterError


@pytest.fixture(scope="module")
def model():
    return hear.load_model("random", input_repr="mel128", hop_size=0.5)


def _noise(n_sounds, n_samples, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((n_sounds, n_samples), generator=generator) * 2 - 1


def test_model_attributes(model):
    assert isinstance(model, torch.nn.Module)
    assert model.sample_rate in (16000, 22050, 44100, 48000)
    assert type(model.scene_embedding_size) is int and model.scene_embedding_size == 512
    assert type(model.timestamp_embedding_size) is int
    assert model.to("cpu") is model


def test_timestamp_embeddings_contract(model):
    audio = _noise(3, 48000)  # 1 s: centred windows at 0 and 500 ms
    embeddings, timestamps = hear.get_timestamp_embeddings(audio, model)
    assert isinstance(embeddings, torch.Tensor) and embeddings.dtype == torch.float32
    assert embeddings.shape == (3, 2, model.timestamp_embedding_size)
    assert timestamps.shape == embeddings.shape[:2]
    np.testing.assert_allclose(timestamps.numpy(), [[0.0, 500.0]] * 3)
    # same windows as the functional API on each sound
    for i in range(3):
        expected, ts = openl3.get_audio_embedding(audio[i].numpy(), 48000, model=model.network,
                                                  hop_size=0.5)
        np.testing.assert_allclose(embeddings[i].numpy(), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(timestamps[i].numpy(), ts * 1000)
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.dtype == torch.float32 and scene.shape == (3, model.scene_embedding_size)
    torch.testing.assert_close(scene, embeddings.mean(dim=1))


def test_uncentred_timestamps_are_window_centres():
    model = hear.load_model("random", input_repr="mel128", hop_size=0.5, center=False)
    _, timestamps = hear.get_timestamp_embeddings(_noise(1, 72000), model)
    np.testing.assert_allclose(timestamps.numpy(), [[500.0, 1000.0]])  # 1.5 s: 2 windows


def test_reference_file_sets_input_representation(openl3_reference_dir):
    model = hear.load_model(str(openl3_reference_dir / "openl3_audio_mel128_env.h5"))
    assert model.network.input_repr == "mel128" and model.network.content_type == "env"
    assert len(model.network.weights_id) == 40


def test_bad_input():
    model = hear.load_model("random", input_repr="mel128")
    with pytest.raises(AudioError, match="torch.Tensor"):
        hear.get_timestamp_embeddings(np.zeros((1, 48000)), model)
    with pytest.raises(AudioError, match=r"\(n_sounds, n_samples\)"):
        hear.get_timestamp_embeddings(torch.zeros(48000), model)
    with pytest.raises(ParameterError, match="hop_size"):
        hear.load_model("random", hop_size=0)


@pytest.mark.slow
def test_hearvalidator(openl3_reference_dir):
    # hearvalidator imports TensorFlow at module level: skipped where either is missing
    validate = pytest.importorskip("hearvalidator.validate", reason="hearvalidator not installed")
    validate.ValidateModel(
        "sk_avsc.hear", str(openl3_reference_dir / "openl3_audio_mel128_env.h5"), device="cpu"
    )()


def test_load_model_takes_the_frontend():
    audio = _noise(1, 48000, seed=3)
    paper = hear.load_model("random", input_repr="mel128", hop_size=0.5, frontend="kapre-0.1.4")
    assert paper.network.frontend == "kapre-0.1.4"
    emb, _ = hear.get_timestamp_embeddings(audio, paper)
    expected, _ = openl3.get_audio_embedding(audio[0].numpy(), 48000, model=paper.network,
                                             hop_size=0.5, frontend="kapre-0.1.4",
                                             verbose=False)
    np.testing.assert_allclose(emb[0].numpy(), expected, rtol=1e-5, atol=1e-6)
    default, _ = hear.get_timestamp_embeddings(
        audio, hear.load_model("random", input_repr="mel128", hop_size=0.5))
    assert not np.allclose(default.numpy(), emb.numpy())
    with pytest.raises(ParameterError, match="frontend"):
        hear.load_model("random", input_repr="mel128", frontend="tf")
