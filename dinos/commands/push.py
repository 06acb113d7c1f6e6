"""`dinos push DIR --repo-id ORG/NAME [--dry-run] [--delete-missing]`: upload an export to the Hugging Face Hub."""

from __future__ import annotations

from ._args import existing_dir

HELP = "upload a `dinos export` directory to a Hugging Face dataset repository"
DESCRIPTION = """Upload an export directory to a dataset repository (created if needed).

  dinos push DIR --repo-id ORG/NAME --dry-run          list what would be added, replaced, deleted
  dinos push DIR --repo-id ORG/NAME                     upload (re-run the same command to resume)
  dinos push DIR --repo-id ORG/NAME --delete-missing    also delete remote shards this export lacks

Files whose remote copy has the same hash are not sent again. The shards go first (several commits
for a large export; an interrupted push resumes when run again), then one commit with the card and
the manifest. Remote files are never deleted unless --delete-missing is given, and then only the
Parquet files under data/ that the export does not contain (which `datasets` would otherwise load
with it). The token comes from HF_TOKEN or `huggingface-cli login` (there is deliberately no
--token option); it is never printed."""


def _repo_id(text: str) -> str:
    """`--repo-id` checked by the parser: a malformed id is a usage error (exit 2) before any network call."""
    import argparse

    from ..errors import DinosError
    from ..hub import check_repo_id

    try:
        return check_repo_id(text)
    except DinosError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p) -> None:
    p.add_argument("export_dir", type=existing_dir, help="directory written by `dinos export`")
    p.add_argument("--repo-id", required=True, type=_repo_id, help="dataset repository, ORG/NAME")
    p.add_argument("--dry-run", action="store_true",
                   help="list additions, replacements and (with --delete-missing) deletions; upload nothing")
    p.add_argument("--delete-missing", action="store_true",
                   help="delete remote Parquet shards under data/ that this export does not contain")
    p.add_argument("--private", action="store_true", help="create the repository as private if it does not exist")
    p.add_argument("--revision", default=None, help="branch to commit to (default: main)")
    p.add_argument("--message", default=None, help="commit message (default: 'dinos export')")
    p.add_argument("--quiet", action="store_true", help="no upload progress bars")


def run(args) -> int:
    from ..hub import push_export

    result = push_export(
        args.export_dir,
        args.repo_id,
        dry_run=args.dry_run,
        delete_missing=args.delete_missing,
        private=args.private,
        revision=args.revision,
        commit_message=args.message,
    )
    print(("dry run, nothing sent: " if result.dry_run else "") + result.plan.describe())
    if result.commit_url:
        print(f"committed: {result.commit_url}")
    return 0
