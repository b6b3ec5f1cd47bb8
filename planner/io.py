"""Writing files so that a reader never sees half of one: write a temporary sibling, then rename.

`check_output` refuses, before any work, an output path the rename would misuse: a folder, a path
under a regular file, a device or other non-regular file (never replaced), or an input of the same
command (which the output would overwrite)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from planner.errors import OptionError


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    # mkstemp creates the file private (0600); give it the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield Path(temporary)
        _refuse_non_regular(path, "the output")  # never replace a device, pipe or folder
        os.replace(temporary, path)
    except BaseException:  # includes KeyboardInterrupt: never leave the .part file behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _refuse_non_regular(path: Path, option: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise OptionError(
            f"{option} {path}: lies under a file, not a folder; expected a path in a folder"
        ) from None
    except OSError as err:
        raise OptionError(f"{option} {path}: cannot be used ({err.strerror})") from None
    if stat.S_ISDIR(mode):
        raise OptionError(f"{option} {path}: is a folder; expected a file name")
    if not stat.S_ISREG(mode):
        raise OptionError(f"{option} {path}: is not a regular file (a device or pipe?); it is never replaced")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output(path: Path | str, option: str = "--out", inputs=(), *, folder: bool = False) -> Path:
    """`path` if a file (or with `folder`, a folder) can be written there; else OptionError, exit 2.

    `inputs` are the files the same command reads (folders among them: every file inside)."""
    path = Path(path)
    for parent in path.absolute().parents:  # a path under a regular file can never be created
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OptionError(
                    f"{option} {path}: {parent} is a file, not a folder; expected a path in a folder"
                )
            break
    if folder:
        if path.exists() and not path.is_dir():
            raise OptionError(f"{option} {path}: is a file; expected a folder (created if missing)")
    else:
        _refuse_non_regular(path, option)
    for given in inputs:
        given = Path(given)
        if not folder and given.is_dir():
            inside = given.resolve() in path.resolve().parents
            if inside and path.suffix.lower() in {".txt", ".json"}:
                raise OptionError(f"{option} {path}: lies in the input folder {given} and would be read")
            continue
        if _same_file(path, given):
            raise OptionError(f"{option} {path}: is also an input of this command; expected another file")
    return path


METADATA_KEY = b"anneal_planner"  # the Parquet schema metadata key of every file the project writes


def write_parquet(frame, schema, meta: dict, path: Path | str, *, keep_schema_metadata: bool = False,
                  json_default=None) -> None:  # fmt: skip
    """`frame` as `schema`, with the project's metadata (JSON) under METADATA_KEY, written atomically.

    `keep_schema_metadata` keeps what pyarrow records beside it (pandas' own column metadata)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    kept = dict(table.schema.metadata or {}) if keep_schema_metadata else {}
    table = table.replace_schema_metadata(
        {**kept, METADATA_KEY: json.dumps(meta, default=json_default).encode()}
    )
    with atomic_path(Path(path)) as temporary:
        pq.write_table(table, temporary)


def _project_metadata(schema_metadata: dict | None, max_bytes: int | None = None) -> dict:
    """The project's metadata in a Parquet schema's metadata: {} when absent, else a JSON object.
    ValueError for anything else (not JSON, not an object, nested too deep, larger than `max_bytes`),
    so that every reader turns damaged metadata into the same one-line input error."""
    import json

    raw = (schema_metadata or {}).get(METADATA_KEY)
    if raw is None:
        return {}
    if max_bytes is not None and len(raw) > max_bytes:
        raise ValueError(f"its metadata is over {max_bytes // 1_000_000} MB")
    try:
        meta = json.loads(raw)
    except RecursionError:
        raise ValueError("its metadata is nested too deeply") from None
    if not isinstance(meta, dict):
        raise ValueError(f"its metadata is a JSON {type(meta).__name__}, not an object")
    return meta


def read_metadata(path: Path) -> dict:
    """The project's metadata of a Parquet file, reading only its footer."""
    import pyarrow.parquet as pq

    return _project_metadata(pq.read_schema(path).metadata)


def read_parquet(path: Path, *, max_metadata_bytes: int | None = None):
    """A Parquet file's table and the project's metadata (`_project_metadata`), reading the file
    once. Raises what pyarrow raises, or ValueError for damaged metadata: callers name the file.

    `pq.ParquetFile` rather than `pq.read_table`: the latter goes through pyarrow.dataset, whose
    import alone costs every command 13 ms."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        meta = _project_metadata(file.schema_arrow.metadata, max_metadata_bytes)
        return file.read(), meta


def files_sha256(names) -> str:
    """sha256 over the files' bytes, in order (a timeline, or the reports it was built from)."""
    import hashlib

    digest = hashlib.sha256()
    for name in names:
        with open(name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def same_type(field, actual) -> bool:
    """A column read back has its field's type. Parquet keeps second timestamps as milliseconds:
    a timestamp in any unit is the same, provided its zone is UTC."""
    import pyarrow as pa

    if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(actual):
        return actual.tz == "UTC"
    return actual == field.type
