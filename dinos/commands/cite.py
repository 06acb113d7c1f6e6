"""`dinos cite CORPUS [--year Y]`: BibTeX of a corpus (per challenge year for DCASE Task 2)."""

from __future__ import annotations

HELP = "print the BibTeX to cite a corpus (DCASE Task 2: the task description paper of --year)"


def add_arguments(p) -> None:
    from ._args import add_corpus, positive_int

    add_corpus(p, positional=True, help="which corpus")
    p.add_argument("--year", type=positive_int, default=None, help="challenge year (per-year corpora)")


def run(args) -> int:
    from ..errors import DinosError
    from ..loaders import corpus_info
    from ._args import corpus_of

    args.corpus = corpus_of(args)
    info = corpus_info(args.corpus)
    years = sorted(k for k in info.citations if k)
    if args.year is not None:
        if str(args.year) not in info.citations:
            raise DinosError(f"no {args.corpus} citation for year {args.year}; known years: {years or 'none'}")
        print(info.citations[str(args.year)].strip())
        if info.citations.get(""):
            print()
            print(info.citations[""].strip())
        return 0
    if years:
        print(f"% {args.corpus}: pass --year ({', '.join(years)}) for that year's task description paper;")
        print("% the source datasets:")
    print(info.citation().strip())
    return 0
