"""``taskflow.atom``: the ``Atom`` base class (greenflow's)."""

from greenflow.atoms import Atom

__all__ = ["Atom"]
