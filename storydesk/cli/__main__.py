"""``python -m storydesk.cli``: the same as the ``storydesk`` command."""
from . import main

main()
