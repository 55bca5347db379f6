"""``python -m shareplan.sweep INSTANCE --vary PATH=SPEC ...`` (same as ``solve sweep``)."""

from .command import sweep_cmd

if __name__ == "__main__":
    sweep_cmd(prog_name="solve sweep")
