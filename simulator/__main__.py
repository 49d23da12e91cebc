"""`python -m sagemaker_ack_kfp.simulator` entry point."""

import sys

from .cli import main

sys.exit(main())
