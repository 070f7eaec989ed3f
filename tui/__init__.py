"""ddbstep's front ends: the command line (cli) and, later, the terminal app."""
