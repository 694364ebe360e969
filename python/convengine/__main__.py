"""The `convengine` command line (`python -m convengine`); the commands live in _cli.py."""
import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
