"""Weight-file resolution and download, against a real HTTP server on 127.0.0.1."""

import gzip
import hashlib
import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sk_avsc.exceptions import ParameterError, WeightsError
from sk_avsc.openl3 import _download
from sk_avsc.openl3._download import git_blob_sha1, resolve_weights

NAME = "openl3_audio_mel256_env.h5"
REMOTE = "openl3_audio_mel256_env-v0_4_0.h5.gz"
# Stands in for an HDF5 file: resolution never parses it.
PAYLOAD = b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 400
GZ = gzip.compress(PAYLOAD)


def _blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes ``/<mode>/<file>``: good, corrupt (one byte flipped), drop (closes
    mid-body), stall (sends half, then waits); anything else is a 404."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        server = self.server
        server.requests.append(self.path)
        mode, _, name = self.path.strip("/").partition("/")
        body = server.files.get(name)
        if body is None or mode not in {"good", "corrupt", "drop", "stall"}:
            self.send_error(404)
            return
        if mode == "corrupt":
            body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode in {"drop", "stall"}:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                server.stalled.set()
                server.release.wait(30)
            return  # HTTP/1.0: the connection closes here, short of Content-Length
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.files = {REMOTE: GZ}
    httpd.requests = []
    httpd.stalled = threading.Event()
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An isolated cache, no weights dir, no installed openl3, the fixture's hash."""
    cache_root = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_root))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "localappdata"))
    monkeypatch.delenv("SK_AVSC_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("SK_AVSC_WEIGHTS_URL", raising=False)
    monkeypatch.setattr(_download, "_openl3_package_dir", lambda: None)
    monkeypatch.setitem(_download.KNOWN_HASHES, REMOTE, _blob_sha1(GZ))
    cache = _download.user_cache_dir()
    assert tmp_path in cache.parents
    return cache


def _files(d):
    return sorted(p.name for p in Path(d).iterdir()) if Path(d).exists() else []


def test_download_success_writes_decompressed_file(env, server, monkeypatch):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good/")
    path = resolve_weights("audio", "mel256", "env", progress=False)
    assert path == env / NAME
    assert path.read_bytes() == PAYLOAD
    assert _files(env) == [NAME]  # no temporary file left
    assert server.requests == [f"/good/{REMOTE}"]


def test_download_with_progress_bar(env, server, monkeypatch, capsys):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good")
    path = resolve_weights("audio", "mel256", "env", progress=True)
    assert path.read_bytes() == PAYLOAD
    assert REMOTE in capsys.readouterr().err


def test_cache_hit_does_not_touch_network(env, server, monkeypatch):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good")
    first = resolve_weights("audio", "mel256", "env", progress=False)
    server.shutdown()  # any further request would now fail
    again = resolve_weights("audio", "mel256", "env", progress=False)
    offline = resolve_weights("audio", "mel256", "env", download=False)
    assert first == again == offline
    assert len(server.requests) == 1


def test_corrupt_download_is_rejected_and_removed(env, server, monkeypatch):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/corrupt")
    with pytest.raises(WeightsError, match=r"corrupt.*SHA-1") as info:
        resolve_weights("audio", "mel256", "env", progress=False)
    assert NAME in str(info.value)
    assert _files(env) == []


def test_http_404_names_file_and_places(env, server, monkeypatch, tmp_path):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/missing")
    with pytest.raises(WeightsError, match="HTTP 404") as info:
        resolve_weights("audio", "mel256", "env", weights_dir=tmp_path / "w", progress=False)
    message = str(info.value)
    assert NAME in message
    assert str(tmp_path / "w") in message and str(env) in message
    assert "SK_AVSC_WEIGHTS_DIR" in message
    assert _files(tmp_path / "w") == []


def test_connection_dropped_mid_body(env, server, monkeypatch):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/drop")
    with pytest.raises(WeightsError, match="cut off"):
        resolve_weights("audio", "mel256", "env", progress=False)
    assert _files(env) == []


def test_unreachable_server_says_where_to_put_the_file(env, server, monkeypatch):
    url = server.url
    server.shutdown()
    server.server_close()  # nothing listens on that port any more
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", url)
    with pytest.raises(WeightsError) as info:
        resolve_weights("image", "mel256", "music", progress=False)
    message = str(info.value)
    assert "openl3_image_mel256_music.h5" in message
    assert "openl3_image_mel256_music-v0_4_0.h5.gz" in message
    assert str(env) in message


def test_download_false_never_downloads(env, server, monkeypatch):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good")
    with pytest.raises(WeightsError, match="download=False") as info:
        resolve_weights("audio", "mel256", "env", download=False)
    assert NAME in str(info.value) and str(env) in str(info.value)
    assert server.requests == []


def test_unknown_hash_is_refused(env, server, monkeypatch):
    monkeypatch.delitem(_download.KNOWN_HASHES, REMOTE)
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good")
    with pytest.raises(WeightsError, match="unverified"):
        resolve_weights("audio", "mel256", "env", progress=False)
    assert server.requests == []


def test_known_hashes_argument_overrides_table(env, server, tmp_path):
    path = _download.download_weights(
        "audio", "mel256", "env", dest_dir=tmp_path / "d", base_url=server.url + "/good",
        known_hashes={REMOTE: _blob_sha1(GZ)}, progress=False,
    )
    assert path.read_bytes() == PAYLOAD
    with pytest.raises(WeightsError, match="corrupt"):
        _download.download_weights(
            "audio", "mel256", "env", dest_dir=tmp_path / "e", base_url=server.url + "/good",
            known_hashes={REMOTE: "0" * 40}, progress=False,
        )
    assert _files(tmp_path / "e") == []


def test_search_order_and_download_destination(env, server, monkeypatch, tmp_path):
    arg_dir, env_dir = tmp_path / "arg", tmp_path / "envdir"
    for d, content in [(arg_dir, b"arg"), (env_dir, b"env"), (env, b"cache")]:
        d.mkdir(parents=True)
        (d / NAME).write_bytes(content)
    monkeypatch.setenv("SK_AVSC_WEIGHTS_DIR", str(env_dir))
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good")
    assert resolve_weights("audio", "mel256", "env", weights_dir=arg_dir) == arg_dir / NAME
    assert resolve_weights("audio", "mel256", "env") == env_dir / NAME
    monkeypatch.delenv("SK_AVSC_WEIGHTS_DIR")
    assert resolve_weights("audio", "mel256", "env") == env / NAME
    assert server.requests == []
    # A download goes to SK_AVSC_WEIGHTS_DIR when it is set, not to the cache.
    (env / NAME).unlink()
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("SK_AVSC_WEIGHTS_DIR", str(fresh))
    assert resolve_weights("audio", "mel256", "env", progress=False) == fresh / NAME
    assert (fresh / NAME).read_bytes() == PAYLOAD
    assert _files(env) == []


@pytest.mark.parametrize(
    "present, expected",
    [
        ([NAME + ".gz"], NAME + ".gz"),
        ([REMOTE], REMOTE),
        (["openl3_audio_mel256_env-v0_4_0.h5"], "openl3_audio_mel256_env-v0_4_0.h5"),
        ([REMOTE, NAME + ".gz", NAME], NAME),
        (["openl3_audio_mel256_music.h5", "openl3_audio_mel128_env.h5", "x.h5"], None),
    ],
)
def test_accepted_file_names(env, tmp_path, present, expected):
    d = tmp_path / "w"
    d.mkdir()
    for name in present:
        (d / name).write_bytes(b"x")
    if expected is None:
        with pytest.raises(WeightsError, match=NAME):
            resolve_weights("audio", "mel256", "env", weights_dir=d, download=False)
    else:
        assert resolve_weights("audio", "mel256", "env", weights_dir=d, download=False) \
            == d / expected


def test_installed_openl3_package_found_without_importing_it(tmp_path, monkeypatch):
    site = tmp_path / "site"
    pkg = site / "openl3"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('openl3 must not be imported')\n")
    (pkg / "openl3_image_linear_music.h5").write_bytes(b"x")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "openl3", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SK_AVSC_WEIGHTS_DIR", raising=False)
    path = resolve_weights("image", "linear", "music", download=False)
    assert path == pkg / "openl3_image_linear_music.h5"
    assert "openl3" not in sys.modules
    # The cache comes before the package's own files.
    cached = tmp_path / "cache" / "sk_avsc" / "openl3_image_linear_music.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"y")
    assert resolve_weights("image", "linear", "music", download=False) == cached


def test_concurrent_downloads_both_succeed(env, server, monkeypatch):
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good")
    results, errors = [], []

    def run():
        try:
            results.append(_download.download_weights("audio", "mel256", "env",
                                                      progress=False))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert results == [env / NAME] * 4
    assert (env / NAME).read_bytes() == PAYLOAD
    assert _files(env) == [NAME]


def test_killed_download_leaves_no_weight_file(env, server, monkeypatch, tmp_path):
    root = Path(__file__).resolve().parents[2]
    code = (
        "from sk_avsc.openl3._download import resolve_weights, KNOWN_HASHES\n"
        f"KNOWN_HASHES[{REMOTE!r}] = {_blob_sha1(GZ)!r}\n"
        "resolve_weights('audio', 'mel256', 'env', progress=False)\n"
    )
    child_env = dict(os.environ, SK_AVSC_WEIGHTS_URL=server.url + "/stall",
                     PYTHONPATH=str(root))
    proc = subprocess.Popen([sys.executable, "-c", code], env=child_env, cwd=tmp_path)
    try:
        assert server.stalled.wait(30), "the child never reached the server"
        deadline = time.monotonic() + 10
        while not list(env.glob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(env.glob("*.part")), "the child did not start writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        server.release.set()
    assert not (env / NAME).exists()
    with pytest.raises(WeightsError, match="download=False"):
        resolve_weights("audio", "mel256", "env", download=False)
    # A later download does not trip over the dead process's temporary file.
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good")
    assert resolve_weights("audio", "mel256", "env", progress=False).read_bytes() == PAYLOAD


def test_stale_temporary_files_are_cleaned(env, server, monkeypatch):
    env.mkdir(parents=True)
    stale = env / f".{REMOTE}.abc.part"
    recent = env / f".{REMOTE}.def.part"
    stale.write_bytes(b"old")
    recent.write_bytes(b"new")
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    monkeypatch.setenv("SK_AVSC_WEIGHTS_URL", server.url + "/good")
    resolve_weights("audio", "mel256", "env", progress=False)
    assert not stale.exists()
    assert recent.exists()  # may belong to a download still running


@pytest.mark.parametrize(
    "args, bad",
    [
        (("video", "mel256", "env"), r"modality must be one of \('audio', 'image'\), got 'video'"),
        (("audio", "mel512", "env"), r"\('linear', 'mel128', 'mel256'\), got 'mel512'"),
        (("audio", "mel256", "speech"), r"content_type must be one of \('env', 'music'\)"),
    ],
)
def test_invalid_choices_list_valid_values(env, args, bad):
    with pytest.raises(ParameterError, match=bad):
        resolve_weights(*args, download=False)


def test_known_hashes_cover_all_official_files():
    names = {
        f"openl3_{m}_{r}_{c}-v0_4_0.h5.gz"
        for m in ("audio", "image") for r in ("linear", "mel128", "mel256")
        for c in ("env", "music")
    }
    assert set(_download.KNOWN_HASHES) == names
    assert all(len(h) == 40 and int(h, 16) >= 0 for h in _download.KNOWN_HASHES.values())


def test_known_hashes_match_shared_list(openl3_reference_dir):
    listed = {}
    for line in (openl3_reference_dir / "upstream-weights.sha1").read_text().splitlines():
        if line.strip():
            sha, name = line.split()
            listed[name] = sha
    assert listed == _download.KNOWN_HASHES


def test_git_blob_sha1_matches_git(tmp_path):
    path = tmp_path / "blob.gz"
    path.write_bytes(GZ)
    assert git_blob_sha1(path) == _blob_sha1(GZ)
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    out = subprocess.run([git, "hash-object", str(path)], capture_output=True, text=True,
                         check=True)
    assert git_blob_sha1(path) == out.stdout.strip()


def test_parse_weights_filename_inverts_weights_filename():
    for m in _download.MODALITIES:
        for r in _download.INPUT_REPRS:
            for c in _download.CONTENT_TYPES:
                name = _download.weights_filename(m, r, c)
                assert _download.parse_weights_filename(f"/x/copy_{name}.gz") == (m, r, c)
    assert _download.parse_weights_filename("openl3_video_mel256_env.h5") is None
