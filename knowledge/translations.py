"""Compile the interface translations (``locale/*/LC_MESSAGES/*.po`` -> ``.mo``) with polib, so
that a machine without GNU gettext (Django's ``compilemessages`` needs its msgfmt) still gets
them. Needs no settings: ``make`` runs ``python -m knowledge.translations`` before the server
and the tests; ``manage.py compile_translations`` does the same."""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "locale"


def compile_all(folder: Path = LOCALE) -> list[Path]:
    """Write each catalog's .mo where it is missing or older than its .po; returns those written."""
    written = []
    for po in sorted(Path(folder).glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        tmp = mo.with_suffix(".mo.tmp")
        polib.pofile(str(po)).save_as_mofile(str(tmp))
        tmp.replace(mo)
        written.append(mo)
    return written


def main() -> None:
    written = compile_all(Path(sys.argv[1]) if len(sys.argv) > 1 else LOCALE)
    print(f"compiled {len(written)} translation catalog(s)" if written else "translations up to date")


if __name__ == "__main__":
    main()
