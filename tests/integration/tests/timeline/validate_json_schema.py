"""Validates JSON files against a JSON schema (draft given by its $schema).

Usage: validate_json_schema.py SCHEMA FILE...
Exit status: 0 all valid, 1 some file invalid (one line per error), 2 usage
or a broken schema.
"""

import json
import sys

import jsonschema


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        print(f"{argv[1]}: not a valid schema: {e.message}", file=sys.stderr)
        return 2
    validator = cls(schema)
    invalid = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            instance = json.load(f)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print(f"{path}: {where}: {e.message}")
        if errors:
            invalid += 1
        else:
            print(f"{path}: valid")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
