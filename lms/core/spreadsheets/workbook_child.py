"""Opens one uploaded workbook (XLSX, XLS, ODS) with python-calamine, in a process of its own.

Run as a script by ``lms.core.spreadsheets.read``, never imported by the app: it needs only the
standard library and python-calamine, so it starts in about 15 ms, and a file that makes the
reader ask for hundreds of gigabytes (calamine then aborts the whole process) or loop takes this
process down, not the web worker, the job worker or the command that asked.

    python -S -P workbook_child.py MEMORY_MB SECONDS MAX_ROWS MAX_CELLS SCAN_ROWS SHEET [FOLDER] < file

Limits come first: address space (RLIMIT_AS), CPU time and an alarm that ends the process after
SECONDS even if it sleeps (the parent kills it sooner; this is for a parent that died meanwhile),
no core file (it would hold the trainees' personal data). SHEET is "-" to let the child choose, or
the index of a sheet. FOLDER, where python-calamine is installed, lets the child start without the
site module (-S), in half the time.
The answer is one pickle on standard output, a tuple whose first item says what it is:

* ``("sheet", name, rows)``: the rows of the sheet, read as ``to_python(skip_empty_area=False)``;
  with "-" when the workbook has one visible worksheet, else with the index asked for;
* ``("heads", [(index, first rows), ...])``: with "-" and several visible worksheets, the first
  SCAN_ROWS rows of each, so the parent can choose by their header and ask again;
* ``("no_sheet",)``: no visible worksheet;
* ``("too_large", rows, columns)``: the chosen sheet spans more than MAX_ROWS rows or MAX_CELLS cells;
* ``("unreadable",)``: calamine refused the file (or ran out of the memory allowed).

The parent trusts none of it: it unpickles only built-in types and dates, and takes anything
else, or a child that dies or runs out of time, as a file that cannot be read.
"""

import contextlib
import io
import pickle
import sys

#: The exit status when python-calamine cannot be imported (the parent logs it as an error).
CANNOT_IMPORT = 3


def limit_resources(memory_mb: int, seconds: int) -> None:
    try:
        import resource
        import signal
    except ImportError:  # not a POSIX system: the separate process still protects the parent
        return
    # An allocation that fails while Rust prints a panic's backtrace (RUST_BACKTRACE=1, which the
    # parent turns off) waits forever on the backtrace lock, seen with python-calamine 0.9: asleep,
    # it uses no CPU time; SIGALRM ends it all the same.
    signal.alarm(seconds)
    for limit, value in ((resource.RLIMIT_AS, memory_mb * 1024 * 1024), (resource.RLIMIT_CPU, seconds),
                         (resource.RLIMIT_CORE, 0)):
        hard = resource.getrlimit(limit)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)  # never above what is allowed
        with contextlib.suppress(ValueError, OSError):  # a system without this limit
            resource.setrlimit(limit, (value, value))


def read(python_calamine, data: bytes, sheet: str, max_rows: int, max_cells: int, scan_rows: int) -> tuple:
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    candidates = [i for i, meta in enumerate(workbook.sheets_metadata)
                  if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
                  and meta.visible == python_calamine.SheetVisibleEnum.Visible]
    if sheet == "-":
        if not candidates:
            return ("no_sheet",)
        if len(candidates) > 1:
            return ("heads", [(i, workbook.get_sheet_by_index(i).to_python(skip_empty_area=False, nrows=scan_rows))
                              for i in candidates])
        index = candidates[0]
    else:
        index = int(sheet)
        if index not in candidates:
            return ("unreadable",)
    chosen = workbook.get_sheet_by_index(index)
    if chosen.end is not None:
        rows, columns = chosen.end[0] + 1, chosen.end[1] + 1
        if rows > max_rows or rows * columns > max_cells:
            return ("too_large", rows, columns)
    return ("sheet", chosen.name, chosen.to_python(skip_empty_area=False))


def main(argv: list[str]) -> int:
    memory_mb, seconds, max_rows, max_cells, scan_rows = (int(a) for a in argv[:5])
    limit_resources(memory_mb, seconds)
    if len(argv) > 6:
        sys.path.insert(0, argv[6])
    try:
        import python_calamine
    except ImportError as exc:  # this interpreter cannot read any workbook: say so, not "damaged file"
        sys.stderr.write(f"python-calamine cannot be imported by {sys.executable}: {exc}\n")
        return CANNOT_IMPORT
    data = sys.stdin.buffer.read()
    try:
        answer = read(python_calamine, data, argv[5], max_rows, max_cells, scan_rows)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - calamine's errors, pyo3's PanicException, MemoryError
        answer = ("unreadable",)
    pickle.dump(answer, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
