"""``taskflow.atom``: the ``Atom`` base class (greenflow's) and how TaskFlow prints atoms."""

from __future__ import annotations

from greenflow.atoms import Atom

__all__ = ["Atom", "TaskFlowPrinting"]


class TaskFlowPrinting:
    """TaskFlow's ``str()`` (``"name==1.0"``, quoted) and ``repr()`` (``<module.Class "name==1.0">``).

    Mixed into compat's task classes, before greenflow's class; greenflow's own
    atoms print as ``Class(name='...')``.
    """

    name: str
    version: object

    def __str__(self) -> str:
        version = self.version
        if isinstance(version, (tuple, list)):
            version = ".".join(str(part) for part in version)
        return f'"{self.name}=={version}"'

    def __repr__(self) -> str:
        cls = type(self)
        return f"<{cls.__module__}.{cls.__qualname__} {self}>"
