"""`python -m bench`: see bench/run.py."""

from bench.run import main

if __name__ == "__main__":  # not in a spawned worker (section 2 runs in processes)
    main()
