"""Entry point: ``perpdesk`` and ``python -m tui``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from tui import __version__

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("--version", "-V"):
        print(f"perpdesk {__version__}")
        return 0
    print(
        f"perpdesk {__version__}: the paper-trading engine is ready; "
        "the trading screen is not built yet."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
