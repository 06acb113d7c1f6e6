"""`dinos cards [--check]`: regenerate (or drift-check) the committed dataset cards."""

from __future__ import annotations

import sys

from ._args import out_dir

HELP = "regenerate cards/<corpus>/README.md, or --check that the committed cards are current"


def add_arguments(p) -> None:
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff if a card is stale")
    p.add_argument("--cards-dir", default=None, type=out_dir,
                   help="cards directory (default: cards/ of the checkout); another folder must be new or "
                        "empty, or hold cards this command wrote (then pass --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="with --cards-dir: replace the cards a previous `dinos cards` wrote there")


def run(args) -> int:
    from ..cards import CARD_CORPORA, card_path, default_cards_dir, make_cards
    from ..io import OutputDir

    if args.check:
        diffs = make_cards(args.cards_dir or default_cards_dir(), check=True)
    elif args.cards_dir is None:  # the checkout's own generated cards (regenerated, never hand-edited)
        diffs = make_cards(default_cards_dir())
    else:  # a user's folder: guarded, so that no README.md the tool did not write is replaced
        with OutputDir.open(args.cards_dir, tool="cards", overwrite=args.overwrite) as out:
            names = [card_path(c, out.root).relative_to(out.root).as_posix() for c in CARD_CORPORA]
            for name in names:
                out.path_for(name)  # refuses a file the tool did not write, or one edited since
            diffs = make_cards(out.root)
            for name in names:
                out.record(name)
            out.remove_previous()
    if diffs:
        sys.stdout.write("".join(diffs))
        print(f"\n{len(diffs)} card(s) differ from the generated text; run `python recipes/make_cards.py`",
              file=sys.stderr)
        return 1
    print(("cards up to date: " if args.check else "wrote cards: ") + ", ".join(CARD_CORPORA))
    return 0
