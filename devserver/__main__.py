"""``python -m devserver`` = ``appsync-jobs dev``."""

from client.cli import app

if __name__ == "__main__":
    app(["dev"])
