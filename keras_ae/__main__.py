"""``python -m keras_ae`` runs the keras-ae command line."""

import sys

from keras_ae.cli import main

sys.exit(main())
