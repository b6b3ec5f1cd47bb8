"""Writing files so that a reader never sees half of one: write a temporary sibling, then rename.

`check_output` refuses, before any work, an output path the rename would misuse: a folder, a path
under a regular file, a device or other non-regular file (never replaced), or an input of the same
command (which the output would overwrite)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from planner.errors import InputError, OptionError, brief

# The environment, not the input or a bug: a full disk, a read-only or locked folder, a dangling
# link. One line naming the path and the reason, exit 2.
ENVIRONMENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "ENOENT", "ENOTDIR", "EISDIR", "ELOOP",
                 "ENAMETOOLONG", "EFBIG", "EMFILE", "ENFILE", "EIO", "EBUSY", "ETXTBSY", "EXDEV")
    if hasattr(errno, name)
)  # fmt: skip


def environment_error(err: OSError, path: Path | str | None = None) -> OptionError | None:
    """The one-line OptionError of an OSError the user's environment caused, else None."""
    if err.errno not in ENVIRONMENT_ERRNOS:
        return None
    where = path if path is not None else err.filename
    reason = err.strerror or brief(err)
    return OptionError(f"{where}: {reason}" if where is not None else f"{reason}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it vanishes.
    A full disk or a folder that cannot be written is an OptionError naming `path` (exit 2)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as err:
        raise environment_error(err, path) or err from None
    os.close(handle)
    # mkstemp creates the file private (0600); give it the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield Path(temporary)
        _refuse_non_regular(path, "the output")  # never replace a device, pipe or folder
        os.replace(temporary, path)
    except BaseException as err:  # includes KeyboardInterrupt: never leave the .part file behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(err, OSError) and (mapped := environment_error(err, path)) is not None:
            raise mapped from None  # e.g. ENOSPC while writing: the user's disk, not a bug
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
    if path.is_symlink() and not path.exists():
        raise OptionError(
            f"{option} {path}: is a dangling symbolic link; expected a path that exists or none"
        )
    for parent in path.absolute().parents:  # a path under a regular file can never be created
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OptionError(
                    f"{option} {path}: {parent} is a file, not a folder; expected a path in a folder"
                )
            # Refused now, not after minutes of work: the nearest existing folder must take new files.
            # (The output folder itself when it exists, for a command writing into it.)
            writes_in = path if folder and path.is_dir() else parent
            if not os.access(writes_in, os.W_OK | os.X_OK):
                raise OptionError(
                    f"{option} {path}: {writes_in} is not writable (read-only or no permission)"
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


def format_by_suffix(path: Path | str, formats: dict[str, str], option: str = "--out") -> str:
    """The format `formats` gives the file's suffix (lower-cased, dot included); else OptionError
    naming `option` and the suffixes accepted, in `formats`' order."""
    kind = formats.get(Path(path).suffix.lower())
    if kind is None:
        *others, last = formats
        accepted = f"{', '.join(others)} or {last}" if others else last
        raise OptionError(f"{option} {path}: expected a {accepted} file name (the format follows the suffix)")
    return kind


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


# What a Parquet file may declare in its footer before any column is read. A file's bytes are
# size-checked by each reader, but a few hundred KB compress gigabytes of zeros (or of nulls, which
# take no bytes at all): the footer says how many rows and decoded bytes reading would make.
# Measured: the shipped timeline is 7,834 rows, 1.7 MB in Arrow; the synthetic decade 88,639 rows,
# 12 MB; the largest synthetic timeline allowed (limits.MAX_SYNTHETIC_VISITS) about 1 million rows,
# ~150 MB. The limits leave that a factor of 5 or more, a real cycle several hundred.
MAX_PARQUET_ROWS = 5_000_000
MAX_PARQUET_DECODED_BYTES = 1_000_000_000
MAX_PARQUET_COLUMNS = 256  # leaf columns: the widest file the project writes (a batch summary) has 40
MAX_PARQUET_ROW_GROUPS = 1_000  # pyarrow writes a row group per million rows: 5 at most here


# Bytes per value once decoded, by Parquet physical type: RLE or dictionary pages store a column of
# zeros (or nulls) in almost nothing, but decoding makes every value its full width. Variable-length
# values (BYTE_ARRAY) take a 4-byte offset each and their characters, checked after reading them
# dictionary-encoded (`_decode_text`).
_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8, "BYTE_ARRAY": 4}


def check_parquet_footer(file, max_rows: int | None = None) -> None:
    """ValueError unless a `pq.ParquetFile`'s footer declares a table these limits allow.

    A column chunk counts its declared uncompressed size or its values at their decoded width,
    whichever is larger, so a file whose figures understate its content is judged by the larger."""
    meta = file.metadata
    most_rows = MAX_PARQUET_ROWS if max_rows is None else min(max_rows, MAX_PARQUET_ROWS)
    if meta.num_columns > MAX_PARQUET_COLUMNS or len(file.schema_arrow) > MAX_PARQUET_COLUMNS:
        raise ValueError(f"{meta.num_columns:,} columns; expected at most {MAX_PARQUET_COLUMNS}")
    if not 0 <= meta.num_rows <= most_rows:
        raise ValueError(f"{meta.num_rows:,} rows declared; expected at most {most_rows:,}")
    if meta.num_row_groups > MAX_PARQUET_ROW_GROUPS:
        raise ValueError(f"{meta.num_row_groups:,} row groups; expected at most {MAX_PARQUET_ROW_GROUPS:,}")
    decoded = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if not 0 <= group.num_rows <= most_rows:
            raise ValueError(f"{group.num_rows:,} rows in row group {i}; expected at most {most_rows:,}")
        # Arrow reads a column chunk's metadata beside the schema's column of the same index without
        # checking the index (a release build's DCHECK): more chunks than columns is damage, refused
        # before any chunk is read (a fuzzed joint plan aborted the process there).
        if group.num_columns != meta.num_columns:
            raise ValueError(
                f"row group {i} has {group.num_columns:,} column chunks for {meta.num_columns:,} columns"
            )
        for j in range(group.num_columns):
            chunk = group.column(j)
            width = _WIDTH.get(chunk.physical_type, 16)
            if chunk.physical_type == "FIXED_LEN_BYTE_ARRAY":
                width = max(file.schema.column(j).length or 0, 1)
            values = max(chunk.num_values, group.num_rows)
            decoded += max(chunk.total_uncompressed_size, 0) + values * width
        if decoded > MAX_PARQUET_DECODED_BYTES:
            raise ValueError(
                f"over {MAX_PARQUET_DECODED_BYTES // 1_000_000:,} MB once decoded (as its footer "
                "declares it); expected a file of the project's size"
            )


def _text_columns(schema) -> list[str]:
    """Top-level text and binary columns: read dictionary-encoded, checked, then decoded."""
    import pyarrow as pa

    def text(kind) -> bool:
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        return any(f(kind) for f in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                                     pa.types.is_large_binary))  # fmt: skip

    return [field.name for field in schema if text(field.type)]


def _decode_text(table, names: list[str], declared: int):
    """`table` with its dictionary-encoded text columns decoded, once their decoded size (each value's
    characters: a dictionary holds a long text once, a column may repeat it a million times) is
    known to keep the whole within MAX_PARQUET_DECODED_BYTES."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = declared
    for name in names:
        column = table[name]
        if not pa.types.is_dictionary(column.type):
            continue
        for chunk in column.chunks:
            lengths = pc.binary_length(chunk.dictionary).cast(pa.int64())
            total += int(pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0)
        if total > MAX_PARQUET_DECODED_BYTES:
            raise ValueError(
                f"over {MAX_PARQUET_DECODED_BYTES // 1_000_000:,} MB of text once decoded; expected a file "
                "of the project's size"
            )
    for name in names:
        kind = table.schema.field(name).type
        if pa.types.is_dictionary(kind):
            table = table.set_column(
                table.schema.get_field_index(name), name, table[name].cast(kind.value_type)
            )
    return table


def read_parquet(
    path: Path, *, max_metadata_bytes: int | None = None, max_rows: int | None = None, shipped: bool = False
):
    """A Parquet file's table and the project's metadata (`_project_metadata`), reading the file
    once. Raises what pyarrow raises, or ValueError for damaged metadata or a file that would decode
    to more than the limits above (its footer checked before any column is read, its text columns
    read dictionary-encoded and measured before they are decoded): callers name the file, and have
    checked its size, so its bytes are read into memory once: what is checked is what is read.

    `pq.ParquetFile` rather than `pq.read_table`: the latter goes through pyarrow.dataset, whose
    import alone costs every command 13 ms. `shipped`: the package's own file (the shipped
    timeline), whose footer is checked in this process only (`_footer_survives` costs 10 ms).
    The footer is checked once: in the child, or here."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Read into Arrow's own memory, not a Python bytes object: Arrow's reader threads drop their
    # last reference to the buffer after `read` returns, and releasing a Python-owned buffer needs
    # the GIL; when the command ends right after the read (an error about what the file holds),
    # Python is finalising by then and the release aborts the process (seen: 1 exit in 7 under load).
    with pa.OSFile(str(path)) as handle:
        data = handle.read_buffer()
    passed = not shipped and _footer_survives(data, max_rows)
    with pq.ParquetFile(pa.BufferReader(data)) as file:
        if not passed:  # checked here: the shipped file, no child made, or the limits' message
            check_parquet_footer(file, max_rows)
        meta = _project_metadata(file.schema_arrow.metadata, max_metadata_bytes)
        names = _text_columns(file.schema_arrow)
        footer = file.metadata
    # read_dictionary is taken only when a file is opened; the footer already parsed is handed on
    with pq.ParquetFile(pa.BufferReader(data), metadata=footer, read_dictionary=names) as file:
        table = file.read()
    return _decode_text(table, names, 0), meta


FOOTER_CHILD_SECONDS = 10.0  # a footer is checked in well under 10 ms; a child this slow is stopped


def _footer_survives(data, max_rows: int | None) -> bool:
    """Whether a forked child found the footer within the limits (`check_parquet_footer`); False
    when it did not, or no child could be made: the caller checks it then, and says why. ValueError
    when checking it kills the child.

    pyarrow reads a column chunk's metadata for Python through a call whose C++ exception its
    binding does not catch, so some damaged footers abort the process instead of raising (pyarrow
    26: size statistics whose level histograms do not match the schema; a fuzz of plan files found
    it). The check runs first in a forked child (about 5 ms), which answers through a pipe (not
    its exit status: a process that ignores SIGCHLD has none to wait for). No answer means it
    died: the file is refused; no answer within FOOTER_CHILD_SECONDS refuses it too. Where no
    child can be made (not POSIX, or fork fails) the check runs in this process only."""
    if not hasattr(os, "fork"):
        return False
    import select
    import signal
    import warnings

    read_end, write_end = os.pipe()
    try:
        with warnings.catch_warnings():  # Python 3.12+ warns of forking with threads: the child runs none
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:  # no process to spare
        os.close(read_end)
        os.close(write_end)
        return False
    if pid == 0:  # the child: check, answer, then leave at once (no atexit handlers, no buffers flushed)
        code = 1
        try:
            os.close(read_end)
            _check_footer_here(data, max_rows)
            code = 0
        finally:
            with contextlib.suppress(BaseException):
                os.write(write_end, b"%d" % code)
            os._exit(code)
    os.close(write_end)
    answer: bytes | None = None
    try:
        if select.select([read_end], [], [], FOOTER_CHILD_SECONDS)[0]:
            answer = os.read(read_end, 1)
    finally:  # also on Ctrl-C: no child is left running or unreaped
        os.close(read_end)
        if answer is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        status = None
        with contextlib.suppress(ChildProcessError):  # SIGCHLD ignored: reaped already
            status = os.waitpid(pid, 0)[1]
    if answer is None:
        raise ValueError(f"its footer could not be checked within {FOOTER_CHILD_SECONDS:g} s")
    if not answer:
        how = f" ({signal.Signals(os.WTERMSIG(status)).name})" if status and os.WIFSIGNALED(status) else ""
        raise ValueError(f"damaged footer: reading its column metadata killed the reader{how}")
    return answer == b"0"


def _check_footer_here(data, max_rows: int | None) -> None:
    """`check_parquet_footer` on the bytes, in `_footer_survives`' child: silent if it aborts."""
    import faulthandler
    import resource

    import pyarrow as pa
    import pyarrow.parquet as pq

    # What C++ and a fault handler print as the child aborts: the parent says it in one line.
    faulthandler.disable()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # and no core file left behind
    with pq.ParquetFile(pa.BufferReader(data)) as file:
        check_parquet_footer(file, max_rows)


def read_text_file(path: Path | str, max_bytes: int, expected: str) -> str:
    """The UTF-8 text of a small input file (rules, scenarios): InputError unless it is a regular
    file (a device, a pipe or a folder would be read forever, block, or fail) of at most `max_bytes`.
    The size is checked before reading, and the read stops past it should the file grow meanwhile."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, f"no such {expected.removeprefix('a ').removeprefix('an ')}") from None
    except OSError as err:
        raise InputError(path, f"cannot be read ({err.strerror or brief(err)})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device or pipe?)"
        raise InputError(path, f"{kind}; expected {expected}")
    if info.st_size > max_bytes:
        raise InputError(path, f"{info.st_size:,} bytes; expected {expected} of at most {max_bytes:,} bytes")
    try:
        # O_NONBLOCK: should the path have been swapped for a pipe since the stat, open() still returns.
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as err:
        raise InputError(path, f"cannot be read ({err.strerror or brief(err)})") from None
    if len(data) > max_bytes:
        raise InputError(path, f"over {max_bytes:,} bytes; expected {expected}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(path, f"not UTF-8 text (byte {err.start}); expected {expected}") from None


def read_toml(path: Path | str, max_bytes: int, expected: str) -> dict:
    """A TOML input file, read by `read_text_file`; InputError for anything Python cannot parse,
    including what tomllib does not report as a TOML error: an integer of thousands of digits
    (ValueError from int()) and nesting deeper than the interpreter's stack (RecursionError)."""
    import tomllib

    text = read_text_file(path, max_bytes, expected)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(path, f"not valid TOML ({brief(err)})") from None
    except ValueError as err:  # int('9' * 5000): Python's int-to-str conversion limit
        raise InputError(path, f"not valid TOML ({brief(err, 80)})") from None
    except RecursionError:
        raise InputError(path, "not valid TOML (nested too deeply)") from None


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


def typed_frame(table, schema, path: Path, what: str):
    """`table` as a DataFrame once each column of `schema` is found of its type and every value is
    valid (e.g. text that is UTF-8): damage is refused on reading (InputError naming the column),
    never met later. `what` names the file's kind in the message."""
    import pyarrow as pa

    wrong = [f.name for f in schema if not same_type(f, table.schema.field(f.name).type)]
    if wrong:
        raise InputError(path, f"column {wrong[0]} is not of type {schema.field(wrong[0]).type}")
    try:
        table.validate(full=True)
        return table.to_pandas()
    except (pa.ArrowException, ValueError, OverflowError) as err:
        raise InputError(path, f"{what} columns cannot be read ({brief(err)})") from None
