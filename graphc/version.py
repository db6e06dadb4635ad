"""graphc's version: a leaf module, so any part of the package (the compile cache's keys among
them) can read it without importing the package's top level."""
__version__ = "0.1.0"
