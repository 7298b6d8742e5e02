"""An experiment from its config: defaults, checks, the build, the
workdir and its checkpoints."""
