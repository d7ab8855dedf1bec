"""`python -m simulator run --loans N --days D --seed S [--config FILE]`."""

from simulator.cli import app

if __name__ == "__main__":
    app()
