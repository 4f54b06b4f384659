"""Prints the merged graph's SDL; `make schema` refreshes the committed schema.graphql."""

from schemas.schema import build_schema

if __name__ == "__main__":
    print(build_schema().as_str())
