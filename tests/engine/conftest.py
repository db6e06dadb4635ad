"""Engine tests run their K.functions on the reference interpreter (fast to build; the
compiled executor is exercised by tests/test_guide_snippets.py), with fresh layer names."""
import pytest

from graphc import backend as K
from graphc import config


@pytest.fixture(autouse=True)
def reference_executor():
    """Use the numpy reference executor and a fresh session (layer names from _1)."""
    previous = config.get('executor')
    config.set('executor', 'reference')
    K.clear_session()
    yield
    config.set('executor', previous)
