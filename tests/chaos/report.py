"""Figures of the chaos suite: printed as one `CHAOS name: {...}` line and,
when SYMBI_CHAOS_REPORT names a file, appended to it as a JSON line (`make
test-chaos` prints that file at the end)."""
import json
import os


def figures(name, **values):
    print(f"CHAOS {name}: {json.dumps(values, sort_keys=True)}")
    path = os.environ.get("SYMBI_CHAOS_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"test": name, **values}, sort_keys=True) + "\n")
