"""Fixtures for the download tests: a local HTTP file server and a private graphc home."""
import pytest

from tests.utils.http_server import FileServer


@pytest.fixture
def file_server():
    server = FileServer()
    yield server
    server.close()


@pytest.fixture
def graphc_home(tmp_path, monkeypatch):
    home = tmp_path / 'home'
    monkeypatch.setenv('GRAPHC_HOME', str(home))
    return home
