"""`dinos push DIR --repo-id ORG/NAME [--dry-run]`: upload an export to the Hugging Face Hub."""

from __future__ import annotations

from ._args import existing_dir

HELP = "upload a `dinos export` directory to a Hugging Face dataset repository"
DESCRIPTION = (
    "Upload an export directory in one commit. The token comes from HF_TOKEN or `huggingface-cli login`"
    " (there is deliberately no --token option); it is never printed."
)


def add_arguments(p) -> None:
    p.add_argument("export_dir", type=existing_dir, help="directory written by `dinos export`")
    p.add_argument("--repo-id", required=True, help="dataset repository, ORG/NAME")
    p.add_argument("--dry-run", action="store_true", help="list what would be uploaded; no network access")
    p.add_argument("--private", action="store_true", help="create the repository as private if it does not exist")
    p.add_argument("--revision", default=None, help="branch to commit to (default: main)")
    p.add_argument("--message", default=None, help="commit message")


def run(args) -> int:
    from ..hub import push_export

    result = push_export(
        args.export_dir,
        args.repo_id,
        dry_run=args.dry_run,
        private=args.private,
        revision=args.revision,
        commit_message=args.message,
    )
    print(("dry run: would " if result.dry_run else "") + result.plan.describe())
    if result.dry_run:
        print("remote Parquet files under data/ that are not in this export are deleted at push time")
    elif result.commit_url:
        print(f"committed: {result.commit_url}")
    return 0
