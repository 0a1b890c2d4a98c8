#!/usr/bin/env python3
"""Writes the expected rows of every file of the shared CSV torture corpus.

The expectations come from Python's own `csv` module, independently of our
reader, and are committed; `sql/tests/it/csv_corpus.rs` compares COPY's
results with them. Run once (and again only when the corpus changes):

    python3.13 sql/tests/data/csv_expected/gen.py

Python >= 3.13 is required: its `csv.QUOTE_NOTNULL` reader option returns an
unquoted empty field as None and a quoted one ("") as '', which is exactly the
NULL / empty-string distinction of Hyper and PostgreSQL. (3.12 has the option
but does not apply it in the reader.)

For each corpus file `<dir>/<name>.csv` this writes `<dir>/<name>.json`:
  {"file": ..., "columns": N, "rows": [[str | null, ...], ...]}
or, when Python cannot read the file, {"file": ..., "python_error": "..."}.
Choices, mirroring Hyper's COPY with the manifest's options (HEADER false):
  - the file is decoded as strict UTF-8 (a BOM stays in the first field);
  - an empty line (Python yields []) is a row of one NULL field;
  - N is the number of fields of the first row (1 for an empty file);
  - no field size limit.
Known differences from our reader are listed in csv_corpus.rs, not patched
here: bare CR line breaks (Python accepts them), multi-byte delimiters (Python
accepts them, Hyper does not), and backslash escapes before other bytes
(Python drops the escape, PostgreSQL keeps it).
"""

import csv
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE.parents[3] / ".." / "shared" / "testdata" / "csv"


def expected(path, options):
    kwargs = {
        "delimiter": options["delimiter"],
        "quotechar": options["quote"],
        "quoting": csv.QUOTE_NOTNULL,
        "strict": False,
    }
    if options["escape"] != options["quote"]:
        kwargs["escapechar"] = options["escape"]
        kwargs["doublequote"] = False
    try:
        with open(path, encoding="utf-8", errors="strict", newline="") as f:
            rows = [row if row else [None] for row in csv.reader(f, **kwargs)]
    except (csv.Error, UnicodeDecodeError, ValueError, TypeError) as e:
        return {"python_error": f"{type(e).__name__}: {e}"}
    return {"columns": len(rows[0]) if rows else 1, "rows": rows}


def render(out):
    """JSON with one row per line, so that diffs stay readable."""
    head = {k: v for k, v in out.items() if k != "rows"}
    text = json.dumps(head, ensure_ascii=False)
    if "rows" not in out:
        return text + "\n"
    rows = ",\n".join(json.dumps(r, ensure_ascii=False) for r in out["rows"])
    return text[:-1] + ', "rows": [\n' + rows + "\n]}\n"


def main():
    if sys.version_info < (3, 13):
        sys.exit("Python >= 3.13 is needed (csv.QUOTE_NOTNULL in the reader)")
    csv.field_size_limit(sys.maxsize)
    manifest = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        out = {"file": entry["file"]}
        out.update(expected(CORPUS / entry["file"], entry["copy_options"]))
        target = HERE / pathlib.Path(entry["file"]).with_suffix(".json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(out), encoding="utf-8")
    print(f"wrote {len(manifest['files'])} expectations under {HERE}")


if __name__ == "__main__":
    main()
