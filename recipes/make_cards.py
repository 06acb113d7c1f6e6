"""Regenerate the dataset cards: `python recipes/make_cards.py [--check]`.

Writes cards/<corpus>/README.md for every corpus in `dinos.loaders`: its template
(`dinos/card_templates/<corpus>.md`) filled from its `CorpusInfo`, the schema and the loaders' tables
(see docs/cards.md). `--check` writes nothing and exits 1 with a unified diff when a committed card
differs from the regenerated one (CI runs it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dinos.cards import CARD_CORPORA, make_cards

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 with a diff if a committed card is stale")
    parser.add_argument("--cards-dir", default=str(ROOT / "cards"), help="where the cards live")
    parser.add_argument("corpora", nargs="*", default=list(CARD_CORPORA), help="corpora (default: all)")
    args = parser.parse_args(argv)
    diffs = make_cards(args.cards_dir, check=args.check, corpora=tuple(args.corpora))
    if diffs:
        sys.stdout.write("".join(diffs))
        print(f"\n{len(diffs)} card(s) are stale: run `python recipes/make_cards.py` and commit", file=sys.stderr)
        return 1
    print(("up to date: " if args.check else "wrote: ") + ", ".join(args.corpora))
    return 0


if __name__ == "__main__":
    sys.exit(main())
