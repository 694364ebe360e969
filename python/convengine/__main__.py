"""The `convengine` command line."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: convengine bench [options]   benchmark against torch (see 'convengine bench -h')")
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "bench":
        from ._bench import main as bench
        return bench(rest)
    print(f"convengine: unknown command {cmd!r}; available: bench", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
