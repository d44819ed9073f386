"""Placeholder; replaced by the generator implementation."""


def main() -> None:
    raise SystemExit("not implemented yet")
