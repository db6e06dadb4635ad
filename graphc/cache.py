"""The compile cache, user side: where it is, what it holds, and emptying it.

Example:
    >>> import graphc.cache
    >>> graphc.cache.info()["dir"] == graphc.cache.cache_dir()
    True
"""
from graphc.codegen.cache import cache_dir, clear, info

__all__ = ["cache_dir", "clear", "info"]
