"""What every jaxgan command does with bad input: one line on stderr, exit 2.

`run(main)` replaces `absl.app.run(main)`. Flag and config-file problems
(an unknown or mistyped `--config.a.b=v`, a missing or failing config file, a
missing required flag) and `UserError`s raised by `main` are printed as one
line, `error: <what and how to fix it>`, with exit status 2; a non-finite
loss stops training with exit status 3; an output of the run that could not
be written (`WriteError`: a full disk, a quota, a read-only file system)
with exit status 4, the line naming the file, the error and the checkpoint
the same command resumes from. Any other exception is a bug and keeps its
traceback.
"""

import pathlib
import re
import sys
from typing import Callable, NoReturn

from absl import app, flags, logging

from jaxgan.core import runtime
from jaxgan.core.errors import UserError, WriteError

FLAGS = flags.FLAGS

EXIT_USER_ERROR = 2
EXIT_NON_FINITE = 3
EXIT_WRITE_ERROR = 4


def fail(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
  """Prints `error: message` as a single line and exits with `code`."""
  line = "; ".join(
      part.strip() for part in str(message).splitlines() if part.strip()
  )
  print(f"error: {line}", file=sys.stderr, flush=True)
  sys.exit(code)


def _config_arg(argv: list[str]) -> str:
  values = [a.partition("=")[2] for a in argv if a.startswith("--config=")]
  return values[-1] if values else "?"


def _last_line(message: str) -> str:
  lines = [l.strip() for l in str(message).splitlines() if l.strip()]
  return lines[-1] if lines else ""


def _load_config_files() -> None:
  """Makes ml_collections load every --config file now.

  A config file that cannot be read is reported lazily, on the first access
  of the flag's value (and with a traceback); touching it here brings the
  error into `parse_flags`.
  """
  for name in list(FLAGS):
    flag = FLAGS[name]
    # config_flags' parsers of config files and dicts (its public API has no
    # class to test against).
    if flag.parser.flag_type() == "config object" and flag.value is not None:
      flag.value.keys()


def _config_packages_importable(argv: list[str]) -> None:
  """Lets a config file import its sibling configs (`from configs import
  default`) from any working directory.

  The repository's configs/ is a folder of files, not an installed package;
  like Python for a script's own folder, this puts the folder that holds a
  --config file's package (the folder above configs/) on sys.path.
  """
  for arg in argv:
    if not arg.startswith("--config="):
      continue
    path = pathlib.Path(arg.partition("=")[2].partition(".py")[0] + ".py")
    folder = path.resolve().parent
    if (folder / "__init__.py").is_file():
      top = str(folder.parent)
      if top not in sys.path:
        sys.path.insert(0, top)


def parse_flags(argv: list[str]) -> list[str]:
  """absl flags parser that turns every parsing problem into `fail`."""
  _config_packages_importable(argv)
  try:
    rest = FLAGS(argv)
    _load_config_files()
    return rest
  except flags.UnrecognizedFlagError as e:
    name = getattr(e, "flagname", None) or str(e)
    fail(
        f"unknown flag --{name}; config fields are listed with their "
        "meaning in jaxgan/experiment/defaults.py, other flags with --helpfull"
    )
  except flags.IllegalFlagValueError as e:
    message = str(e)
    if "Error whilst parsing config file" in message:
      fail(
          f"--config={_config_arg(argv)}: {_last_line(message)}; fix the "
          "config file or its argument"
      )
    first = message.splitlines()[0]
    if "must have a value other than None" in first:
      fail(
          f"{first.split('=')[0].removeprefix('flag ')} is required; "
          "e.g. --config=configs/dcgan_fashion_mnist.py --workdir=runs/NAME"
      )
    fail(f"{first}; give a value of the field's type")
  except flags.Error as e:
    fail(f"{e}; run with --helpfull for the flags")
  except (KeyError, AttributeError) as e:
    text = str(e.args[0] if e.args else e)
    if "has no attribute 'get_config'" in text:
      fail(
          f"--config={_config_arg(argv)} has no get_config() function; a "
          "config file defines get_config() returning a ConfigDict, e.g. "
          "configs/tiny.py"
      )
    name = re.search(r"\w+", text)
    name = name.group() if name else text
    overrides = [a.partition("=")[0] for a in argv if a.startswith("--config.")]
    if not any(name in a.split(".") for a in overrides):
      lines = [
          l.strip(" '\"\\n") for l in text.replace("\\n", "\n").splitlines()
      ]
      fail(
          f"--config={_config_arg(argv)}: the config file raised "
          f"{type(e).__name__}: {'; '.join(l for l in lines if l)}"
      )
    # ml_collections: an override of a field the config does not have.
    hint = re.search(r'Did you mean "\w+"', text)
    fail(
        f"unknown config field {name!r}"
        f"{f' ({hint.group()}?)' if hint else ''}; the fields are listed "
        "with their meaning in jaxgan/experiment/defaults.py"
    )
  except OSError as e:  # A config file that cannot be read.
    why = _last_line(str(e)).removeprefix(
        "Configuration is not available because of an earlier failure to "
        "load: "
    )
    fail(
        f"--config={_config_arg(argv)}: {why}; give the path of a config "
        "file, e.g. configs/dcgan_fashion_mnist.py"
    )
  except Exception as e:  # Raised by the config file itself.  # pylint: disable=broad-except
    fail(
        f"--config={_config_arg(argv)}: the config file raised "
        f"{type(e).__name__}: {e}"
    )


def run(main: Callable[[list[str]], None]) -> None:
  """`app.run(main)` with one-line errors for flags and `UserError`s.

  Also: absl's log level defaults to WARNING (Orbax logs every save at INFO;
  --verbosity restores it), and libtpu is kept quiet on machines without a
  TPU (runtime.quiet_tpu_probe), before `main` starts JAX.
  """

  def wrapped(argv):
    if len(argv) > 1:
      fail(
          f"unexpected arguments {' '.join(argv[1:])!r}; every option is a "
          "--flag"
      )
    if not FLAGS["verbosity"].present:
      logging.set_verbosity(logging.WARNING)
    runtime.quiet_tpu_probe()
    try:
      main(argv)
    except UserError as e:
      fail(str(e))
    except FloatingPointError as e:
      fail(str(e), EXIT_NON_FINITE)
    except WriteError as e:
      fail(str(e), EXIT_WRITE_ERROR)

  app.run(wrapped, flags_parser=parse_flags)
