"""The dialog tests share the suite's fixtures (``memory_keyring`` in tests/helpers/fixtures.py)."""
