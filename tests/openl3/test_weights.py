"""Reading Keras HDF5 weight files (written here by h5py in Keras' layout)."""

import gzip
import hashlib
import shutil

import h5py
import numpy as np
import pytest
import torch

from sk_avsc.exceptions import WeightsError
from sk_avsc.openl3 import load_audio_model, load_image_model
from sk_avsc.openl3.weights import read_keras_weights

CONV_SHAPES = [(3, 3, None, 64), (3, 3, 64, 64), (3, 3, 64, 128), (3, 3, 128, 128),
               (3, 3, 128, 256), (3, 3, 256, 256), (3, 3, 256, 512), (3, 3, 512, 512)]


def write_keras_file(path, in_channels, rng, *, bad_layer=None, extra_frontend=False):
    """Write an OpenL3-layout weight file like Keras' save_weights; return its arrays."""
    layers = []
    layers.append(("batch_normalization_7", "bn", in_channels))
    for i, shape in enumerate(CONV_SHAPES):
        shape = (3, 3, in_channels if shape[2] is None else shape[2], shape[3])
        name = "audio_embedding_layer" if i == 7 else f"conv2d_{i + 3}"
        layers.append((name, "conv", shape))
        if i < 7:
            layers.append((f"batch_normalization_{i + 8}", "bn", shape[3]))
    arrays = {}
    with h5py.File(path, "w") as h5:
        names = ["input_1"] + (["melspectrogram"] if extra_frontend else []) + \
            [n for n, _, _ in layers]
        h5.attrs["layer_names"] = np.array([n.encode() for n in names])
        h5.attrs["backend"] = b"tensorflow"
        h5.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
        if extra_frontend:  # kapre 0.1-style frontend kernels: must be skipped
            g = h5.create_group("melspectrogram")
            g.create_dataset("melspectrogram/dft_real_kernel:0", data=np.ones((2048, 1025)))
        for name, kind, shape in layers:
            g = h5.create_group(name)
            if kind == "conv":
                if name == bad_layer:
                    shape = shape[:2] + (shape[2] + 1, shape[3])
                values = {"kernel": rng.standard_normal(shape).astype(np.float32) * 0.05,
                          "bias": rng.standard_normal(shape[3]).astype(np.float32) * 0.05}
            else:
                values = {"gamma": rng.uniform(0.5, 1.5, shape).astype(np.float32),
                          "beta": rng.normal(0, 0.1, shape).astype(np.float32),
                          "moving_mean": rng.normal(0, 0.1, shape).astype(np.float32),
                          "moving_variance": rng.uniform(0.5, 2, shape).astype(np.float32)}
            g.attrs["weight_names"] = np.array([f"{name}/{k}:0".encode() for k in values])
            for key, value in values.items():
                g.create_dataset(f"{name}/{key}:0", data=value)
            arrays[name] = values
    return arrays


def test_audio_weights_land_in_the_right_places(tmp_path, rng):
    path = tmp_path / "openl3_audio_mel128_env.h5"
    arrays = write_keras_file(path, 1, rng, extra_frontend=True)
    model = load_audio_model(path, "mel128", "env", 512)
    state = model.body.state_dict()
    kernel = arrays["conv2d_4"]["kernel"]  # second convolution of block 1
    np.testing.assert_array_equal(state["conv1b.weight"].numpy(), kernel.transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(state["embedding.bias"].numpy(),
                                  arrays["audio_embedding_layer"]["bias"])
    bn = arrays["batch_normalization_7"]
    np.testing.assert_array_equal(state["bn_input.running_var"].numpy(), bn["moving_variance"])
    np.testing.assert_array_equal(state["bn_input.weight"].numpy(), bn["gamma"])
    assert model.body.bn_input.eps == 1e-3
    assert model.weights_id == hashlib.sha1(path.read_bytes()).hexdigest()


def test_gzipped_file_has_the_same_identity(tmp_path, rng):
    path = tmp_path / "openl3_image_mel256_env.h5"
    write_keras_file(path, 3, rng)
    gz = tmp_path / "openl3_image_mel256_env.h5.gz"
    with open(path, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a = load_image_model(path, "mel256", "env", 512)
    b = load_image_model(gz, "mel256", "env", 512)
    assert a.weights_id == b.weights_id
    for key, value in a.body.state_dict().items():
        assert torch.equal(value, b.body.state_dict()[key]), key


def test_wrong_shape_names_file_layer_and_shapes(tmp_path, rng):
    path = tmp_path / "weights.h5"
    write_keras_file(path, 1, rng, bad_layer="conv2d_5")
    with pytest.raises(WeightsError) as info:
        load_audio_model(path, "mel256", "env", 512)
    message = str(info.value)
    assert "weights.h5" in message and "conv2d_5" in message
    assert "(3, 3, 64, 128)" in message and "(3, 3, 65, 128)" in message


def test_image_file_into_audio_network(tmp_path, rng):
    path = tmp_path / "some_weights.h5"
    write_keras_file(path, 3, rng)
    with pytest.raises(WeightsError, match=r"batch_normalization_7.*\(1,\).*\(3,\)"):
        load_audio_model(path, "mel256", "env", 512)
    named = tmp_path / "openl3_image_mel256_env.h5"
    shutil.copy(path, named)
    with pytest.raises(WeightsError, match="image network"):
        load_audio_model(named, "mel256", "env", 512)


def test_audio_file_of_another_input_repr(tmp_path, rng):
    path = tmp_path / "openl3_audio_linear_env.h5"
    write_keras_file(path, 1, rng)
    with pytest.raises(WeightsError, match="input_repr='linear'"):
        load_audio_model(path, "mel256", "env", 512)


def test_missing_layers_and_not_hdf5(tmp_path, rng):
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as h5:
        h5.attrs["layer_names"] = np.array([b"input_1"])
    with pytest.raises(WeightsError, match="found 0"):
        load_image_model(empty, embedding_size=512)
    text = tmp_path / "notes.h5"
    text.write_text("not weights")
    with pytest.raises(WeightsError, match="not an HDF5 file"):
        load_image_model(text, embedding_size=512)
    broken = tmp_path / "broken.h5.gz"
    broken.write_bytes(gzip.compress(rng.bytes(10000))[:5000])
    with pytest.raises(WeightsError, match="damaged gzip"):
        load_image_model(broken, embedding_size=512)
    with pytest.raises(WeightsError, match="not found"):
        load_image_model(tmp_path / "absent.h5", embedding_size=512)


def test_read_keras_weights_skips_weightless_and_frontend_layers(tmp_path, rng):
    path = tmp_path / "w.h5"
    write_keras_file(path, 1, rng, extra_frontend=True)
    layers, sha1 = read_keras_weights(path)
    assert len(layers) == 16 and layers[0][0] == "batch_normalization_7"
    assert layers[-1][0] == "audio_embedding_layer"
    assert sha1 == hashlib.sha1(path.read_bytes()).hexdigest()


def test_official_layout_of_shared_files(openl3_reference_dir):
    for name, channels in (("openl3_audio_mel128_env.h5", 1), ("openl3_image_mel256_env.h5", 3)):
        layers, _ = read_keras_weights(openl3_reference_dir / name)
        assert len(layers) == 16
        assert layers[0][1]["gamma"].shape == (channels,)
        assert layers[-1][1]["kernel"].shape == (3, 3, 512, 512)
