"""`python -m ingest.worker`: the parsing process of a large import (`ingest.parsing`)."""

from ingest.parsing import worker_main

if __name__ == "__main__":
    worker_main()
