"""Defaults for every jaxgan experiment; other configs import and override.

The fields and their meaning live in the package
(`jaxgan/experiment/defaults.py`), so that a saved run's config can be laid over
them without this repository's `configs/` folder; this module is the name the
configs import.

Launch (any config): python -m jaxgan.main --config=configs/<name>.py \
    --workdir=DIR [--config.a.b=v ...]
"""

from jaxgan.experiment.defaults import get_config  # pylint: disable=unused-import
