"""Invariants of cs231n_lib.augment: transforms, the bilinear sampler, fancy PCA,
fractional max pooling and test-time augmentation, on NumPy and on torch."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cs231n_lib import augment as A

RNG = np.random.default_rng(1234)
X = RNG.random((5, 3, 16, 16)).astype(np.float32)  # a small batch of [0, 1] images
XT = torch.from_numpy(X.copy())


def _pca_fitted():
    return A.FancyPCA(std=0.1).fit(X)


# Every transform, with settings that make it do something.  (name, factory)
TRANSFORMS = [
    ("flip", lambda: A.RandomHorizontalFlip()),
    ("crop_pad_constant", lambda: A.RandomCrop(16, padding=4)),
    ("crop_pad_reflect", lambda: A.RandomCrop(12, padding=3, pad_mode="reflect")),
    ("crop_pad_edge", lambda: A.RandomCrop((10, 14), padding=2, pad_mode="edge")),
    ("center_crop", lambda: A.CenterCrop(9)),
    ("resize", lambda: A.Resize((23, 11))),
    ("resized_crop", lambda: A.RandomResizedCrop(12)),
    ("scale_crop", lambda: A.RandomScaleCrop(12, shorter_side=(12, 24))),
    ("affine", lambda: A.RandomAffine(30, (0.1, 0.2), (0.8, 1.2), 15, (0.7, 1.4), fill=0.5)),
    ("lens", lambda: A.LensDistortion((-0.3, 0.3))),
    ("jitter", lambda: A.ColorJitter(0.4, 0.4, 0.4)),
    ("fancy_pca", _pca_fitted),
    ("normalize", lambda: A.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3])),
    ("cutout", lambda: A.Cutout(6)),
    ("erasing", lambda: A.RandomErasing(p=1.0, value="random")),
    ("compose", lambda: A.Compose([A.RandomCrop(16, padding=2), A.RandomHorizontalFlip()])),
]
RANDOM = {"center_crop", "resize", "normalize"} ^ {name for name, _ in TRANSFORMS}
IDS = [name for name, _ in TRANSFORMS]


# ---------------------------------------------------------------- flips and crops


def test_flip_twice_is_identity_and_flip_mirrors_columns():
    assert np.array_equal(A.hflip(A.hflip(X)), X)
    assert torch.equal(A.hflip(A.hflip(XT)), XT)
    np.testing.assert_array_equal(A.hflip(X[0])[:, :, 0], X[0][:, :, -1])
    always = A.RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(always(always(X, 0), 1), X)


@pytest.mark.parametrize(
    "transform, shape",
    [
        (A.RandomCrop(12), (5, 3, 12, 12)),
        (A.RandomCrop((8, 13), padding=2), (5, 3, 8, 13)),
        (A.CenterCrop((7, 10)), (5, 3, 7, 10)),
        (A.Resize((24, 9)), (5, 3, 24, 9)),
        (A.RandomResizedCrop((11, 20)), (5, 3, 11, 20)),
        (A.RandomScaleCrop(12), (5, 3, 12, 12)),
    ],
)
def test_output_shapes_for_batches_and_single_images(transform, shape):
    assert transform(X, 0).shape == shape
    assert transform(X[0], 0).shape == shape[1:]
    assert tuple(transform(XT, 0).shape) == shape


def test_resize_int_sets_the_shorter_side():
    x = np.zeros((2, 3, 20, 30), np.float32)
    assert A.Resize(10)(x).shape == (2, 3, 10, 15)
    assert A.resize(x, (5, 40)).shape == (2, 3, 5, 40)


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(4, 20),
    w=st.integers(4, 20),
    ch=st.integers(1, 20),
    cw=st.integers(1, 20),
    pad=st.integers(0, 3),
)
def test_random_crop_shape_and_window_come_from_the_padded_image(h, w, ch, cw, pad):
    x = np.arange(h * w, dtype=np.float64).reshape(1, 1, h, w) + 1  # every pixel unique, > 0
    if ch > h + 2 * pad or cw > w + 2 * pad:
        with pytest.raises(ValueError, match="does not fit"):
            A.RandomCrop((ch, cw), padding=pad)(x, 0)
        return
    out = A.RandomCrop((ch, cw), padding=pad)(x, 0)
    assert out.shape == (1, 1, ch, cw)
    padded = A.pad_image(x, pad)
    windows = [
        padded[..., t : t + ch, l : l + cw]
        for t in range(h + 2 * pad - ch + 1)
        for l in range(w + 2 * pad - cw + 1)
    ]
    assert any(np.array_equal(out, win) for win in windows)


def test_pad_modes_match_numpy_pad():
    for mode in ("constant", "reflect", "edge"):
        ref = np.pad(X, ((0, 0), (0, 0), (2, 1), (3, 0)), mode=mode)
        np.testing.assert_array_equal(A.pad_image(X, (2, 1, 3, 0), mode), ref)
        np.testing.assert_array_equal(A.pad_image(XT, (2, 1, 3, 0), mode).numpy(), ref)
    with pytest.raises(ValueError, match="too wide"):
        A.pad_image(X, 16, "reflect")


def test_crop_rejects_windows_outside_the_image():
    with pytest.raises(ValueError, match="does not fit inside a 16x16 image"):
        A.crop(X, 10, 0, 8, 8)
    with pytest.raises(ValueError, match="larger than"):
        A.center_crop(X, 17)


# ---------------------------------------------------------------- identity parameters


def test_identity_parameters_leave_the_image_unchanged():
    same = [
        A.warp_affine(X, np.eye(3)),
        A.warp_affine(X, np.eye(3)[:2]),
        A.RandomAffine()(X, 0),
        A.lens_distort(X, 0.0),
        A.LensDistortion(0.0)(X, 0),
        A.ColorJitter(0, 0, 0)(X, 0),
        A.RandomCrop(16)(X, 0),
        A.FancyPCA(std=0.0).fit(X)(X, 0),
        A.Resize(16)(X),
        A.RandomScaleCrop(16, scale=(1.0, 1.0))(X, 0),
        A.RandomResizedCrop(16, scale=(1.0, 1.0), ratio=(1.0, 1.0))(X, 0),
        A.Cutout(4, p=0.0)(X, 0),
    ]
    for out in same:
        np.testing.assert_allclose(out, X, rtol=0, atol=1e-6)


# ---------------------------------------------------------------- the sampler


def test_bilinear_weights_blend_the_four_neighbours():
    img = RNG.random((1, 2, 4, 5))
    mid = A.remap(img, np.array([[1.5]]), np.array([[2.5]]))
    np.testing.assert_allclose(mid[0, :, 0, 0], img[0, :, 1:3, 2:4].mean(axis=(1, 2)))
    third = A.remap(img, np.array([[1.0]]), np.array([[2.25]]))
    np.testing.assert_allclose(third[0, :, 0, 0], 0.75 * img[0, :, 1, 2] + 0.25 * img[0, :, 1, 3])
    # half a pixel outside the border blends the edge pixel with the fill value
    edge = A.remap(img, np.array([[-0.5]]), np.array([[0.0]]), fill=1.0)
    np.testing.assert_allclose(edge[0, :, 0, 0], 0.5 * img[0, :, 0, 0] + 0.5)


@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2), (270, 3)])
def test_rotation_matches_rot90_counter_clockwise(angle, k):
    center = (7.5, 7.5)  # ((W - 1) / 2, (H - 1) / 2)
    out = A.warp_affine(X, A.affine_matrix(angle=angle, center=center))
    np.testing.assert_allclose(out, np.rot90(X, k, axes=(2, 3)), atol=1e-5)
    outt = A.warp_affine(XT, A.affine_matrix(angle=angle, center=center))
    np.testing.assert_allclose(outt.numpy(), np.rot90(X, k, axes=(2, 3)), atol=1e-5)


def test_integer_translation_matches_roll_away_from_the_borders():
    out = A.warp_affine(X, A.affine_matrix(translate=(3, -2)), fill=-1.0)
    rolled = np.roll(X, shift=(-2, 3), axis=(2, 3))  # 3 right, 2 up
    np.testing.assert_array_equal(out[:, :, :14, 3:], rolled[:, :, :14, 3:])
    assert np.all(out[:, :, :, :3] == -1.0) and np.all(out[:, :, 14:, :] == -1.0)


def test_warp_affine_reads_each_output_pixel_from_the_inverse_map():
    # On ramp images (value = column, value = row) bilinear sampling is exact, so the
    # output shows where each output pixel was read from: M^-1 (x', y', 1).
    H, W = 12, 15
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    ramps = np.stack([xs, ys, np.ones_like(xs)])
    M = A.affine_matrix(angle=20, translate=(1.5, -0.5), scale=1.1, shear=10, stretch=1.3,
                        center=(7, 5.5))  # fmt: skip
    out = A.warp_affine(ramps, M)
    src = np.linalg.inv(M) @ np.stack([xs.ravel(), ys.ravel(), np.ones(H * W)])
    inside = out[2].ravel() > 1 - 1e-9  # all four neighbours inside the image
    assert inside.mean() > 0.5
    np.testing.assert_allclose(out[0].ravel()[inside], src[0][inside], atol=1e-9)
    np.testing.assert_allclose(out[1].ravel()[inside], src[1][inside], atol=1e-9)


def test_lens_distortion_follows_the_radial_model_and_its_sign():
    H, W = 21, 31
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    ramps = np.stack([xs, ys, np.ones_like(xs)])
    cy, cx = (H - 1) / 2, (W - 1) / 2
    half_diagonal = np.hypot(cy, cx)
    r_out = np.hypot(ys - cy, xs - cx) / half_diagonal
    for k in (-0.3, -0.1, 0.2):
        out = A.lens_distort(ramps, k)
        inside = np.abs(out[2] - 1) < 1e-9
        r_in = np.hypot(out[1] - cy, out[0] - cx) / half_diagonal
        np.testing.assert_allclose((r_in * (1 + k * r_in**2))[inside], r_out[inside], atol=1e-6)
        moved = (r_in - r_out)[inside & (r_out > 0.3)]
        # barrel (k < 0) pulls content inwards: each output pixel shows a point further out
        assert np.all(moved > 0) if k < 0 else np.all(moved < 0)
    assert not np.all(np.abs(A.lens_distort(ramps, -0.3)[2] - 1) < 1e-9)  # corners get fill


def test_resize_matches_torch_interpolate():
    for size in [(24, 20), (7, 9), (16, 5)]:
        ours = A.resize(XT, size)
        theirs = torch.nn.functional.interpolate(XT, size=size, mode="bilinear")
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_scale_crop_equals_resize_then_crop():
    out = A.RandomScaleCrop(12, shorter_side=(20, 20))(X[:1], 7)
    resized = A.resize(X[:1], 20)
    errors = [
        np.abs(out - resized[..., t : t + 12, l : l + 12]).max() for t in range(9) for l in range(9)
    ]
    assert min(errors) < 1e-6
    # AlexNet's 256 -> 224 expressed through `scale`
    assert A.RandomScaleCrop(224, scale=(224 / 256, 224 / 256))(np.zeros((3, 256, 300)), 0).shape \
        == (3, 224, 224)  # fmt: skip


def test_resized_crop_of_the_whole_square_is_a_resize():
    out = A.RandomResizedCrop(10, scale=(1.0, 1.0), ratio=(1.0, 1.0))(X, 0)
    np.testing.assert_allclose(out, A.resize(X, 10), atol=1e-6)


def test_uint8_images_keep_their_dtype():
    img = (X * 255).astype(np.uint8)
    for t in (A.RandomAffine(20), A.Resize(20), A.RandomCrop(12, padding=2), A.LensDistortion(0.2)):
        out = t(img, 0)
        assert out.dtype == np.uint8
        assert t(torch.from_numpy(img), 0).dtype == torch.uint8
        np.testing.assert_array_equal(out, t(torch.from_numpy(img), 0).numpy())


# ---------------------------------------------------------------- colour


def test_color_jitter_brightness_scales_and_saturation_spares_gray_images():
    img = 0.25 + 0.5 * X  # stays inside [0, 1] after scaling by up to 1.3
    out = A.ColorJitter(brightness=0.3)(img, 0)
    ratio = out / img
    assert np.allclose(ratio, ratio[:, :1, :1, :1], atol=1e-5)  # one factor per image
    assert 0.7 <= ratio.min() and ratio.max() <= 1.3 and ratio.std() > 0.01
    gray = np.repeat(X[:, :1], 3, axis=1)
    np.testing.assert_allclose(A.ColorJitter(saturation=0.9)(gray, 0), gray, atol=1e-6)
    kept = A.ColorJitter(contrast=0.3)(img, 0)  # contrast keeps each image's mean gray
    np.testing.assert_allclose(A._gray(kept).mean((1, 2, 3)), A._gray(img).mean((1, 2, 3)),
                               atol=1e-5)  # fmt: skip
    with pytest.raises(TypeError, match=r"float images in \[0, 1\]"):
        A.ColorJitter(0.2)((X * 255).astype(np.uint8))


def test_fancy_pca_moves_colours_only_within_the_principal_components():
    rng = np.random.default_rng(5)
    u, v = np.array([1.0, 1.0, 1.0]) / np.sqrt(3), np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    coeffs = rng.normal(size=(2, 40, 6, 6))
    data = 0.5 + 0.2 * coeffs[0, :, None] * u[None, :, None, None] \
        + 0.05 * coeffs[1, :, None] * v[None, :, None, None]  # fmt: skip
    pca = A.FancyPCA(std=0.1).fit(data)
    pixels = data.transpose(1, 0, 2, 3).reshape(3, -1)
    np.testing.assert_allclose(pca.eigvals, np.linalg.eigvalsh(np.cov(pixels, bias=True))[::-1],
                               atol=1e-12)  # fmt: skip
    assert pca.eigvals[0] > pca.eigvals[1] > 1e3 * pca.eigvals[2]
    np.testing.assert_allclose(pca.eigvecs.T @ pca.eigvecs, np.eye(3), atol=1e-12)

    out = pca(data[:8], rng=11)
    offsets = (out - data[:8])[:, :, 0, 0]  # one offset per image ...
    np.testing.assert_allclose(out - data[:8], offsets[:, :, None, None] + 0 * data[:8], atol=1e-12)
    normal = np.cross(u, v)  # ... with no part outside the plane of the data's colours
    assert np.abs(offsets @ normal).max() < 1e-9
    assert np.abs(offsets).max() > 1e-3
    alpha = np.random.default_rng(11).normal(0.0, 0.1, size=(8, 3))
    np.testing.assert_allclose(offsets, (pca.eigvecs @ (alpha * pca.eigvals).T).T, atol=1e-12)
    with pytest.raises(RuntimeError, match="not fitted"):
        A.FancyPCA()(X)


# ---------------------------------------------------------------- randomness


@pytest.mark.parametrize("name, make", TRANSFORMS, ids=IDS)
def test_same_seed_same_output_and_numpy_agrees_with_torch(name, make):
    t = make()
    a, b = t(X, 3), t(XT, 3)
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float32 and a.dtype == np.float32
    np.testing.assert_allclose(a, b.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(a, t(X, np.random.default_rng(3)))
    x64 = X.astype(np.float64)
    np.testing.assert_allclose(t(x64, 3), t(torch.from_numpy(x64), 3).numpy(), atol=1e-10)
    if name in RANDOM:
        c = t(X, 4)
        assert a.shape != c.shape or not np.allclose(a, c), "different seeds gave the same output"


@pytest.mark.parametrize("name, make", [tr for tr in TRANSFORMS if tr[0] in RANDOM], ids=sorted(
    RANDOM, key=IDS.index))  # fmt: skip
def test_each_image_of_a_batch_gets_its_own_parameters(name, make):
    same = np.repeat(X[:1], 8, axis=0)
    out = make()(same, 0)
    distinct = {out[i].tobytes() for i in range(len(out))}
    assert len(distinct) > 1, "all images of the batch were transformed alike"


def test_compose_passes_one_generator_along():
    t1, t2 = A.RandomCrop(12, padding=2), A.RandomAffine(20)
    g = np.random.default_rng(9)
    expected = t2(t1(X, g), g)
    np.testing.assert_array_equal(A.Compose([t1, t2])(X, 9), expected)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"\(C, H, W\) or a batch \(N, C, H, W\)"):
        A.hflip(np.zeros((4, 4)))
    with pytest.raises(TypeError, match="NumPy array or a torch tensor"):
        A.RandomCrop(2)([[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        A.RandomCrop(2)(X, np.random.RandomState(0))
    with pytest.raises(ValueError, match="not invertible"):
        A.warp_affine(X, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="saturation needs RGB"):
        A.ColorJitter(saturation=0.1)(X[:, :2])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name, make", TRANSFORMS, ids=IDS)
def test_cuda_tensors_stay_on_the_gpu_and_agree_with_numpy(name, make):
    t = make()
    out = t(XT.cuda(), 3)
    assert out.is_cuda and out.dtype == torch.float32
    np.testing.assert_allclose(out.cpu().numpy(), t(X, 3), atol=1e-5, rtol=0)


# ---------------------------------------------------------------- fractional max pooling


@pytest.mark.parametrize("method", ["pseudorandom", "random"])
@pytest.mark.parametrize("size_in, size_out", [(25, 18), (32, 22), (10, 10), (9, 4)])
def test_fractional_regions_tile_the_input(method, size_in, size_out):
    starts, stops = A.fractional_pool_regions(size_in, size_out, 0, method=method)
    assert len(starts) == size_out and starts[0] == 0 and stops[-1] == size_in
    np.testing.assert_array_equal(starts[1:], stops[:-1])  # disjoint and gap-free
    alpha = size_in / size_out
    assert set(stops - starts) <= {int(np.floor(alpha)), int(np.ceil(alpha))}
    o_starts, o_stops = A.fractional_pool_regions(size_in, size_out, 0, True, method)
    np.testing.assert_array_equal(o_starts, starts)
    np.testing.assert_array_equal(o_stops, np.minimum(stops + 1, size_in))


def test_fractional_regions_change_with_the_seed():
    draws = {tuple(A.fractional_pool_regions(25, 18, seed)[0]) for seed in range(10)}
    assert len(draws) > 1


@pytest.mark.parametrize("overlapping", [False, True])
def test_fractional_max_pool_takes_the_max_of_each_region(overlapping):
    x = RNG.normal(size=(2, 3, 25, 21))
    out, (r0, r1), (c0, c1) = A.fractional_max_pool(x, (18, 15), 4, overlapping,
                                                    return_regions=True)  # fmt: skip
    assert out.shape == (2, 3, 18, 15)
    for i in range(18):
        for j in range(15):
            np.testing.assert_array_equal(
                out[:, :, i, j], x[:, :, r0[i] : r1[i], c0[j] : c1[j]].max(axis=(2, 3))
            )
    np.testing.assert_array_equal(A.fractional_max_pool(x, (18, 15), 4, overlapping), out)
    with pytest.raises(ValueError, match="out_size must be between 1 and in_size=25"):
        A.fractional_max_pool(x, (26, 15), 0)


# ---------------------------------------------------------------- test-time augmentation


def test_ten_crop_views_are_corners_centre_and_their_mirrors():
    views = A.tta_views(X, "ten_crop", crop_size=12)
    assert len(views) == 10 and all(v.shape == (5, 3, 12, 12) for v in views)
    np.testing.assert_array_equal(views[0], X[:, :, :12, :12])
    np.testing.assert_array_equal(views[3], X[:, :, 4:, 4:])
    np.testing.assert_array_equal(views[4], X[:, :, 2:14, 2:14])
    for plain, mirrored in zip(views[:5], views[5:], strict=True):
        np.testing.assert_array_equal(A.hflip(plain), mirrored)
    padded = A.tta_views(XT, "ten_crop", pad=4)  # CIFAR-style: crops of the padded image
    assert len(padded) == 10 and all(tuple(v.shape) == (5, 3, 16, 16) for v in padded)
    np.testing.assert_array_equal(padded[0][:, :, 4:, 4:].numpy(), X[:, :, :12, :12])
    with pytest.raises(ValueError, match="ten copies"):
        A.tta_views(X, "ten_crop")


def test_random_crop_and_transform_views():
    views = A.tta_views(X, "random_crops", crop_size=10, n=6, rng=0)
    assert len(views) == 6 and all(v.shape == (5, 3, 10, 10) for v in views)
    assert len({v.tobytes() for v in views}) == 6
    custom = A.tta_views(X, A.RandomHorizontalFlip(), n=3, rng=0)
    assert len(custom) == 3
    with pytest.raises(ValueError, match="mode must be one of"):
        A.tta_views(X, "twelve_crop")


def _probabilities(batch):
    """A toy classifier on channel means: (N, C, h, w) -> (N, C) probabilities."""
    means = batch.mean((2, 3))
    e = np.exp(5 * means) if isinstance(batch, np.ndarray) else torch.exp(5 * means)
    return e / e.sum(1, keepdims=True) if isinstance(e, np.ndarray) else e / e.sum(1, True)


def test_tta_with_an_invariant_classifier_equals_plain_prediction():
    symmetric = X + A.hflip(X)  # unchanged by a mirror
    np.testing.assert_allclose(A.tta_predict(_probabilities, symmetric, "flip"),
                               _probabilities(symmetric), atol=1e-6)  # fmt: skip
    constant = np.broadcast_to(X[:, :, :1, :1], X.shape).astype(np.float64)  # any crop/flip
    for mode, kwargs in [
        ("ten_crop", {"crop_size": 10}),
        ("random_crops", {"pad": 4, "n": 5, "pad_mode": "edge"}),
    ]:
        got = A.tta_predict(_probabilities, constant, mode, **kwargs)
        np.testing.assert_allclose(got, _probabilities(constant), atol=1e-12)


def test_tta_predict_averages_over_the_views():
    views = A.tta_views(X, "ten_crop", crop_size=12)
    expected = np.mean([_probabilities(v) for v in views], axis=0)
    got = A.tta_predict(_probabilities, X, "ten_crop", crop_size=12)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(
        A.tta_predict(_probabilities, X, "ten_crop", crop_size=12, batch_size=2),
        expected,
        atol=1e-6,
    )
    on_torch = A.tta_predict(_probabilities, XT, "ten_crop", crop_size=12)
    assert isinstance(on_torch, torch.Tensor) and tuple(on_torch.shape) == (5, 3)
    np.testing.assert_allclose(on_torch.numpy(), expected, atol=1e-6)
    single = A.tta_predict(_probabilities, X[0], "ten_crop", crop_size=12)
    np.testing.assert_allclose(single, expected[0], atol=1e-6)
    assert not np.allclose(expected, _probabilities(A.center_crop(X, 12)))  # views do matter
    with pytest.raises(ValueError, match=r"scores \(N, K\)"):
        A.tta_predict(lambda b: b.mean(), X, "flip")
