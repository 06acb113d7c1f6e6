"""`dinos download` against archives served from 127.0.0.1: resume, truncation, checksums, zip slip,
idempotency, the mirror option and the unpacked layout (the DCASE loader reads it)."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from dinos import cli
from dinos.corpus import Archive, ConfigInfo, CorpusInfo
from dinos.download import DownloadError, download, resolve_url, select
from dinos.errors import DinosError, UnsafePathError


def _zip(files: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


class Server:
    """A tiny HTTP server with Range support; `cut_after` truncates the next responses."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut_after: int | None = None
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                rng = self.headers.get("Range")
                outer.requests.append((self.path, rng))
                data = outer.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                if rng and not outer.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.cut_after is not None:
                    body = body[: outer.cut_after]
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def _info(archives: tuple[Archive, ...]) -> CorpusInfo:
    return CorpusInfo(
        name="fake", pretty_name="Fake", description="fake corpus", sample_rate=16000, channels=1,
        license="test", license_id="other", homepage="https://example.org", citations={"": "@misc{x}"},
        configs=(ConfigInfo("all", "all", ("train",)),), default_config="all", split_roles={"train": "train"},
        archives=archives,
    )


WAV_A = b"RIFF....fake-a"
WAV_B = b"RIFF....fake-b" * 1000


def _dev_zip() -> bytes:
    return _zip({"fan/train/section_00_source_train_normal_0000_a_1.wav": WAV_A,
                 "fan/test/section_00_source_test_anomaly_0000_a_1.wav": WAV_B,
                 "fan/attributes_00.csv": b"file_name,d1p,d1v\n"})


def _archive(server: Server, name: str, data: bytes, *, md5: bool = True, size: bool = True, **kw) -> Archive:
    path = f"/records/1/files/{name}"
    server.files[path] = data
    return Archive(url=f"https://zenodo.org{path}", filename=name, part=kw.pop("part", "dev"),
                   machine=kw.pop("machine", "fan"), md5=hashlib.md5(data).hexdigest() if md5 else "",
                   size=len(data) if size else None, unpack_to=kw.pop("unpack_to", "dev_data/raw"), **kw)


def test_download_verifies_unpacks_into_layout_and_is_idempotent(server, tmp_path):
    arc = _archive(server, "dev_fan.zip", _dev_zip())
    report = download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    assert report.downloaded == ["dev_fan.zip"] and report.files == 3 and not report.unverified
    train = tmp_path / "out/dev_data/raw/fan/train/section_00_source_train_normal_0000_a_1.wav"
    assert train.read_bytes() == WAV_A
    assert not (tmp_path / "out/.dinos-download/dev_fan.zip").exists()  # archive removed after unpacking
    n = len(server.requests)
    again = download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    assert again.skipped == ["dev_fan.zip"] and not again.downloaded and len(server.requests) == n


def test_truncated_download_is_an_error_and_the_next_run_resumes_with_a_range(server, tmp_path):
    data = _dev_zip()
    arc = _archive(server, "dev_fan.zip", data)
    server.cut_after = 1000
    with pytest.raises(DownloadError, match="truncated|broke off"):
        download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    part = tmp_path / "out/.dinos-download/dev_fan.zip.part"
    assert part.stat().st_size == 1000
    assert not (tmp_path / "out/dev_data").exists()  # nothing unpacked from a partial archive
    server.cut_after = None
    report = download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    assert report.downloaded == ["dev_fan.zip"]
    assert server.requests[-1][1] == "bytes=1000-"


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    data = _dev_zip()
    arc = _archive(server, "dev_fan.zip", data)
    work = tmp_path / "out/.dinos-download"
    work.mkdir(parents=True)
    (work / "dev_fan.zip.part").write_bytes(b"garbage-prefix")
    server.ignore_range = True
    download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False, keep_archives=True)
    assert (work / "dev_fan.zip").read_bytes() == data


def test_wrong_checksum_is_reported_and_the_bad_file_deleted(server, tmp_path):
    arc = replace(_archive(server, "dev_fan.zip", _dev_zip()), md5="0" * 32)
    with pytest.raises(DownloadError, match="does not match the published"):
        download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    assert not list((tmp_path / "out/.dinos-download").glob("dev_fan.zip*"))
    assert not (tmp_path / "out/dev_data").exists()


def test_wrong_published_size_is_an_error(server, tmp_path):
    arc = replace(_archive(server, "dev_fan.zip", _dev_zip()), size=12)
    with pytest.raises(DownloadError, match="published size"):
        download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)


@pytest.mark.parametrize("member", ["../escape.wav", "/abs/escape.wav", "fan/../../escape.wav"])
def test_zip_member_escaping_the_target_is_refused_before_anything_is_written(server, tmp_path, member):
    arc = _archive(server, "evil.zip", _zip({"fan/train/ok.wav": WAV_A, member: b"x"}))
    with pytest.raises(UnsafePathError, match="outside the target"):
        download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    assert not (tmp_path / "escape.wav").exists() and not (tmp_path / "out/dev_data").exists()


def test_zip_symlink_member_is_refused(server, tmp_path):
    arc = _archive(server, "link.zip", _zip({"fan/train/ok.wav": WAV_A}, links=("fan/train/passwd.wav",)))
    with pytest.raises(UnsafePathError, match="symbolic link"):
        download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)


def test_existing_different_file_is_never_replaced(server, tmp_path):
    arc = _archive(server, "dev_fan.zip", _dev_zip())
    mine = tmp_path / "out/dev_data/raw/fan/train/section_00_source_train_normal_0000_a_1.wav"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own recording")
    with pytest.raises(DownloadError, match="refusing to replace"):
        download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    assert mine.read_bytes() == b"my own recording"


def test_unpublished_checksum_is_listed_as_unverified(server, tmp_path):
    arc = _archive(server, "dev_fan.zip", _dev_zip(), md5=False, size=False)
    report = download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    assert report.unverified == ["dev_fan.zip"]
    assert "no published checksum" in str(report)


def test_http_error_names_the_archive(server, tmp_path):
    arc = Archive(url="https://zenodo.org/records/1/files/missing.zip", filename="missing.zip", unpack_to="x")
    with pytest.raises(DownloadError, match="HTTP 404") as err:
        download(_info((arc,)), tmp_path / "out", mirror=server.url, progress=False)
    assert "missing.zip" in str(err.value)


def test_selection_and_mirror_rewriting():
    a = Archive(url="https://zenodo.org/record/9/files/dev_fan.zip", filename="dev_fan.zip", part="dev",
                year=2023, machine="fan")
    b = replace(a, filename="dev_valve.zip", machine="valve", url="https://zenodo.org/record/9/files/dev_valve.zip")
    c = replace(a, year=2024)
    info = _info((a, b, c))
    with pytest.raises(DinosError, match="pass --year"):
        select(info)
    assert select(info, year=2023, machines=["valve"]) == [b]
    with pytest.raises(DinosError, match="no fake archives for machine"):
        select(info, year=2023, machines=["pump"])
    with pytest.raises(DinosError, match="year 2030"):
        select(info, year=2030)
    assert resolve_url(a.url, "http://127.0.0.1:8000/mirror/") == "http://127.0.0.1:8000/mirror/record/9/files/dev_fan.zip"
    with pytest.raises(DinosError, match="http"):
        resolve_url(a.url, "ftp://x")


def test_cli_downloads_through_a_mirror(server, tmp_path, monkeypatch, capsys):
    arc = _archive(server, "dev_fan.zip", _dev_zip())
    import dinos.loaders

    monkeypatch.setattr(dinos.loaders, "corpus_info", lambda name: _info((arc,)))
    out = tmp_path / "out"
    code = cli.main(["download", "dcase_task2", "--out", str(out), "--mirror", server.url, "--quiet"])
    assert code == 0 and "1 archive(s) downloaded" in capsys.readouterr().out
    assert (out / "dev_data/raw/fan/attributes_00.csv").is_file()


def test_real_corpora_list_their_archives():
    from dinos.loaders import corpus_info, corpus_names

    for name in corpus_names():
        info = corpus_info(name)
        if name != "folder":  # a user's own recordings have no published archives
            assert info.archives, name
        for a in info.archives:
            assert a.url.startswith("https://") and a.filename and Path(a.filename).name == a.filename
            assert not a.md5 or len(a.md5) == 32
    dcase = corpus_info("dcase_task2")
    for year in (2020, 2023, 2026):  # every machine type of a year has its development archive
        from dinos.loaders.dcase_task2 import year_info

        dev = {a.machine for a in select(dcase, year=year, parts=["dev"])}
        assert dev == set(year_info(year).dev), year
    assert all(a.md5 for a in corpus_info("mimii").archives)  # published md5 sums
