"""The one exception type for bad dataset input, and the checks that raise it.

Every message is one paragraph that names the file, the problem and the fix, so that a user who
points a reader at the wrong file never has to read a traceback from inside h5py or scipy.
"""

from collections.abc import Collection, Iterable


class DatasetError(ValueError):
    """A dataset file is missing, unreadable, of an unknown format or not laid out as expected."""


def quoted(names: Iterable[str]) -> str:
    """Join names as ``'a', 'b'`` for messages, or say ``none`` when there are none."""
    return ", ".join(repr(name) for name in names) or "none"


def require_keys(path: str, found: Collection[str], expected: Iterable[str], kind: str) -> None:
    """Raise a `DatasetError` naming what is missing when ``found`` lacks any of ``expected``.

    Args:
        path: the file, for the message.
        found: the names the file (or one of its groups) holds.
        expected: the names the layout needs.
        kind: the kind of file in words, e.g. ``"a PDEBench ns_incom file"``.
    """
    missing = [name for name in expected if name not in found]
    if missing:
        raise DatasetError(
            f"{path} lacks {quoted(missing)}, which {kind} must have "
            f"(found: {quoted(sorted(found))}). Check that the file is complete and really is "
            "that format, or pass the right format= to open_dataset."
        )


def require_any(path: str, found: Collection[str], candidates: Iterable[str], kind: str) -> None:
    """Raise a `DatasetError` when ``found`` holds none of ``candidates``.

    Args:
        path: the file, for the message.
        found: the names the file (or one of its groups) holds.
        candidates: the names of which the layout needs at least one.
        kind: the kind of file in words, e.g. ``"a PDEBench file"``.
    """
    if not any(name in found for name in candidates):
        raise DatasetError(
            f"{path} has none of {quoted(candidates)}, one of which {kind} must have "
            f"(found: {quoted(sorted(found))}). Check that the file is complete and really is "
            "that format, or pass the right format= to open_dataset."
        )


def require_layout(
    path: str,
    name: str,
    shape: tuple[int, ...],
    layout: str,
    *,
    kind: str,
    ndim: Collection[int],
    trailing: tuple[int, ...] = (),
) -> None:
    """Raise a `DatasetError` when a stored array has the wrong rank or trailing size.

    Args:
        path: the file, for the message.
        name: the variable's name inside the file.
        shape: the shape found in the file.
        layout: the expected axes in words, e.g. ``"(sample, time, x, y, 2)"``.
        kind: the kind of file in words, e.g. ``"a PDEBench ns_incom file"``.
        ndim: the ranks the layout allows.
        trailing: the sizes the last axes must have (component axes), if any.
    """
    if len(shape) not in ndim or tuple(shape[len(shape) - len(trailing) :]) != trailing:
        raise DatasetError(
            f"{path}: variable {name!r} has shape {shape}, but {kind} stores it as {layout}. "
            "Check that the file is the format you expect (pass the right format= to open_dataset), "
            "or regenerate it."
        )


def require_length(path: str, name: str, size: int, expected: Collection[int]) -> None:
    """Raise a `DatasetError` when a coordinate does not match the data along its axis.

    Args:
        path: the file, for the message.
        name: the coordinate's name inside the file.
        size: its number of entries.
        expected: the numbers of entries that fit the data.
    """
    if size not in expected:
        raise DatasetError(
            f"{path}: coordinate {name!r} has {size} entries, but the data needs "
            f"{' or '.join(str(n) for n in sorted(expected))} along that axis. "
            "The file is inconsistent; regenerate or re-download it."
        )
