# Makes `stats` importable from tests/ when pytest runs at this folder.
