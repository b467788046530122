"""The release candidate's loopback preview (``lighthouse/preview.py``)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lighthouse.preview import PreviewError, preview


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>candidate</title>", encoding="utf-8")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)", encoding="utf-8")
    (tmp_path / "manifest.webmanifest").write_text('{"name": "x"}', encoding="utf-8")
    return tmp_path


def test_the_bundle_is_served_as_a_static_host_serves_it(bundle: Path) -> None:
    with preview(bundle) as base:
        assert base.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base, timeout=10) as client:
            index = client.get("/")
            assert (index.status_code, index.text) == (200, "<!doctype html><title>candidate</title>")
            assert client.get("/menu").text == index.text  # no extension: the app shell
            assert client.get("/assets/app.js").headers["content-type"] == "text/javascript"
            manifest = client.get("/manifest.webmanifest")
            assert manifest.headers["content-type"] == "application/manifest+json"
            assert manifest.headers["cache-control"] == "no-cache"
            assert client.get("/assets/missing.js").status_code == 404


def test_the_port_is_closed_after_the_block(bundle: Path) -> None:
    with preview(bundle) as base:
        pass
    with pytest.raises(httpx.ConnectError):
        httpx.get(base, timeout=2)


def test_a_folder_without_a_bundle_is_named(tmp_path: Path) -> None:
    with pytest.raises(PreviewError, match=r"no index\.html.*did the web build run"), preview(tmp_path / "dist"):
        pass
