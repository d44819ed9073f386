"""``python -m backupns_gen`` is the ``backupns-gen`` command."""

from .cli import main

if __name__ == "__main__":
    main()
