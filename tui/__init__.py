"""The terminal app (Textual). engine/ never imports this package.

A step repaints most panes; Textual batches a screen's updates to at most
TEXTUAL_FPS frames a second (60 by default). The app asks for 120, so a
key's frame waits at most ~8 ms for its turn; the environment still wins.
"""

import os

os.environ.setdefault("TEXTUAL_FPS", "120")
