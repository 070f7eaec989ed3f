"""ddbstep's modeled NetBSD kernel (2018) and its ddb command interpreter.

Nothing here imports textual, rich or tui: the engine is plain data and
plain functions, so replay, the terminal app and the explorer share it.
"""
