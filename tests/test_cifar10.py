"""CIFAR-10 for students who have it (issue #19): download, resume, load, and the notebooks.

Never online: the downloads come from an HTTP server on 127.0.0.1 in a thread, serving a
small archive in the real format (cifar-10-batches-py/ with data_batch_1..5, test_batch and
batches.meta); the data sets are written by data.write_cifar10.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest

from cs231n_lib import course, data

ROOT = Path(__file__).resolve().parents[1]


def _images(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> bytes:
    """cifar-10-python.tar.gz in miniature: 5 x 20 training and 30 test images."""
    root = tmp_path_factory.mktemp("src") / "cifar-10-batches-py"
    Xtr, ytr = _images(100, 1)
    Xte, yte = _images(30, 2)
    data.write_cifar10(root, Xtr, ytr, Xte, yte)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(root, arcname="cifar-10-batches-py")
    return buf.getvalue()


def _hashes(blob: bytes) -> dict:
    return {"sha256": hashlib.sha256(blob).hexdigest(), "md5": None}


class _Server:
    """A local HTTP server. Routes: path -> body. Behaviours per path:
    'cut': the first GET sends half the body (promising all of it) and drops the connection;
    'norange': Range headers are ignored (200 and the whole body every time)."""

    def __init__(self, routes: dict, behaviour: dict):
        self.routes, self.behaviour, self.requests = routes, behaviour, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's API
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                if self.path not in server.routes:
                    self.send_error(404, "no such file")
                    return
                body = server.routes[self.path]
                how = server.behaviour.get(self.path)
                if how == "cut" and sum(p == self.path for p, _ in server.requests) == 1:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    return  # HTTP/1.0: the connection closes, half the bytes sent
                start = 0
                if rng and how != "norange":
                    start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
                    if start >= len(body):
                        self.send_error(416, "range not satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self.wfile.write(body[start:])

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(archive):
    corrupt = bytearray(archive)
    corrupt[len(corrupt) // 2] ^= 0xFF
    s = _Server(
        {"/good.tar.gz": archive, "/cut.tar.gz": archive, "/norange.tar.gz": archive,
         "/corrupt.tar.gz": bytes(corrupt), "/notgz.tar.gz": b"this is not a gzip file" * 50},
        {"/cut.tar.gz": "cut", "/norange.tar.gz": "norange"},
    )
    yield s
    s.close()


def _contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------


def test_good_archive_downloads_verifies_and_loads(server, archive, tmp_path):
    out = data.download_cifar10(tmp_path, url=server.url + "/good.tar.gz", progress=False,
                                **_hashes(archive))
    assert out == tmp_path / "cifar-10-batches-py" and _contents(tmp_path) == [out.name]
    ds = data.load_dataset("cifar10", root=tmp_path)
    assert ds.X_train.shape == (90, 3, 32, 32) and ds.X_val.shape == (10, 3, 32, 32)
    assert ds.X_test.shape == (30, 3, 32, 32) and ds.class_names == data.CIFAR10_CLASSES


def test_corrupt_archive_fails_its_checksum_and_nothing_is_kept(server, archive, tmp_path):
    with pytest.raises(data.DownloadError, match="SHA-256 is .*It was deleted"):
        data.download_cifar10(tmp_path, url=server.url + "/corrupt.tar.gz", progress=False,
                              **_hashes(archive))
    assert _contents(tmp_path) == []


def test_wrong_checksum_is_refused_and_nothing_is_kept(server, tmp_path):
    with pytest.raises(data.DownloadError, match="expected 0000"):
        data.download_cifar10(tmp_path, url=server.url + "/good.tar.gz", progress=False,
                              sha256="0" * 64, md5=None)
    assert _contents(tmp_path) == []


def test_an_archive_that_does_not_unpack_leaves_no_data_set(server, tmp_path):
    blob = server.routes["/notgz.tar.gz"]
    with pytest.raises(data.DownloadError, match="could not be unpacked"):
        data.download_cifar10(tmp_path, url=server.url + "/notgz.tar.gz", progress=False,
                              **_hashes(blob))
    assert _contents(tmp_path) == []


def test_truncated_download_is_kept_and_the_next_run_resumes_it(server, archive, tmp_path):
    with pytest.raises(data.DownloadError, match="run the same command again to resume"):
        data.download_cifar10(tmp_path, url=server.url + "/cut.tar.gz", progress=False,
                              **_hashes(archive))
    part = tmp_path / "cifar-10-python.tar.gz.part"
    assert _contents(tmp_path) == [part.name]  # no cifar-10-batches-py to mistake for data
    half = part.stat().st_size
    assert 0 < half < len(archive)
    with pytest.raises(FileNotFoundError, match="python -m cs231n_lib download cifar10"):
        data.load_dataset("cifar10", root=tmp_path)

    out = data.download_cifar10(tmp_path, url=server.url + "/cut.tar.gz", progress=False,
                                **_hashes(archive))
    assert server.requests[-1] == ("/cut.tar.gz", f"bytes={half}-")  # only the rest was asked
    assert _contents(tmp_path) == ["cifar-10-batches-py"]
    assert data.load_dataset("cifar10", root=out).X_train.shape[0] == 90


def test_a_server_without_range_support_restarts_cleanly(server, archive, tmp_path):
    part = tmp_path / "cifar-10-python.tar.gz.part"
    part.write_bytes(archive[:500] + b"garbage that a resume would keep")
    out = data.download_cifar10(tmp_path, url=server.url + "/norange.tar.gz", progress=False,
                                **_hashes(archive))
    assert server.requests[-1][1] is not None  # it asked to resume, the server said no
    assert _contents(tmp_path) == ["cifar-10-batches-py"] and (out / "test_batch").is_file()


def test_a_complete_part_file_is_verified_without_fetching_again(server, archive, tmp_path):
    (tmp_path / "cifar-10-python.tar.gz.part").write_bytes(archive)
    data.download_cifar10(tmp_path, url=server.url + "/good.tar.gz", progress=False,
                          **_hashes(archive))
    assert server.requests == [("/good.tar.gz", f"bytes={len(archive)}-")]  # answered 416
    assert _contents(tmp_path) == ["cifar-10-batches-py"]


def test_download_defaults_to_the_data_home(monkeypatch, server, archive, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path / "home"))
    out = data.download_cifar10(url=server.url + "/good.tar.gz", progress=False,
                                **_hashes(archive))
    assert out == tmp_path / "home" / "cifar-10-batches-py"
    assert data.load_dataset("cifar10", num_train=20).X_train.shape == (20, 3, 32, 32)


def test_download_command_line(server, archive, tmp_path):
    cmd = [sys.executable, "-m", "cs231n_lib", "download", "cifar10", "--dest", str(tmp_path),
           "--url", server.url + "/good.tar.gz", "--sha256", _hashes(archive)["sha256"]]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert str(tmp_path / "cifar-10-batches-py") in run.stdout
    fail = subprocess.run([*cmd[:5], "--dest", str(tmp_path / "y"), "--url",
                           server.url + "/good.tar.gz", "--sha256", "0" * 64],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert fail.returncode == 1 and "expected 0000" in fail.stderr
    assert "Traceback" not in fail.stderr


# --------------------------------------------------------------------------------------
# Where the data live, and load_dataset('cifar10')
# --------------------------------------------------------------------------------------


def test_data_home_is_the_env_folder_or_a_per_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    assert data.data_home() == tmp_path
    monkeypatch.delenv("CS231N_DATA")
    home = data.data_home()
    assert home.name == "cs231n" and str(home).startswith(str(Path.home()))


def test_missing_cifar10_names_the_folder_and_the_command(monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        data.load_dataset("cifar10")
    msg = str(err.value)
    assert str(tmp_path / "cifar-10-batches-py") in msg
    assert "python -m cs231n_lib download cifar10" in msg and "CS231N_DATA" in msg


@pytest.fixture(scope="module")
def shapes_cifar(tmp_path_factory) -> Path:
    """The 'shapes' set written as CIFAR-10 (10,000 + 1,000 training, 2,000 test images)."""
    root = tmp_path_factory.mktemp("shapes_cifar")
    data.write_shapes_cifar10(root / "cifar-10-batches-py")
    return root


def test_load_dataset_cifar10_matches_the_bundled_shapes(shapes_cifar):
    ours = data.load_dataset("cifar10", root=shapes_cifar, subtract_mean=True)
    shapes = data.load_dataset("shapes", subtract_mean=True)
    for key in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "mean_image"):
        np.testing.assert_allclose(ours[key], shapes[key], atol=1e-6, err_msg=key)
    assert ours.X_train.dtype == np.float32 and ours.name == "cifar10"
    assert ours.class_names == data.SHAPES_CLASSES  # read from batches.meta


def test_load_dataset_cifar10_takes_the_same_arguments(shapes_cifar, monkeypatch):
    monkeypatch.setenv("CS231N_DATA", str(shapes_cifar))
    ds = data.load_dataset("cifar10", num_train=500, num_val=50, num_test=100, resize=16,
                           channels=1, seed=3)
    assert ds.X_train.shape == (500, 1, 16, 16) and ds.X_val.shape == (50, 1, 16, 16)
    assert np.bincount(ds.y_train).tolist() == [50] * 10  # class-balanced subset
    assert 0 <= ds.X_train.min() and ds.X_train.max() <= 1
    again = data.load_dataset("cifar10", num_train=500, num_val=50, num_test=100, resize=16,
                              channels=1, seed=3)
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    with pytest.raises(ValueError, match="num_train=20000 is more than the 10000"):
        data.load_dataset("cifar10", num_train=20000)
    with pytest.raises(ValueError, match="root= is for downloaded data sets"):
        data.load_dataset("digits", root=shapes_cifar)


def test_data_status_line(monkeypatch, shapes_cifar, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(shapes_cifar))
    line = data.status()
    assert "shapes" in line and "cifar10: present" in line and str(shapes_cifar) in line
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    assert "cifar10: not downloaded" in data.status()
    assert "python -m cs231n_lib download cifar10" in data.status()


# --------------------------------------------------------------------------------------
# Every notebook with a DATASET knob runs on CIFAR-10
# --------------------------------------------------------------------------------------

KNOB = re.compile(r'^DATASET = "[a-z0-9]+"', re.MULTILINE)


def knob_notebooks() -> list[Path]:
    found = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(c.cell_type == "code" and KNOB.search(c.source) for c in nb.cells):
            found.append(path)
    return found


@pytest.mark.notebooks
@pytest.mark.parametrize("path", knob_notebooks(), ids=lambda p: p.parent.name)
def test_notebook_runs_on_cifar10(path, shapes_cifar, monkeypatch):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    changed = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and KNOB.search(cell.source):
            cell.source, n = KNOB.subn('DATASET = "cifar10"', cell.source)
            changed += n
    assert changed == 1, f"{path.name} should have exactly one DATASET knob line"
    # record every data set the notebook loads, and check at the end that CIFAR-10 was one
    spy = nbformat.v4.new_code_cell(
        "import cs231n_lib.data as _spy_data\n"
        "_spy_loaded, _spy_load = [], _spy_data.load_dataset\n"
        "def _spy(name, *args, **kwargs):\n"
        "    _spy_loaded.append(name)\n"
        "    return _spy_load(name, *args, **kwargs)\n"
        "_spy_data.load_dataset = _spy")
    nb.cells.insert(0, spy)
    nb.cells.append(nbformat.v4.new_code_cell(
        'assert "cifar10" in _spy_loaded, f"the notebook loaded {_spy_loaded}, not cifar10"'))
    monkeypatch.setenv("CS231N_DATA", str(shapes_cifar))
    monkeypatch.setenv("CS231N_FAST", "1")
    client = NotebookClient(nb, timeout=900, kernel_name=course.KERNEL_NAME,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) on failure
