"""``python -m devserver`` = ``appsync-jobs dev``."""

from devserver.cli import app

if __name__ == "__main__":
    app(["dev"])
