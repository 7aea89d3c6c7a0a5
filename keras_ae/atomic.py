"""Directories written all at once: complete, or not there at all.

`directory` yields a hidden temporary folder beside the target; when the
block finishes it is renamed into place (replacing an existing target only
with ``overwrite=True``, and only after the new one is complete). If the
block fails or is interrupted, the temporary folder is removed and any
previous target is left exactly as it was. Exports and training runs use it.
"""

import contextlib
import os
import shutil
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def refuse_existing(target, overwrite, what, flag="overwrite=True", accept=None):
    """Raises if ``target`` holds something and may not be replaced.

    Args:
        target: the path.
        overwrite: whether replacing is allowed.
        what: what ``target`` is, for the message ("run", "export").
        flag: how the user asks to overwrite, for the message.
        accept: optional ``path -> bool``: what may be replaced even with
            ``overwrite`` (e.g. only a previous export).
    """
    exists = os.path.lexists(target) and not (
        os.path.isdir(target) and not os.path.islink(target) and not os.listdir(target)
    )
    if not exists:
        return
    if not overwrite:
        raise FileExistsError(
            f"The {what} folder already exists and is not empty: pass {flag} to "
            f"replace it. Received: path={target!r}"
        )
    if accept is not None and not accept(target):
        raise ValueError(
            f"Refusing to overwrite a path that does not hold a {what}. "
            f"Received: path={target!r}"
        )


def commit(tmp, target):
    """Renames ``tmp`` to ``target``, replacing an existing one safely."""
    if os.path.isdir(target) and not os.path.islink(target) and not os.listdir(target):
        os.rmdir(target)
    if not os.path.lexists(target):
        os.rename(tmp, target)
        return
    parent, base = os.path.split(target)
    old = tempfile.mkdtemp(prefix=f".{base}.old-", dir=parent)
    os.rmdir(old)  # reserve a unique name, then move the old target there
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def directory(target):
    """Yields a temporary folder that becomes ``target`` when the block ends.

    Example:
    ```python
    with atomic.directory("runs/ae") as tmp:
        model.save(os.path.join(tmp, "model.keras"))
    ```
    """
    target = os.path.abspath(os.fspath(target))
    parent, base = os.path.split(target)
    created = _missing_parents(parent)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
    try:
        yield tmp
        commit(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:  # deepest first; only the ones made here
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        raise


def _missing_parents(path):
    """The folders of ``path`` that do not exist yet, deepest first."""
    missing = []
    while path and not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing
