"""Tests for cs231n_lib.data: bundled data sets, CIFAR-10 format, downloads (never online)."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import pickle
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from cs231n_lib import data

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return X, (np.arange(n) % 10).astype(np.int64)


def _write_small_cifar(root: Path, per_batch: int = 60, n_test: int = 50) -> dict:
    """A CIFAR-10 folder with 5 x per_batch training and n_test test images (real format)."""
    Xtr, ytr = _images(5 * per_batch, 1)
    Xte, yte = _images(n_test, 2)
    data.write_cifar10(root, Xtr, ytr, Xte, yte)
    return {"Xtr": Xtr, "ytr": ytr, "Xte": Xte, "yte": yte}


@pytest.fixture
def small_shapes(monkeypatch, tmp_path):
    """Shrink the shapes splits (the full set takes seconds to generate) and cache in tmp."""
    monkeypatch.setattr(data, "SHAPES_SPLITS", {"train": (600, 11), "val": (100, 12),
                                                "test": (200, 13)})  # fmt: skip
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    data._shapes_base.cache_clear()
    yield tmp_path / "cache"
    data._shapes_base.cache_clear()


# ---------------------------------------------------------------------------------------------
# load_dataset and the Dataset object
# ---------------------------------------------------------------------------------------------


def test_dataset_reads_as_attributes_and_as_a_dict():
    ds = data.load_dataset("faces", subtract_mean=True)
    assert ds["X_train"] is ds.X_train and ds["class_names"] == ("non-face", "face")
    assert list(ds.keys()) == [*data._SPLIT_KEYS, "mean_image"]
    assert {k: v.shape for k, v in ds.items()}["X_val"] == (40, 1, 25, 25)
    assert "X_test" in ds and "class_names" not in ds and len(ds) == 7
    assert "faces" in repr(ds) and "mean subtracted" in repr(ds)
    with pytest.raises(KeyError, match="X_train"):
        ds["X_training"]


def test_digits_sizes_balance_values_and_disjoint_splits():
    ds = data.load_dataset("digits")
    assert ds.X_train.shape == (1197, 1, 8, 8) and ds.X_train.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.mean_image is None
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0  # 0..16 scaled by 1/16
    assert np.bincount(ds.y_val).tolist() == [30] * 10  # stratified
    assert np.bincount(ds.y_test).tolist() == [30] * 10
    idx = ds.info["index"]
    everything = np.concatenate([idx["train"], idx["val"], idx["test"]])
    assert np.array_equal(np.sort(everything), np.arange(1797))  # disjoint, nothing lost
    from sklearn.datasets import load_digits

    raw = load_digits()
    i = idx["val"][7]
    assert np.allclose(ds.X_val[7, 0], raw.images[i] / 16) and ds.y_val[7] == raw.target[i]


def test_same_seed_same_data_other_seed_other_split():
    a, b = data.load_dataset("digits", seed=3), data.load_dataset("digits", seed=3)
    c = data.load_dataset("digits", seed=4)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.info["index"]["test"], c.info["index"]["test"])


def test_digits_resize_to_32_is_bilinear_and_keeps_range():
    from skimage.transform import resize

    ds = data.load_dataset("digits", resize=32)
    small = data.load_dataset("digits")
    assert ds.X_train.shape == (1197, 1, 32, 32)
    expected = resize(small.X_train[0, 0], (32, 32), order=1, anti_aliasing=False)
    assert np.allclose(ds.X_train[0, 0], expected, atol=1e-6)
    assert 0.0 <= ds.X_train.min() and ds.X_train.max() <= 1.0


def test_subsets_are_class_balanced_and_mean_is_from_train():
    ds = data.load_dataset("digits", num_train=200, num_val=50, subtract_mean=True)
    assert np.bincount(ds.y_train).tolist() == [20] * 10
    assert np.bincount(ds.y_val).tolist() == [5] * 10
    assert ds.mean_image.shape == (1, 8, 8)
    assert np.abs(ds.X_train.mean(axis=0)).max() < 1e-6  # train is centred, val is not
    raw = data.load_dataset("digits", num_train=200, num_val=50)
    assert np.allclose(raw.X_val - ds.mean_image, ds.X_val)
    assert len(ds.info["index"]["train"]) == 200


def test_channels_option():
    grey3 = data.load_dataset("faces", channels=3)
    assert grey3.X_train.shape == (120, 3, 25, 25)
    assert np.array_equal(grey3.X_train[:, 0], grey3.X_train[:, 2])


def test_faces_is_the_lfw_subset():
    ds = data.load_dataset("faces")
    assert [len(ds.y_train), len(ds.y_val), len(ds.y_test)] == [120, 40, 40]
    assert np.bincount(ds.y_train).tolist() == [60, 60]
    from skimage.data import lfw_subset

    i = ds.info["index"]["test"][0]
    assert np.allclose(ds.X_test[0, 0], lfw_subset()[i]) and ds.y_test[0] == int(i < 100)


def test_textures_patches_come_from_disjoint_columns_of_each_photo():
    ds = data.load_dataset("textures")
    assert ds.X_train.shape == (3840, 1, 32, 32) and ds.X_val.shape == (960, 1, 32, 32)
    assert np.bincount(ds.y_train).tolist() == [480] * 8
    assert np.bincount(ds.y_test).tolist() == [120] * 8
    photos = [data.texture_photo(fn) for _, fn in data.TEXTURE_PHOTOS]
    cover = {}
    for split in ("train", "val", "test"):
        X, origins = ds[f"X_{split}"], ds.info["index"][split]
        assert np.array_equal(origins[:, 0], ds[f"y_{split}"])  # photo index == label
        masks = [np.zeros(p.shape, bool) for p in photos]
        for i, (k, r, c) in enumerate(origins):
            if i % 7 == 0:  # check the pixels of a sample of patches against the photo
                assert np.array_equal(X[i, 0], photos[k][r : r + 32, c : c + 32])
            masks[k][r : r + 32, c : c + 32] = True
        cover[split] = masks
    for k in range(len(photos)):
        assert not (cover["train"][k] & cover["val"][k]).any()
        assert not (cover["train"][k] & cover["test"][k]).any()
        assert not (cover["val"][k] & cover["test"][k]).any()


def test_textures_cannot_be_told_apart_by_brightness():
    # Histogram equalisation gives every photo the same brightness; a nearest-class-mean
    # classifier on patch brightness is then at chance (1/8), so texture must do the work.
    ds = data.load_dataset("textures")
    m = ds.X_train.mean(axis=(1, 2, 3))
    centres = np.array([m[ds.y_train == c].mean() for c in range(8)])
    pred = np.abs(ds.X_test.mean(axis=(1, 2, 3))[:, None] - centres).argmin(axis=1)
    assert (pred == ds.y_test).mean() < 0.25


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(name="cifar"), "digits, textures, shapes, faces"),
        (dict(name="faces", num_train=121), "num_train=121 is more than the 120"),
        (dict(name="faces", num_test=-1), "non-negative"),
        (dict(name="faces", resize=0), "resize"),
        (dict(name="faces", channels=2), "channels"),
        (dict(name="faces", num_train=0, subtract_mean=True), "at least one training"),
    ],
)
def test_load_dataset_bad_input(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        data.load_dataset(name, **kwargs)


# ---------------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------------


def test_make_shapes_layout_balance_and_determinism():
    X, y = data.make_shapes(1000, seed=5)
    assert X.shape == (1000, 3072) and X.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [100] * 10
    X2, y2 = data.make_shapes(1000, seed=5)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, y3 = data.make_shapes(130, seed=5)
    assert np.array_equal(X3, X[:130]) and np.array_equal(y3, y[:130])  # prefix property
    assert not np.array_equal(data.make_shapes(10, seed=6)[0], X[:10])
    assert X.std() > 40  # random colours everywhere, not a blank canvas


def test_shapes_labels_mean_what_they_say():
    X, y = data.make_shapes(1000, seed=1)
    img = X.reshape(-1, 3, 32, 32).astype(float).mean(axis=1)  # grey (N, 32, 32)
    gy = np.abs(np.diff(img, axis=1)).mean(axis=(1, 2))  # changes down the rows
    gx = np.abs(np.diff(img, axis=2)).mean(axis=(1, 2))  # changes along a row
    h, v = data.SHAPES_CLASSES.index("h-stripes"), data.SHAPES_CLASSES.index("v-stripes")
    assert (gy[y == h] > gx[y == h]).mean() > 0.9
    assert (gx[y == v] > gy[y == v]).mean() > 0.9
    # ...yet no class is its mean image: nearest-class-mean on pixels is near chance.
    Xt, yt = data.make_shapes(500, seed=2)
    F, Ft = X.astype(float), Xt.astype(float)
    centres = np.stack([F[y == c].mean(axis=0) for c in range(10)])
    d2 = (Ft**2).sum(1)[:, None] - 2 * Ft @ centres.T + (centres**2).sum(1)[None]
    assert (d2.argmin(axis=1) == yt).mean() < 0.25


def test_shapes_are_cached_and_a_broken_cache_is_regenerated(small_shapes):
    ds = data.load_dataset("shapes", num_train=300)
    assert ds.X_train.shape == (300, 3, 32, 32) and ds.X_test.shape == (200, 3, 32, 32)
    assert np.bincount(ds.y_train).tolist() == [30] * 10
    files = sorted(p.name for p in small_shapes.iterdir())
    assert files == [f"shapes-v{data.SHAPES_VERSION}-{n}-{s}.npz"
                     for n, s in ((100, 12), (200, 13), (600, 11))]  # fmt: skip
    raw, labels = data.make_shapes(200, 13)
    assert np.array_equal((ds.X_test * 255).round().astype(np.uint8).reshape(200, -1), raw)
    (small_shapes / files[1]).write_bytes(b"not a zip file")  # damage the test split's cache
    data._shapes_base.cache_clear()
    again = data.load_dataset("shapes", num_train=300)
    assert np.array_equal(again.X_test, ds.X_test)
    assert len(list(small_shapes.glob(".*"))) == 0  # no temporary files left behind


def test_shapes_written_as_cifar10_round_trip_through_get_CIFAR10_data(small_shapes, tmp_path):
    root = data.write_shapes_cifar10(tmp_path / "shapes-batches")
    got = data.get_CIFAR10_data(600, 100, 200, subtract_mean=False, cifar10_dir=root)
    ds = data.load_dataset("shapes")
    assert got.class_names == data.SHAPES_CLASSES
    for k in ("X_train", "X_val", "X_test"):
        assert np.allclose(got[k], ds[k] * 255, atol=1e-3)
    assert np.array_equal(got.y_val, ds.y_val)


# ---------------------------------------------------------------------------------------------
# sample photos
# ---------------------------------------------------------------------------------------------


def test_sample_images_are_rgb_floats_and_fresh_copies():
    imgs = data.sample_images()
    assert set(imgs) == {"astronaut", "chelsea", "coffee", "rocket", "china", "flower"}
    assert imgs["chelsea"].shape == (300, 451, 3) and imgs["china"].shape == (427, 640, 3)
    for img in imgs.values():
        assert img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    imgs["astronaut"][:] = 0
    assert data.sample_images("astronaut")["astronaut"].max() > 0.9


def test_grey_images_and_to_grey():
    grey = data.sample_images_grey()
    assert grey["camera"].shape == (512, 512) and grey["text"].ndim == 2
    cat = data.sample_images_grey(["chelsea"])["chelsea"]
    rgb = data.sample_images("chelsea")["chelsea"]
    assert cat.shape == (300, 451)
    assert np.isclose(cat[10, 20], rgb[10, 20] @ [0.2125, 0.7154, 0.0721], atol=1e-6)
    with pytest.raises(ValueError, match="astronaut"):
        data.sample_images("lena")
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        data.to_grey(np.zeros((4, 4)))


# ---------------------------------------------------------------------------------------------
# CIFAR-10 format
# ---------------------------------------------------------------------------------------------


def test_written_batches_have_the_real_files_layout(tmp_path):
    X = np.zeros((4, 32, 32, 3), np.uint8)
    X[..., 0], X[..., 1], X[..., 2] = 10, 20, 30
    X[1, 0, 5, 0] = 99  # red, row 0, column 5
    path = data.write_cifar10_batch(tmp_path / "data_batch_1", X, [3, 1, 4, 1], "training batch")
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")  # how the real files are read
    assert set(d) == {b"batch_label", b"labels", b"data", b"filenames"}
    rows = d[b"data"]
    assert rows.shape == (4, 3072) and rows.dtype == np.uint8
    assert (rows[0, :1024] == 10).all() and (rows[0, 1024:2048] == 20).all()
    assert (rows[0, 2048:] == 30).all() and rows[1, 5] == 99  # R, G, B planes, row-major
    assert d[b"labels"] == [3, 1, 4, 1] and d[b"batch_label"] == b"training batch"
    with open(path, "rb") as f:  # CS231n's original loader reads with latin1 and str keys
        d2 = pickle.load(f, encoding="latin1")
    assert np.array_equal(d2["data"], rows) and d2["labels"] == [3, 1, 4, 1]
    assert b"numpy.core.multiarray" in path.read_bytes()  # as Python 2 numpy wrote it


def test_load_CIFAR10_and_get_CIFAR10_data(tmp_path):
    truth = _write_small_cifar(tmp_path / "cifar")
    Xtr, Ytr, Xte, Yte = data.load_CIFAR10(tmp_path / "cifar")
    assert Xtr.shape == (300, 32, 32, 3) and Xtr.dtype == np.float64 and Yte.shape == (50,)
    assert np.array_equal(Xtr, truth["Xtr"]) and np.array_equal(Ytr, truth["ytr"])
    assert np.array_equal(Xte, truth["Xte"]) and np.array_equal(Yte, truth["yte"])

    d = data.get_CIFAR10_data(250, 40, 30, cifar10_dir=tmp_path / "cifar")
    assert d["X_train"].shape == (250, 3, 32, 32) and d["X_val"].shape == (40, 3, 32, 32)
    assert d["X_test"].shape == (30, 3, 32, 32) and d.class_names == data.CIFAR10_CLASSES
    mean = truth["Xtr"][:250].mean(axis=0).transpose(2, 0, 1)
    assert np.allclose(d["mean_image"], mean)
    assert np.allclose(d["X_val"][0], truth["Xtr"][250].transpose(2, 0, 1) - mean)
    assert np.array_equal(d["y_val"], truth["ytr"][250:290])
    shapes = {k: v.shape for k, v in d.items()}  # CS231n prints the dict like this
    assert shapes["y_test"] == (30,)
    with pytest.raises(ValueError, match="249 \\+ 52 = 301.*only 300 training"):
        data.get_CIFAR10_data(249, 52, 10, cifar10_dir=tmp_path / "cifar")
    with pytest.raises(ValueError, match="num_test=51.*only 50 test"):
        data.get_CIFAR10_data(10, 10, 51, cifar10_dir=tmp_path / "cifar")


def test_missing_folder_and_missing_batch(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*download_cifar10.*shapes"):
        data.load_CIFAR10(tmp_path / "nowhere")
    _write_small_cifar(tmp_path / "cifar", per_batch=10, n_test=10)
    (tmp_path / "cifar" / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_4' is missing"):
        data.load_CIFAR10(tmp_path / "cifar")


def _good_batch(tmp_path) -> Path:
    X, y = _images(20)
    return data.write_cifar10_batch(tmp_path / "data_batch_1", X, y)


def _pickled(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda b: b[: len(b) // 2], "truncated or corrupt"),
        (lambda b: b"\x00garbage" * 10, "truncated or corrupt"),
        (lambda b: b"", "truncated or corrupt"),
        (lambda b: _pickled({b"data": np.zeros((5, 3000), np.uint8), b"labels": [0] * 5}),
         r"shape \(5, 3000\).*3072"),
        (lambda b: _pickled({b"data": np.zeros((5, 3072), np.uint8), b"labels": [0] * 4}),
         "4 labels for 5 images"),
        (lambda b: _pickled({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}),
         "0 to 12"),
        (lambda b: _pickled({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}),
         "float32"),
        (lambda b: _pickled({b"labels": [0]}), r"no \['data'\] entry"),
        (lambda b: _pickled([1, 2, 3]), "holds a list"),
        (lambda b: _pickled(os.system), "names (posix|nt).system"),  # never run code from a file
    ],
)  # fmt: skip
def test_broken_batch_files_give_clear_errors(tmp_path, damage, match):
    path = _good_batch(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=match) as err:
        data.load_CIFAR_batch(path)
    assert str(path) in str(err.value) and "download_cifar10" in str(err.value)


def test_loader_accepts_modern_pickles(tmp_path):
    X, y = _images(3)
    rows = X.transpose(0, 3, 1, 2).reshape(3, 3072)
    path = tmp_path / "mine"
    path.write_bytes(pickle.dumps({"data": rows, "labels": y}, protocol=5))  # str keys, np ints
    Xl, yl = data.load_CIFAR_batch(path, dtype=np.float32)
    assert Xl.dtype == np.float32 and np.array_equal(Xl, X) and np.array_equal(yl, y)


def test_writer_rejects_bad_arrays_and_leaves_nothing(tmp_path):
    with pytest.raises(TypeError, match="uint8"):
        data.write_cifar10_batch(tmp_path / "b", np.zeros((2, 32, 32, 3)), [0, 1])
    with pytest.raises(ValueError, match=r"\(N, 32, 32, 3\)"):
        data.write_cifar10_batch(tmp_path / "b", np.zeros((2, 3, 32, 32), np.uint8), [0, 1])
    with pytest.raises(ValueError, match="labels"):
        data.write_cifar10_batch(tmp_path / "b", np.zeros((2, 32, 32, 3), np.uint8), [0])
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# download_cifar10, against a local server only
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> bytes:
    """A tar.gz with the real layout cifar-10-batches-py/{data_batch_1..5,test_batch,meta}."""
    root = tmp_path_factory.mktemp("src") / "cifar-10-batches-py"
    _write_small_cifar(root, per_batch=8, n_test=8)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(root, arcname="cifar-10-batches-py")
    return buf.getvalue()


@pytest.fixture
def server(archive):
    """A local HTTP server on a free port; routes map a path to (body, Content-Length)."""
    routes = {
        "/cifar.tar.gz": (archive, len(archive)),
        "/truncated.tar.gz": (archive[:1000], len(archive)),  # promises more than it sends
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's API
            if self.path not in routes:
                self.send_error(404, "no such file")
                return
            body, length = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)  # HTTP/1.0: the connection closes after this

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _hashes(blob: bytes) -> dict:
    return {"sha256": hashlib.sha256(blob).hexdigest(), "md5": hashlib.md5(blob).hexdigest()}


def test_download_verifies_unpacks_and_cleans_up(server, archive, tmp_path):
    base, _ = server
    out = data.download_cifar10(tmp_path, url=f"{base}/cifar.tar.gz", progress=False,
                                **_hashes(archive))  # fmt: skip
    assert out == tmp_path / "cifar-10-batches-py"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-batches-py"]
    Xtr, Ytr, Xte, Yte = data.load_CIFAR10(out)
    assert Xtr.shape == (40, 32, 32, 3) and Xte.shape == (8, 32, 32, 3)
    # a second call finds the folder and does not touch the network
    assert data.download_cifar10(tmp_path, url="http://127.0.0.1:9/never") == out


def test_download_keep_archive_and_file_url(archive, tmp_path):
    src = tmp_path / "src.tar.gz"
    src.write_bytes(archive)
    dest = tmp_path / "dest"
    data.download_cifar10(dest, url=src.as_uri(), keep_archive=True, progress=False,
                          **_hashes(archive))  # fmt: skip
    assert sorted(p.name for p in dest.iterdir()) == [
        "cifar-10-batches-py", "cifar-10-python.tar.gz"]  # fmt: skip
    assert (dest / "cifar-10-python.tar.gz").read_bytes() == archive


def test_archive_already_in_place_is_verified_and_used_offline(archive, tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(archive)
    out = data.download_cifar10(tmp_path, url="http://127.0.0.1:9/offline", progress=False,
                                **_hashes(archive))  # fmt: skip
    assert (out / "test_batch").is_file() and not (tmp_path / "cifar-10-python.tar.gz").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "cifar-10-python.tar.gz").write_bytes(archive)
    with pytest.raises(data.DownloadError, match="already there but its SHA-256"):
        data.download_cifar10(tmp_path / "other", progress=False)  # the real CIFAR hashes


@pytest.mark.parametrize(
    ("route", "hashes", "match"),
    [
        ("/cifar.tar.gz", {"sha256": "0" * 64}, "SHA-256 is [0-9a-f]{64}, expected 0000"),
        ("/cifar.tar.gz", {"sha256": None, "md5": "f" * 32}, "MD5 is"),
        ("/missing.tar.gz", {}, "HTTP 404"),
    ],
)
def test_download_failures_leave_nothing_behind(server, tmp_path, route, hashes, match):
    base, _ = server
    with pytest.raises(data.DownloadError, match=match):
        data.download_cifar10(tmp_path, url=base + route, progress=False, **hashes)
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_download_keeps_only_its_part_file_to_resume(server, tmp_path):
    base, _ = server  # (the resume itself: tests/test_cifar10.py)
    with pytest.raises(data.DownloadError, match="truncated: got 1,000 of .*resume"):
        data.download_cifar10(tmp_path, url=base + "/truncated.tar.gz", progress=False,
                              sha256=None, md5=None)
    assert [p.name for p in tmp_path.iterdir()] == ["cifar-10-python.tar.gz.part"]


def test_offline_message_points_at_the_bundled_sets(tmp_path):
    with socket.socket() as s:  # a port nobody listens on: connection refused, like offline
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(data.DownloadError, match=r"offline.*load_dataset\('shapes'\)"):
        data.download_cifar10(tmp_path, url=f"http://127.0.0.1:{port}/c.tar.gz", timeout=5,
                              progress=False)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_download_rejects_a_foreign_archive_and_an_incomplete_folder(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    src = tmp_path / "evil.tar.gz"
    src.write_bytes(buf.getvalue())
    dest = tmp_path / "dest"
    with pytest.raises(data.DownloadError, match="unexpected entry '../evil.txt'"):
        data.download_cifar10(dest, url=src.as_uri(), progress=False, **_hashes(buf.getvalue()))
    assert list(dest.iterdir()) == [] and not (tmp_path / "evil.txt").exists()
    (dest / "cifar-10-batches-py").mkdir()
    with pytest.raises(data.DownloadError, match="lacks data_batch_1"):
        data.download_cifar10(dest, progress=False)


def test_published_constants():
    assert data.CIFAR10_URL.startswith("https://www.cs.toronto.edu/")
    assert data.CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"
    assert len(data.CIFAR10_SHA256) == 64 and int(data.CIFAR10_SHA256, 16) > 0
