"""``python -m storydesk.cli``: the same as the ``storydesk`` command."""
from . import main

if __name__ == "__main__":  # importing this module (a walk over the package) runs nothing
    main()
