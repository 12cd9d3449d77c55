"""greencircle: an open platform for regional green development.

Measure (MRV), prove (transparency log), hold and comply (registry), trade (exchange),
and plan energy and finance, for the Chengdu–Chongqing green economic circle and the
China–SCO green industry cooperation platform.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("greencircle")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
