"""Lab in a box: stand-ins behind a lab bench file's device paths (see :mod:`rigs.labbox.box`)."""

from rigs.labbox.box import LabBox

__all__ = ["LabBox"]
