"""One message for every TaskFlow module greenflow does not provide yet."""

from __future__ import annotations

__all__ = ["unsupported"]


def unsupported(module: str, feature: str) -> ImportError:
    """The ``ImportError`` a module for an unsupported TaskFlow feature raises on import."""
    return ImportError(
        f"{module}: TaskFlow's {feature} is not supported by greenflow yet "
        f"(this is greenflow-taskflow-compat, not OpenStack TaskFlow); "
        f"see the 'What is not supported yet' section of its README"
    )
