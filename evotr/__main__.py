"""`python -m evotr` runs the same CLI as the `evotr` console script."""

from evotr.entrypoints.cli.main import main

if __name__ == "__main__":  # pragma: no cover
    main()
