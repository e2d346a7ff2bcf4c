"""Fixtures of the openl3 drop-in tests: the reference weights under official names."""

import os

import pytest

from sk_avsc.openl3 import _loading


@pytest.fixture
def official_weights(openl3_reference_dir, tmp_path, monkeypatch):
    """``$SK_AVSC_WEIGHTS_DIR`` with the random reference weights under official names.

    ``openl3_audio_mel128_<env|music>.h5`` is the reference audio network and every
    ``openl3_image_<repr>_<content>.h5`` the reference image network, so that
    ``weights=None`` (the openl3 API's model=None, the CLI) loads them without a download.
    The process-wide model cache is emptied before and after.
    """
    folder = tmp_path / "weights"
    folder.mkdir()
    audio = openl3_reference_dir / "openl3_audio_mel128_env.h5"
    image = openl3_reference_dir / "openl3_image_mel256_env.h5"
    for content in ("env", "music"):
        os.symlink(audio, folder / f"openl3_audio_mel128_{content}.h5")
        for repr_ in ("linear", "mel128", "mel256"):
            os.symlink(image, folder / f"openl3_image_{repr_}_{content}.h5")
    monkeypatch.setenv("SK_AVSC_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", "http://127.0.0.1:9/no-download-in-tests")
    _loading.cached_model.cache_clear()
    yield folder
    _loading.cached_model.cache_clear()
