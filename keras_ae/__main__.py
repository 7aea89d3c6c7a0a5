"""``python -m keras_ae`` runs the keras-ae command line (see `keras_ae.app.startup`)."""

import sys

from keras_ae.app import startup

startup.relaunch_if_needed(sys.argv[1:])

from keras_ae.app.cli import main  # noqa: E402

sys.exit(main())
