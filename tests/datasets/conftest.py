"""The download fixtures of tests/utils (local HTTP file server, private graphc home)."""
from tests.utils.conftest import file_server, graphc_home  # noqa: F401
