"""``python -m graphc`` and the ``graphc`` console script (see :mod:`graphc.cli`)."""
import sys

from .cli import main as _main


def main(argv=None) -> int:
    """Entry point of the ``graphc`` command; returns the exit status."""
    return _main(argv)


if __name__ == "__main__":
    sys.exit(main())
