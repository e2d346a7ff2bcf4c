import numpy as np
import pytest

from sk_avsc import ParameterError, ZScore


def test_3d_statistics_are_over_all_windows(rng):
    X = rng.normal(loc=3.0, scale=2.0, size=(7, 5, 4)).astype(np.float32)
    z = ZScore().fit(X)
    flat = X.reshape(-1, 4).astype(np.float64)
    np.testing.assert_allclose(z.mean_, flat.mean(0), rtol=1e-6)
    np.testing.assert_allclose(z.scale_, flat.std(0), rtol=1e-6)
    assert z.n_features_in_ == 4
    assert z.n_samples_seen_ == 35
    Z = z.transform(X)
    assert Z.shape == X.shape and Z.dtype == np.float32
    np.testing.assert_allclose(Z.reshape(-1, 4).mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.reshape(-1, 4).std(0), 1, rtol=1e-5)
    # a clip is standardised the same whether passed 3-D or as its 2-D windows
    np.testing.assert_allclose(z.transform(X[2]), Z[2], rtol=1e-6)


@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32),
                                             (np.float64, np.float64),
                                             (np.int64, np.float64)])
def test_dtype(rng, dtype, expected):
    X = (rng.normal(size=(20, 3)) * 10).astype(dtype)
    assert ZScore().fit_transform(X).dtype == expected


def test_partial_fit_matches_fit(rng):
    X = rng.normal(loc=-1.0, scale=3.0, size=(10, 6, 3))
    z = ZScore()
    for chunk in np.array_split(X, 4):
        z.partial_fit(chunk)
    flat = X.reshape(-1, 3)
    np.testing.assert_allclose(z.mean_, flat.mean(0), rtol=1e-10)
    np.testing.assert_allclose(z.var_, flat.var(0), rtol=1e-10)
    assert z.n_samples_seen_ == 60
    # fit restarts the statistics
    z.fit(X[:2])
    assert z.n_samples_seen_ == 12


def test_inverse_transform_round_trip(rng):
    X = rng.normal(loc=5.0, size=(4, 3, 2))
    z = ZScore().fit(X)
    np.testing.assert_allclose(z.inverse_transform(z.transform(X)), X, rtol=1e-12)


def test_with_mean_and_with_std_off(rng):
    X = rng.normal(loc=5.0, scale=3.0, size=(50, 2))
    np.testing.assert_allclose(ZScore(with_mean=False).fit_transform(X), X / X.std(0))
    np.testing.assert_allclose(ZScore(with_std=False).fit_transform(X), X - X.mean(0))
    z = ZScore(with_mean=False, with_std=False).fit(X)
    assert z.mean_ is None and z.scale_ is None
    np.testing.assert_array_equal(z.transform(X), X)


def test_constant_feature_gives_zeros_not_nan(rng):
    X = np.column_stack([rng.normal(size=30), np.full(30, 7.0)]).astype(np.float32)
    Z = ZScore().fit_transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z[:, 1], 0)


def test_wrong_number_of_features(rng):
    z = ZScore().fit(rng.normal(size=(3, 4, 5)))
    with pytest.raises(ValueError, match="5 features"):
        z.transform(rng.normal(size=(3, 4, 6)))


def test_bad_eps(rng):
    with pytest.raises(ParameterError, match="eps"):
        ZScore(eps=-1).fit(rng.normal(size=(3, 2)))
