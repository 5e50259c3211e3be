import sys

from pedrank.cli import main

sys.exit(main())
